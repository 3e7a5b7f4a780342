"""`GET /v1/responses/{id}/input_items`: the spec's ItemResource list, paged as the spec says."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import ResponseItemList

from ..fake_gemini import FakeGemini

MODEL = "gemini-2.5-flash"
AUTH = {"authorization": "Bearer client-key"}
INPUT: list[dict[str, Any]] = [
    {"role": "developer", "content": "Answer briefly."},
    {"role": "user", "content": [{"type": "input_text", "text": "Weather in Florence?"}]},
    {"type": "message", "role": "assistant", "content": "Let me look."},
    {"type": "function_call", "call_id": "call_1", "name": "weather",
     "arguments": '{"location": "Florence"}'},
    {"type": "function_call_output", "call_id": "call_1", "output": "40 C"},
    {"role": "user", "content": "Thanks. And tomorrow?"},
]
KINDS = [("message", "developer"), ("message", "user"), ("message", "assistant"),
         ("function_call", None), ("function_call_output", None), ("message", "user")]


def stored(adapter_url: str) -> str:
    created = httpx.post(f"{adapter_url}/v1/responses", headers=AUTH,
                         json={"model": MODEL, "input": INPUT})
    assert created.status_code == 200, created.text
    return str(created.json()["id"])


def listed(adapter_url: str, response_id: str, **query: Any) -> httpx.Response:
    return httpx.get(f"{adapter_url}/v1/responses/{response_id}/input_items", headers=AUTH,
                     params=query)


def test_items_are_typed_item_resources(adapter_url: str, fake: FakeGemini) -> None:
    body = listed(adapter_url, stored(adapter_url), order="asc").json()
    ResponseItemList.model_validate(body)  # raises on any item the spec does not describe
    items = body["data"]
    assert [(i["type"], i.get("role")) for i in items] == KINDS
    for item in items:
        assert item["id"] and item["status"] == "completed"
    developer, user, assistant, call, output, last = items
    assert developer["content"] == [{"type": "input_text", "text": "Answer briefly."}]
    assert user["content"] == [{"type": "input_text", "text": "Weather in Florence?"}]
    assert assistant["content"] == [{"type": "output_text", "text": "Let me look.",
                                     "annotations": []}]
    assert (call["call_id"], call["name"], call["arguments"]) == \
        ("call_1", "weather", '{"location": "Florence"}')
    assert (output["call_id"], output["output"]) == ("call_1", "40 C")
    assert last["content"] == [{"type": "input_text", "text": "Thanks. And tomorrow?"}]


def test_the_sdk_reads_typed_items(client: openai.OpenAI, fake: FakeGemini,
                                   adapter_url: str) -> None:
    page = client.responses.input_items.list(stored(adapter_url), order="asc")
    assert [type(i).__name__ for i in page.data] == [
        "ResponseInputMessageItem", "ResponseInputMessageItem", "ResponseOutputMessage",
        "ResponseFunctionToolCallItem", "ResponseFunctionToolCallOutputItem",
        "ResponseInputMessageItem"]


def test_a_string_input_is_one_user_message(client: openai.OpenAI, fake: FakeGemini) -> None:
    response = client.responses.create(model=MODEL, input="Hello")
    [item] = client.responses.input_items.list(response.id).data
    assert item.type == "message" and item.role == "user" and item.status == "completed"
    assert [(p.type, p.text) for p in item.content] == [("input_text", "Hello")]


def test_order_is_desc_unless_told_and_limit_after_page(adapter_url: str,
                                                        fake: FakeGemini) -> None:
    response_id = stored(adapter_url)
    ascending = [i["id"] for i in listed(adapter_url, response_id, order="asc").json()["data"]]
    assert len(set(ascending)) == len(INPUT)
    whole = listed(adapter_url, response_id).json()
    assert [i["id"] for i in whole["data"]] == ascending[::-1]
    assert (whole["has_more"], whole["first_id"], whole["last_id"]) == \
        (False, ascending[-1], ascending[0])
    one = listed(adapter_url, response_id, limit=1).json()
    assert [i["id"] for i in one["data"]] == [ascending[-1]]
    assert one["has_more"] is True
    seen, after = [], None
    while True:
        query: dict[str, Any] = {"order": "asc", "limit": 4}
        if after is not None:
            query["after"] = after
        page = listed(adapter_url, response_id, **query).json()
        seen += [i["id"] for i in page["data"]]
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert seen == ascending
    last = listed(adapter_url, response_id, order="asc", after=ascending[-1]).json()
    assert (last["data"], last["has_more"]) == ([], False)


def test_the_sdk_pages_through_with_after(client: openai.OpenAI, fake: FakeGemini,
                                          adapter_url: str) -> None:
    response_id = stored(adapter_url)
    pages = client.responses.input_items.list(response_id, limit=2)
    every = [item.id for item in pages]  # the SDK's auto-pagination follows `after`
    assert len(every) == len(INPUT) == len(set(every))


@pytest.mark.parametrize(("query", "param"), [
    ({"order": "sideways"}, "order"), ({"limit": 0}, "limit"), ({"limit": 101}, "limit"),
    ({"limit": "many"}, "limit"), ({"after": "msg_nope"}, "after")])
def test_bad_query_values_are_400s(adapter_url: str, fake: FakeGemini, query: dict[str, Any],
                                   param: str) -> None:
    answer = listed(adapter_url, stored(adapter_url), **query)
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == param
