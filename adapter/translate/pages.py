"""OpenAI's cursor pages: the `limit`, `order` and `after` of a list query, and the list object
of one page (`data`, `first_id`, `last_id`, `has_more`). Used by every list the adapter serves:
a response's input items, files, batches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from .errors import InvalidRequest

T = TypeVar("T", bound=Mapping[str, Any])


def limit_of(query: Mapping[str, str], default: int, most: int) -> int:
    """The query's `limit`: an integer from 1 to `most` (digits only), `default` when absent;
    anything else is a 400 naming it."""
    text = query.get("limit")
    if text is None:
        return default
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= most):
        raise InvalidRequest(f"'limit' must be an integer from 1 to {most}; got {text[:32]!r}.",
                             "limit")
    return int(text)


def order_of(query: Mapping[str, str]) -> str:
    """The query's `order`: `asc` or `desc` (the default)."""
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise InvalidRequest(f"'order' must be 'asc' or 'desc'; got {order[:32]!r}.", "order")
    return order


def after_of(query: Mapping[str, str]) -> str | None:
    """The query's `after`: an id, never empty."""
    after = query.get("after")
    if after is not None and not after:
        raise InvalidRequest("'after' must be an id, not empty.", "after")
    return after


def page_of(items: Sequence[T], after: str | None, limit: int, what: str) -> dict[str, Any]:
    """The list object of the page of `items` (already in the asked order, each with an `id`)
    that starts after the one whose id is `after`: an id not among them is a 400 naming
    `after` (`what` says what the ids are of, for its message)."""
    start = 0
    if after is not None:
        start = next((i + 1 for i, item in enumerate(items) if item["id"] == after), -1)
        if start < 0:
            raise InvalidRequest(f"No {what} with id {after[:64]!r}.", "after")
    data = list(items[start:start + limit])
    return {"object": "list", "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": start + limit < len(items)}
