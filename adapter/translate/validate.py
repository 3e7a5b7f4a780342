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


INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1  # Gemini's integer fields are int32


def integer(value: Any, param: str, low: int = INT32_MIN, high: int = INT32_MAX) -> int:
    """A whole number (`3.0` counts) within [low, high]; Gemini's int32 range unless told."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"'{param}' must be an integer, not {_describe(value)}.", param)
    if value < low:
        raise InvalidRequest(f"'{param}' must be at least {low}, got {value}.", param)
    if value > high:
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


MAX_DEPTH = 128  # levels of JSON nesting a request may have; Gemini's body adds a few more


def nesting(value: Any, limit: int = MAX_DEPTH) -> None:
    """Raise InvalidRequest naming the first field nested more than `limit` levels deep.

    The walk is iterative (no recursion to exhaust) and builds no paths unless it fails."""
    if not isinstance(value, (dict, list)):
        return  # a scalar body: whoever reads it says it must be an object
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, (dict, list)):
                if depth >= limit:
                    param = _path_to_depth(value, limit)
                    raise InvalidRequest(f"'{param}' is nested more than {limit} levels deep.",
                                         param, code="too_deeply_nested")
                stack.append((child, depth + 1))


def _path_to_depth(value: Any, limit: int) -> str:
    """The path (`messages[0].content[1]...`) of a container at nesting level `limit` + 1."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        node, depth, path = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            if isinstance(child, (dict, list)):
                where = f"{path}[{key}]" if isinstance(key, int) else \
                    f"{path}.{key}" if path else str(key)
                if depth >= limit:
                    return where
                stack.append((child, depth + 1, where))
    return ""
