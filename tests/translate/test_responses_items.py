"""Stored input items -> the spec's ItemResource list, validated by the SDK's own models."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.responses import ResponseItemList

from adapter.translate.errors import InvalidRequest
from adapter.translate.responses_items import input_item_list, item_resource

PNG = "data:image/png;base64,iVBORw0KGgo="
ITEMS: list[dict[str, Any]] = [
    {"id": "msg_1", "role": "user", "content": [
        {"type": "input_text", "text": "Look"},
        {"type": "input_image", "image_url": PNG},
        {"type": "input_image", "file_id": "file-1", "detail": "high"},
        {"type": "input_file", "file_data": "data:application/pdf;base64,JVBERi0=",
         "filename": "a.pdf"}]},
    {"id": "msg_2", "type": "message", "role": "assistant", "status": "completed",
     "content": [{"type": "output_text", "text": "A cat.", "annotations": []},
                 {"type": "refusal", "refusal": "No more."}]},
    {"id": "rs_1", "type": "reasoning", "summary": []},
    {"id": "ctc_1", "type": "custom_tool_call", "call_id": "c1", "name": "apply_patch",
     "input": "*** Begin Patch"},
    {"id": "item_1", "type": "custom_tool_call_output", "call_id": "c1", "output": "done"},
    {"id": "item_2", "type": "function_call_output", "call_id": "c2",
     "output": [{"type": "input_text", "text": "40 C"}, {"type": "input_image",
                                                        "image_url": PNG}]},
    {"id": "ig_1", "type": "image_generation_call", "status": "completed", "result": "iVBO"},
]


def listed(items: list[dict[str, Any]], **query: str) -> dict[str, Any]:
    body = input_item_list(items, query)
    ResponseItemList.model_validate(body)
    return body


def test_every_kind_validates_as_the_sdk_declares_it() -> None:
    data = listed(ITEMS, order="asc")["data"]
    assert [i["type"] for i in data] == [i.get("type", "message") for i in ITEMS]
    user, assistant = data[:2]
    assert [p["type"] for p in user["content"]] == ["input_text", "input_image", "input_image",
                                                    "input_file"]
    assert user["content"][1] == {"type": "input_image", "detail": "auto", "file_id": None,
                                  "image_url": PNG}
    assert user["content"][2]["detail"] == "high"
    assert user["content"][3]["filename"] == "a.pdf"
    assert assistant["content"] == [
        {"type": "output_text", "text": "A cat.", "annotations": []},
        {"type": "refusal", "refusal": "No more."}]
    assert data[3]["status"] == "completed"  # a custom_tool_call *item* declares one
    assert data[5]["output"][1]["type"] == "input_image"


@pytest.mark.parametrize("content", ["plain text", [{"type": "text", "text": "plain text"}]])
def test_assistant_text_is_output_text(content: Any) -> None:
    item = item_resource({"id": "m", "role": "assistant", "content": content})
    assert item == {"id": "m", "type": "message", "role": "assistant", "status": "completed",
                    "content": [{"type": "output_text", "text": "plain text",
                                 "annotations": []}]}


def test_a_status_sent_is_kept() -> None:
    item = item_resource({"id": "fc_1", "type": "function_call", "call_id": "c",
                          "name": "f", "arguments": "{}", "status": "incomplete",
                          "namespace": "tools"})
    assert (item["status"], item["namespace"]) == ("incomplete", "tools")


def test_pages() -> None:
    items = [{"id": f"msg_{i}", "role": "user", "content": str(i)} for i in range(5)]
    first = listed(items, limit="2")
    assert [i["id"] for i in first["data"]] == ["msg_4", "msg_3"]
    assert (first["first_id"], first["last_id"], first["has_more"]) == ("msg_4", "msg_3", True)
    rest = listed(items, limit="2", after="msg_1")
    assert [i["id"] for i in rest["data"]] == ["msg_0"]
    assert rest["has_more"] is False
    assert [i["id"] for i in listed(items, order="asc", after="msg_3")["data"]] == \
        ["msg_4"]
    assert len(listed(items * 5)["data"]) == 20


def test_nothing_listed() -> None:
    assert input_item_list([], {}) == {"object": "list", "data": [], "has_more": False,
                                       "first_id": None, "last_id": None}


@pytest.mark.parametrize(("query", "param"), [
    ({"order": "ASC"}, "order"), ({"limit": "0"}, "limit"), ({"limit": "1.5"}, "limit"),
    ({"limit": "101"}, "limit"), ({"after": "msg_9"}, "after")])
def test_bad_values_name_their_parameter(query: dict[str, str], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        input_item_list([{"id": "msg_1", "role": "user", "content": "x"}], query)
    assert caught.value.param == param
