"""Typed readers for request fields: each returns the value or raises InvalidRequest naming it."""

from __future__ import annotations

from typing import Any

from .errors import InvalidRequest


def _describe(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def number(
    value: Any, param: str, low: float | None = None, high: float | None = None
) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRequest(f"'{param}' must be a number, not {_describe(value)}.", param)
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvalidRequest(f"'{param}' must be between {low} and {high}, got {value}.", param)
    return value


def integer(value: Any, param: str, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"'{param}' must be an integer, not {_describe(value)}.", param)
    if low is not None and value < low:
        raise InvalidRequest(f"'{param}' must be at least {low}, got {value}.", param)
    if high is not None and value > high:
        raise InvalidRequest(f"'{param}' must be at most {high}, got {value}.", param)
    return value


def boolean(value: Any, param: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequest(f"'{param}' must be a boolean, not {_describe(value)}.", param)
    return value


def string(value: Any, param: str) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(f"'{param}' must be a string, not {_describe(value)}.", param)
    return value


def mapping(value: Any, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRequest(f"'{param}' must be an object, not {_describe(value)}.", param)
    return value


def array(value: Any, param: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidRequest(f"'{param}' must be an array, not {_describe(value)}.", param)
    return value
