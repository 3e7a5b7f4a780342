"""OpenAI's cursor pages, shared by input items, files and batches."""

from __future__ import annotations

import pytest

from adapter.translate.errors import InvalidRequest
from adapter.translate.pages import after_of, limit_of, order_of, page_of

ITEMS = [{"id": f"x{i}"} for i in range(5)]


def test_a_page_starts_after_its_cursor_and_says_whether_more_follow() -> None:
    assert page_of(ITEMS, None, 2, "x") == {"object": "list", "data": ITEMS[:2],
                                            "first_id": "x0", "last_id": "x1", "has_more": True}
    assert page_of(ITEMS, "x2", 5, "x") == {"object": "list", "data": ITEMS[3:],
                                            "first_id": "x3", "last_id": "x4", "has_more": False}
    assert page_of(ITEMS, "x4", 5, "x")["data"] == []
    assert page_of([], None, 5, "x")["first_id"] is None


@pytest.mark.parametrize(("query", "param"), [
    ({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"), ({"limit": "+5"}, "limit"),
    ({"limit": " 5"}, "limit"), ({"limit": "1_0"}, "limit"), ({"limit": "\u00b2"}, "limit"),
    ({"order": "sideways"}, "order"), ({"after": ""}, "after"),
])
def test_bad_values_are_400s_naming_them(query: dict[str, str], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        limit_of(query, 20, 100)
        order_of(query)
        after_of(query)
    assert caught.value.param == param


def test_defaults_and_an_unknown_cursor() -> None:
    assert (limit_of({}, 20, 100), order_of({}), after_of({})) == (20, "desc", None)
    assert limit_of({"limit": "100"}, 20, 100) == 100
    with pytest.raises(InvalidRequest) as caught:
        page_of(ITEMS, "nope", 2, "item")
    assert caught.value.param == "after"
