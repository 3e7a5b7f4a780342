"""responses_call / input_messages: an OpenAI Responses request -> the Chat Completions body it
stands for, and through `chat_request` the same Gemini request the chat front door would send."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from adapter.translate import tool_ids
from adapter.translate.errors import InvalidRequest
from adapter.translate.request import chat_request
from adapter.translate.responses_request import ResponsesCall, input_messages, responses_call
from adapter.translate.tools import BUILT_IN

MODEL = "gemini-2.5-flash"
GEMINI_3 = "gemini-3-pro-preview"  # searches and calls functions in one request
PNG = "data:image/png;base64,iVBORw0KGgo="
PDF = "data:application/pdf;base64,JVBERi0xLjQK"
WEATHER_PARAMS = {"type": "object", "properties": {"city": {"type": "string"}},
                  "required": ["city"], "additionalProperties": False}
WEATHER = {"type": "function", "name": "get_weather", "description": "Weather in a city.",
           "parameters": WEATHER_PARAMS}
CHAT_WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city.", "parameters": WEATHER_PARAMS}}


def call(input_: Any, history: list[dict[str, Any]] | None = None, **body: Any) -> ResponsesCall:
    return responses_call({"model": MODEL, "input": input_, **body}, history or [])


def chat(input_: Any, **body: Any) -> dict[str, Any]:
    return call(input_, **body).chat


def user(*parts: dict[str, Any]) -> list[dict[str, Any]]:
    """A one-message input whose content is the given parts."""
    return [{"type": "message", "role": "user", "content": list(parts)}]


def content_of(*parts: dict[str, Any]) -> Any:
    [message] = input_messages(user(*parts))
    assert message["role"] == "user"
    return message["content"]


def rejected(param: str, input_: Any = None, **body: Any) -> InvalidRequest:
    payload = {"model": MODEL, **body}
    if input_ is not None:
        payload["input"] = input_
    with pytest.raises(InvalidRequest) as info:
        responses_call(payload, [])
    assert info.value.status == 400
    assert info.value.param == param
    assert info.value.body()["error"]["type"] == "invalid_request_error"
    return info.value


def fc(call_id: str, name: str, arguments: str, **extra: Any) -> dict[str, Any]:
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments,
            **extra}


def fc_output(call_id: str, output: Any) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def tool_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


# --- input: strings and messages ----------------------------------------------------------------

def test_string_input_is_one_user_message() -> None:
    result = call("Hello there")
    assert result.chat["messages"] == [{"role": "user", "content": "Hello there"}]
    assert result.messages == [{"role": "user", "content": "Hello there"}]
    assert input_messages("Hello there") == [{"role": "user", "content": "Hello there"}]


def test_chat_envelope_carries_model_and_stream() -> None:
    assert chat("hi")["model"] == MODEL
    assert chat("hi")["stream"] is False
    assert chat("hi", stream=True)["stream"] is True
    assert chat("hi", stream=None)["stream"] is False


@pytest.mark.parametrize("role", ["user", "assistant", "system", "developer"])
def test_message_item_with_string_content_keeps_its_role(role: str) -> None:
    items = [{"type": "message", "role": role, "content": "some text"}]
    assert input_messages(items) == [{"role": role, "content": "some text"}]


def test_message_item_without_type_is_a_message() -> None:
    items = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    assert input_messages(items) == [{"role": "user", "content": "a"},
                                     {"role": "assistant", "content": "b"}]


@pytest.mark.parametrize("kind", ["input_text", "output_text", "text"])
def test_text_parts_become_chat_text_parts(kind: str) -> None:
    assert content_of({"type": kind, "text": "hello"}) == [{"type": "text", "text": "hello"}]


def test_refusal_part_becomes_text() -> None:
    items = [{"type": "message", "role": "assistant",
              "content": [{"type": "refusal", "refusal": "I can't help with that."}]}]
    assert input_messages(items) == [
        {"role": "assistant", "content": [{"type": "text", "text": "I can't help with that."}]}]


def test_parts_keep_their_order() -> None:
    parts = content_of({"type": "input_text", "text": "first"},
                       {"type": "input_image", "image_url": PNG},
                       {"type": "input_text", "text": "last"})
    assert [p["type"] for p in parts] == ["text", "image_url", "text"]
    assert parts[0]["text"] == "first" and parts[2]["text"] == "last"


def test_input_image_url_with_detail() -> None:
    parts = content_of({"type": "input_image", "image_url": "https://x.test/cat.png",
                        "detail": "high"})
    assert parts == [{"type": "image_url",
                      "image_url": {"url": "https://x.test/cat.png", "detail": "high"}}]


def test_input_image_url_without_detail_has_none() -> None:
    parts = content_of({"type": "input_image", "image_url": PNG})
    assert parts == [{"type": "image_url", "image_url": {"url": PNG}}]


def test_input_image_by_file_id_becomes_a_file_part() -> None:
    parts = content_of({"type": "input_image", "file_id": "files/abc123", "detail": "auto"})
    assert parts == [{"type": "file", "file": {"file_id": "files/abc123"}}]


def test_input_image_with_neither_url_nor_file_is_rejected() -> None:
    rejected("input[0].content[0].image_url", user({"type": "input_image", "detail": "auto"}))


def test_input_file_with_file_data_and_filename() -> None:
    parts = content_of({"type": "input_file", "file_data": PDF, "filename": "report.pdf"})
    assert parts == [{"type": "file", "file": {"file_data": PDF, "filename": "report.pdf"}}]


def test_input_file_by_file_id() -> None:
    parts = content_of({"type": "input_file", "file_id": "files/doc1"})
    assert parts == [{"type": "file", "file": {"file_id": "files/doc1"}}]


def test_input_file_by_url_carries_the_url() -> None:
    parts = content_of({"type": "input_file", "file_url": "https://x.test/report.pdf"})
    assert len(parts) == 1
    assert '"https://x.test/report.pdf"' in orjson.dumps(parts).decode()


def test_input_file_url_is_fetched_as_a_file_not_an_image() -> None:
    """BUG: input_file.file_url becomes an image_url part, so the shell fetches it as kind
    "image" and rejects a PDF (media.py accepts only image/* for that kind). input_file is the
    Responses way to send documents, so its URL must be fetched as kind "file"."""
    request = chat_request(chat(user(
        {"type": "input_text", "text": "Summarize."},
        {"type": "input_file", "file_url": "https://x.test/report.pdf"})))
    [remote] = request.remote_media
    assert remote["_fetch"]["url"] == "https://x.test/report.pdf"
    assert remote["_fetch"]["kind"] == "file"


def test_input_image_detail_original_is_accepted() -> None:
    """BUG: the Responses API (and the installed SDK's ImageDetail) allows detail "original";
    it is passed through unchanged and chat_request rejects it (only auto/low/high)."""
    request = chat_request(chat(user({"type": "input_image", "image_url": PNG,
                                      "detail": "original"})))
    assert request.gemini["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]


def test_unknown_content_part_type_names_its_place() -> None:
    error = rejected("input[0].content[1].type",
                     user({"type": "input_text", "text": "ok"},
                          {"type": "input_audio", "data": "AAAA"}))
    assert "input_audio" in error.message


@pytest.mark.parametrize(("part", "param"), [
    ({"type": "input_text", "text": 5}, "input[0].content[0].text"),
    ({"type": "refusal"}, "input[0].content[0].refusal"),
    ("just a string", "input[0].content[0]"),
])
def test_malformed_parts_are_rejected(part: Any, param: str) -> None:
    rejected(param, user(part))


def test_content_that_is_neither_string_nor_list_is_rejected() -> None:
    rejected("input[0].content", [{"type": "message", "role": "user", "content": 7}])
    rejected("input[0].content", [{"type": "message", "role": "user"}])


@pytest.mark.parametrize("role", ["tool", "function", None, "model"])
def test_invalid_roles_are_rejected(role: Any) -> None:
    error = rejected("input[1].role", [{"role": "user", "content": "a"},
                                       {"type": "message", "role": role, "content": "b"}])
    assert repr(role) in error.message


def test_input_that_is_not_a_list_or_string_is_rejected() -> None:
    rejected("input", {"role": "user", "content": "hi"})
    rejected("input", 5)


def test_item_that_is_not_an_object_is_rejected() -> None:
    rejected("input[1]", [{"role": "user", "content": "a"}, "b"])


# --- input: function calls and their outputs -----------------------------------------------------

def test_a_function_call_and_its_output() -> None:
    messages = input_messages([
        {"role": "user", "content": "Weather in Paris?"},
        fc("call_1", "get_weather", '{"city":"Paris"}'),
        fc_output("call_1", '{"temp":20}'),
    ])
    assert messages == [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None,
         "tool_calls": [tool_call("call_1", "get_weather", '{"city":"Paris"}')]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp":20}'},
    ]


def test_consecutive_function_calls_are_one_assistant_message() -> None:
    messages = input_messages([
        {"role": "user", "content": "Paris and Rome?"},
        fc("call_a", "get_weather", '{"city":"Paris"}'),
        fc("call_b", "get_weather", '{"city":"Rome"}'),
        fc("call_c", "get_time", "{}"),
        fc_output("call_a", "20C"),
        fc_output("call_b", "25C"),
        fc_output("call_c", "noon"),
    ])
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool", "tool"]
    assistant = messages[1]
    assert assistant["content"] is None
    assert assistant["tool_calls"] == [tool_call("call_a", "get_weather", '{"city":"Paris"}'),
                                       tool_call("call_b", "get_weather", '{"city":"Rome"}'),
                                       tool_call("call_c", "get_time", "{}")]
    assert [(m["tool_call_id"], m["content"]) for m in messages[2:]] == [
        ("call_a", "20C"), ("call_b", "25C"), ("call_c", "noon")]


def test_assistant_text_followed_by_calls_is_one_message() -> None:
    messages = input_messages([
        {"role": "user", "content": "Weather?"},
        {"type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "Let me check."}]},
        fc("call_1", "get_weather", '{"city":"Paris"}'),
        fc("call_2", "get_weather", '{"city":"Rome"}'),
    ])
    assert messages[1:] == [{
        "role": "assistant", "content": [{"type": "text", "text": "Let me check."}],
        "tool_calls": [tool_call("call_1", "get_weather", '{"city":"Paris"}'),
                       tool_call("call_2", "get_weather", '{"city":"Rome"}')]}]


def test_assistant_text_after_calls_starts_a_new_message() -> None:
    messages = input_messages([
        fc("call_1", "f", "{}"),
        {"role": "assistant", "content": "After the call."},
    ])
    assert messages == [
        {"role": "assistant", "content": None, "tool_calls": [tool_call("call_1", "f", "{}")]},
        {"role": "assistant", "content": "After the call."},
    ]


def test_two_assistant_texts_stay_two_messages() -> None:
    messages = input_messages([{"role": "assistant", "content": "one"},
                               {"role": "assistant", "content": "two"}])
    assert messages == [{"role": "assistant", "content": "one"},
                        {"role": "assistant", "content": "two"}]


def test_calls_after_a_tool_output_start_a_new_assistant_message() -> None:
    messages = input_messages([
        fc("call_1", "f", "{}"), fc_output("call_1", "r1"),
        fc("call_2", "g", "{}"), fc_output("call_2", "r2"),
    ])
    assert [m["role"] for m in messages] == ["assistant", "tool", "assistant", "tool"]
    assert messages[2]["tool_calls"] == [tool_call("call_2", "g", "{}")]


def test_calls_after_a_user_message_start_a_new_assistant_message() -> None:
    messages = input_messages([
        {"role": "assistant", "content": "Hi"},
        {"role": "user", "content": "Go"},
        fc("call_1", "f", "{}"),
    ])
    assert messages[2] == {"role": "assistant", "content": None,
                           "tool_calls": [tool_call("call_1", "f", "{}")]}


def test_function_call_without_arguments_means_no_arguments() -> None:
    messages = input_messages([{"type": "function_call", "call_id": "call_1", "name": "now"}])
    assert messages[0]["tool_calls"][0]["function"]["arguments"] == ""
    gemini = chat_request({"model": MODEL, "messages": [{"role": "user", "content": "t?"},
                                                        *messages]}).gemini
    assert gemini["contents"][1]["parts"] == [{"functionCall": {"name": "now", "args": {}}}]


def test_function_call_output_as_parts() -> None:
    [_, result] = input_messages([
        fc("call_1", "f", "{}"),
        fc_output("call_1", [{"type": "input_text", "text": "part one "},
                             {"type": "input_text", "text": "part two"}]),
    ])
    assert result == {"role": "tool", "tool_call_id": "call_1", "content": [
        {"type": "text", "text": "part one "}, {"type": "text", "text": "part two"}]}


def test_function_call_output_without_output_is_empty() -> None:
    [_, result] = input_messages([fc("call_1", "f", "{}"),
                                  {"type": "function_call_output", "call_id": "call_1"}])
    assert result == {"role": "tool", "tool_call_id": "call_1", "content": ""}


@pytest.mark.parametrize(("item", "param"), [
    ({"type": "function_call", "name": "f", "arguments": "{}"}, "input[0].call_id"),
    ({"type": "function_call", "call_id": "c", "arguments": "{}"}, "input[0].name"),
    ({"type": "function_call_output", "output": "x"}, "input[0].call_id"),
    ({"type": "custom_tool_call", "name": "f", "input": "x"}, "input[0].call_id"),
    ({"type": "custom_tool_call", "call_id": "c", "input": "x"}, "input[0].name"),
    ({"type": "custom_tool_call", "call_id": "c", "name": "f", "input": 3}, "input[0].input"),
    ({"type": "custom_tool_call_output", "output": "x"}, "input[0].call_id"),
])
def test_malformed_call_items_name_the_field(item: dict[str, Any], param: str) -> None:
    rejected(param, [item])


def test_custom_tool_call_becomes_a_call_with_an_input_argument() -> None:
    messages = input_messages([
        {"type": "custom_tool_call", "call_id": "call_x", "name": "run_python",
         "input": 'print("hi")\nx = {"a": 1}'},
        {"type": "custom_tool_call_output", "call_id": "call_x", "output": "hi"},
    ])
    [call_] = messages[0]["tool_calls"]
    assert call_["id"] == "call_x"
    assert call_["type"] == "function"
    assert call_["function"]["name"] == "run_python"
    assert orjson.loads(call_["function"]["arguments"]) == {"input": 'print("hi")\nx = {"a": 1}'}
    assert messages[1] == {"role": "tool", "tool_call_id": "call_x", "content": "hi"}


def test_custom_tool_call_without_input_has_empty_input() -> None:
    [message] = input_messages([{"type": "custom_tool_call", "call_id": "c", "name": "f"}])
    assert orjson.loads(message["tool_calls"][0]["function"]["arguments"]) == {"input": ""}


def test_custom_and_function_calls_of_one_turn_share_a_message() -> None:
    [message] = input_messages([
        fc("call_1", "f", "{}"),
        {"type": "custom_tool_call", "call_id": "call_2", "name": "g", "input": "raw"},
    ])
    assert [c["id"] for c in message["tool_calls"]] == ["call_1", "call_2"]


# --- input: reasoning, echoed output, unknown items ----------------------------------------------

def test_reasoning_items_are_dropped() -> None:
    messages = input_messages([
        {"role": "user", "content": "Think."},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "hmm"}]},
        {"role": "assistant", "content": "Done."},
    ])
    assert messages == [{"role": "user", "content": "Think."},
                        {"role": "assistant", "content": "Done."}]


def test_reasoning_between_text_and_calls_does_not_split_the_turn() -> None:
    messages = input_messages([
        {"role": "assistant", "content": "Checking."},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        fc("call_1", "f", "{}"),
    ])
    assert messages == [{"role": "assistant", "content": "Checking.",
                         "tool_calls": [tool_call("call_1", "f", "{}")]}]


ECHOED_OUTPUT = [
    {"id": "rs_1", "type": "reasoning", "status": "completed",
     "summary": [{"type": "summary_text", "text": "thinking"}], "encrypted_content": None},
    {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
     "content": [{"type": "output_text", "text": "Let me look.",
                  "annotations": [{"type": "url_citation", "url": "https://a.test",
                                   "title": "A", "start_index": 0, "end_index": 3}],
                  "logprobs": []}]},
    {"id": "fc_1", "type": "function_call", "status": "completed", "call_id": "call_1",
     "name": "get_weather", "arguments": '{"city":"Paris"}'},
    {"id": "ctc_1", "type": "custom_tool_call", "status": "completed", "call_id": "call_2",
     "name": "run_python", "input": "1+1"},
]


def test_items_echoed_from_a_response_output_are_accepted_as_they_are() -> None:
    items = [{"role": "user", "content": "Go"}, *copy.deepcopy(ECHOED_OUTPUT),
             {"type": "function_call_output", "id": "fco_1", "status": "completed",
              "call_id": "call_1", "output": "sunny"},
             {"type": "custom_tool_call_output", "id": "ctco_1", "call_id": "call_2",
              "output": "2"}]
    before = copy.deepcopy(items)
    messages = input_messages(items)
    assert items == before  # not mutated
    assert messages == [
        {"role": "user", "content": "Go"},
        {"role": "assistant", "content": [{"type": "text", "text": "Let me look."}],
         "tool_calls": [tool_call("call_1", "get_weather", '{"city":"Paris"}'),
                        tool_call("call_2", "run_python", '{"input":"1+1"}')]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": "2"},
    ]
    # and the chat core takes the result
    request = chat_request({"model": MODEL, "messages": messages})
    assert request.gemini["contents"][1]["parts"][0] == {"text": "Let me look."}


@pytest.mark.parametrize("kind", ["item_reference", "web_search_call", "file_search_call",
                                  "computer_call_output", "mcp_call", "local_shell_call",
                                  "compaction"])
def test_unknown_item_types_name_their_place(kind: str) -> None:
    error = rejected("input[1].type", [{"role": "user", "content": "a"},
                                       {"type": kind, "id": "x_1"}])
    assert kind in error.message
    assert error.code == "invalid_request"


def test_item_with_neither_type_nor_role_is_rejected() -> None:
    rejected("input[0].type", [{"content": "hi"}])


def test_input_messages_names_a_custom_location() -> None:
    with pytest.raises(InvalidRequest) as info:
        input_messages([{"type": "bogus"}], "output")
    assert info.value.param == "output[0].type"


# --- the request envelope ------------------------------------------------------------------------

def test_missing_input_is_a_400() -> None:
    error = rejected("input")
    assert "input" in error.message


def test_null_input_is_a_400() -> None:
    with pytest.raises(InvalidRequest) as info:
        responses_call({"model": MODEL, "input": None}, [])
    assert info.value.param == "input"


@pytest.mark.parametrize("body", [None, [], "input", 3])
def test_body_that_is_not_an_object_is_a_400(body: Any) -> None:
    with pytest.raises(InvalidRequest) as info:
        responses_call(body, [])
    assert info.value.status == 400


def test_instructions_become_a_first_system_message() -> None:
    result = call([{"role": "user", "content": "hi"}], instructions="Answer in French.")
    assert result.chat["messages"] == [{"role": "system", "content": "Answer in French."},
                                       {"role": "user", "content": "hi"}]
    assert result.messages == [{"role": "user", "content": "hi"}]  # input only
    gemini = chat_request(result.chat).gemini
    assert gemini["systemInstruction"] == {"parts": [{"text": "Answer in French."}]}
    assert gemini["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]


@pytest.mark.parametrize("value", [None, ""])
def test_no_instructions_no_system_message(value: Any) -> None:
    assert chat("hi", instructions=value)["messages"] == [{"role": "user", "content": "hi"}]


def test_instructions_must_be_a_string() -> None:
    rejected("instructions", "hi", instructions=["be brief"])


def test_history_goes_between_instructions_and_new_input() -> None:
    history = [{"role": "user", "content": "My name is Ada."},
               {"role": "assistant", "content": "Hello Ada."}]
    result = call("What is my name?", history=history, instructions="Be brief.")
    assert result.chat["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Hello Ada."},
        {"role": "user", "content": "What is my name?"},
    ]
    assert result.messages == [{"role": "user", "content": "What is my name?"}]


def test_history_is_not_mutated() -> None:
    history = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    before = copy.deepcopy(history)
    call("c", history=history, instructions="x")
    assert history == before


# --- options -----------------------------------------------------------------------------------

def test_sampling_options_map_to_chat_names() -> None:
    body = chat("hi", max_output_tokens=256, temperature=0.3, top_p=0.8,
                parallel_tool_calls=False, user="u-1", metadata={"k": "v"})
    assert body["max_completion_tokens"] == 256
    assert "max_output_tokens" not in body
    assert body["temperature"] == 0.3
    assert body["top_p"] == 0.8
    assert body["parallel_tool_calls"] is False
    assert body["user"] == "u-1"
    assert body["metadata"] == {"k": "v"}
    config = chat_request(body).gemini["generationConfig"]
    assert config == {"maxOutputTokens": 256, "temperature": 0.3, "topP": 0.8}


def test_absent_or_null_options_are_left_out() -> None:
    body = chat("hi", temperature=None, max_output_tokens=None)
    assert set(body) == {"model", "messages", "stream"}
    assert "generationConfig" not in chat_request(body).gemini


def test_temperature_zero_is_kept() -> None:
    assert chat("hi", temperature=0)["temperature"] == 0


@pytest.mark.parametrize("effort", ["minimal", "low", "medium", "high", "none"])
def test_reasoning_effort(effort: str) -> None:
    body = chat("hi", reasoning={"effort": effort, "summary": "auto"})
    assert body["reasoning_effort"] == effort
    assert "thinkingConfig" in chat_request(body).gemini["generationConfig"]


def test_reasoning_without_effort_sets_nothing() -> None:
    assert "reasoning_effort" not in chat("hi", reasoning={"summary": "detailed"})
    assert "reasoning_effort" not in chat("hi", reasoning={"effort": None})


def test_reasoning_must_be_an_object() -> None:
    rejected("reasoning", "hi", reasoning="high")


def test_text_format_json_schema_becomes_a_nested_response_format() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"],
              "additionalProperties": False}
    body = chat("hi", text={"format": {"type": "json_schema", "name": "count", "schema": schema,
                                       "strict": True, "description": "A count."},
                            "verbosity": "low"})
    assert body["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "count", "schema": schema, "strict": True, "description": "A count."}}
    config = chat_request(body).gemini["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseSchema"]["properties"]["n"]["type"] == "integer"


def test_text_format_json_object() -> None:
    body = chat("hi", text={"format": {"type": "json_object"}})
    assert body["response_format"] == {"type": "json_object"}
    assert chat_request(body).gemini["generationConfig"] == {
        "responseMimeType": "application/json"}


def test_text_format_text() -> None:
    body = chat("hi", text={"format": {"type": "text"}})
    assert body["response_format"] == {"type": "text"}
    assert "generationConfig" not in chat_request(body).gemini


def test_text_without_format_sets_no_response_format() -> None:
    assert "response_format" not in chat("hi", text={"verbosity": "medium"})
    assert "response_format" not in chat("hi", text={"format": None})


def test_text_and_its_format_must_be_objects() -> None:
    rejected("text", "hi", text="json")
    rejected("text.format", "hi", text={"format": "json_object"})


@pytest.mark.parametrize(("choice", "mode"), [("auto", "AUTO"), ("none", "NONE"),
                                              ("required", "ANY")])
def test_tool_choice_modes(choice: str, mode: str) -> None:
    body = chat("hi", tools=[WEATHER], tool_choice=choice)
    assert body["tool_choice"] == choice
    assert chat_request(body).gemini["toolConfig"] == {"functionCallingConfig": {"mode": mode}}


def test_tool_choice_named_function() -> None:
    body = chat("hi", tools=[WEATHER], tool_choice={"type": "function", "name": "get_weather"})
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert chat_request(body).gemini["toolConfig"] == {"functionCallingConfig": {
        "mode": "ANY", "allowedFunctionNames": ["get_weather"]}}


def test_tool_choice_named_custom_tool() -> None:
    body = chat("hi", tools=[{"type": "custom", "name": "run_python"}],
                tool_choice={"type": "custom", "name": "run_python"})
    assert body["tool_choice"] == {"type": "function", "function": {"name": "run_python"}}


@pytest.mark.parametrize("kind", ["web_search", "web_search_preview"])
def test_tool_choice_of_web_search_is_auto(kind: str) -> None:
    body = chat("hi", tools=[WEATHER, {"type": kind}], tool_choice={"type": kind})
    assert body["tool_choice"] == "auto"


def test_tool_choice_without_function_tools_is_dropped() -> None:
    assert "tool_choice" not in chat("hi", tool_choice="required")
    assert "tool_choice" not in chat("hi", tools=[{"type": "web_search"}], tool_choice="auto")


def test_top_logprobs_alone_is_a_valid_request() -> None:
    """BUG: the Responses API takes top_logprobs on its own, but it is copied to the chat body
    without `logprobs: true`, and chat_request rejects that ("'top_logprobs' requires
    'logprobs' to be true"), so a valid Responses request gets a 400."""
    chat_request(chat("hi", top_logprobs=3))


# --- tools -------------------------------------------------------------------------------------

def test_flat_function_tool_becomes_a_chat_tool() -> None:
    body = chat("hi", tools=[{**WEATHER, "strict": True}])
    assert body["tools"] == [CHAT_WEATHER]
    assert body.get("web_search_options") is None
    [declaration] = chat_request(body).gemini["tools"][0]["functionDeclarations"]
    assert declaration["name"] == "get_weather"
    assert declaration["description"] == "Weather in a city."
    assert declaration["parameters"] == {"type": "object", "required": ["city"],
                                         "properties": {"city": {"type": "string"}}}


def test_function_tool_without_parameters() -> None:
    body = chat("hi", tools=[{"type": "function", "name": "now"}])
    assert body["tools"] == [{"type": "function", "function": {"name": "now"}}]
    assert chat_request(body).gemini["tools"] == [{"functionDeclarations": [{"name": "now"}]}]


def test_namespace_groups_are_flattened() -> None:
    result = call("hi", tools=[
        WEATHER,
        {"type": "namespace", "name": "crm", "description": "CRM tools", "tools": [
            {"type": "function", "name": "find_customer", "parameters": {"type": "object"}},
            {"type": "custom", "name": "crm_query", "description": "SQL"}]},
    ])
    names = [t["function"]["name"] for t in result.chat["tools"]]
    assert names == ["get_weather", "find_customer", "crm_query"]
    assert all(t["type"] == "function" for t in result.chat["tools"])
    assert result.custom_tools == {"crm_query"}


def test_custom_tool_becomes_a_function_with_one_string_input() -> None:
    result = call("hi", tools=[{"type": "custom", "name": "run_python",
                                "description": "Runs Python code."}])
    [tool] = result.chat["tools"]
    function = tool["function"]
    assert tool["type"] == "function"
    assert function["name"] == "run_python"
    assert function["description"] == "Runs Python code."
    assert function["parameters"]["type"] == "object"
    assert function["parameters"]["required"] == ["input"]
    assert list(function["parameters"]["properties"]) == ["input"]
    assert function["parameters"]["properties"]["input"]["type"] == "string"
    assert result.custom_tools == {"run_python"}
    [declaration] = chat_request(result.chat).gemini["tools"][0]["functionDeclarations"]
    assert declaration["parameters"]["properties"]["input"]["type"] == "string"


def test_custom_tool_grammar_is_appended_to_the_description() -> None:
    grammar = 'start: expr\nexpr: NUMBER "+" NUMBER\n%import common.NUMBER'
    result = call("hi", tools=[{"type": "custom", "name": "add", "description": "Adds.",
                                "format": {"type": "grammar", "syntax": "lark",
                                           "definition": grammar}}])
    description = result.chat["tools"][0]["function"]["description"]
    assert description.startswith("Adds.\n\n")
    assert "lark" in description
    assert description.endswith(grammar)


def test_custom_tool_grammar_without_description() -> None:
    result = call("hi", tools=[{"type": "custom", "name": "re",
                                "format": {"type": "grammar", "syntax": "regex",
                                           "definition": r"\d+"}}])
    description = result.chat["tools"][0]["function"]["description"]
    assert description == description.strip()
    assert "regex" in description and description.endswith(r"\d+")


def test_custom_tool_with_text_format_keeps_its_description() -> None:
    result = call("hi", tools=[{"type": "custom", "name": "note", "description": "Notes.",
                                "format": {"type": "text"}}])
    assert result.chat["tools"][0]["function"]["description"] == "Notes."


def test_function_tools_are_not_custom() -> None:
    assert call("hi", tools=[WEATHER]).custom_tools == set()
    assert call("hi").custom_tools == set()


@pytest.mark.parametrize("kind", ["web_search", "web_search_preview", "web_search_2025_08_26",
                                  "web_search_preview_2025_03_11"])
def test_web_search_becomes_web_search_options(kind: str) -> None:
    body = chat("hi", tools=[{"type": kind, "search_context_size": "low"}])
    assert body["web_search_options"] == {}
    assert "tools" not in body
    assert chat_request(body).gemini["tools"] == [{"googleSearch": {}}]


def test_web_search_next_to_function_tools_on_gemini_3() -> None:
    search = {"type": "web_search", "external_web_access": True}
    body = responses_call({"model": "gemini-3-pro-preview", "input": "hi",
                           "tools": [search, WEATHER]}, []).chat
    assert body["tools"] == [CHAT_WEATHER]
    assert body["web_search_options"] == {}
    tools = chat_request(body).gemini["tools"]
    assert {"googleSearch": {}} in tools
    assert any("functionDeclarations" in t for t in tools)


def test_web_search_next_to_function_tools_is_dropped_before_gemini_3() -> None:
    body = chat("hi", tools=[{"type": "web_search", "external_web_access": True}, WEATHER])
    assert body["tools"] == [CHAT_WEATHER]
    assert "web_search_options" not in body


@pytest.mark.parametrize(("model", "aliases", "searches"), [
    ("gpt-5", {"gpt-5": GEMINI_3}, True),
    ("models/gemini-3-pro-preview", {}, True),
    ("gpt-5", {"gpt-5": f"models/{GEMINI_3}"}, True),
    ("gemini-4-flash", {}, True),  # a later generation behaves like 3
    ("gpt-4o", {"gpt-4o": MODEL}, False),
    ("gemini-3-pro-preview", {"gemini-3-pro-preview": MODEL}, False),  # the alias wins
    ("gemini-flash-latest", {}, False),  # may stand for 2.5
    ("gpt-5", {}, False),  # an unknown model asks the least of a model
])
def test_web_search_beside_functions_follows_the_resolved_model(
        model: str, aliases: dict[str, str], searches: bool) -> None:
    body = {"model": model, "input": "hi", "tools": [{"type": "web_search"}, WEATHER]}
    chat_body = responses_call(body, [], aliases).chat
    assert ("web_search_options" in chat_body) is searches
    tools = chat_request(chat_body, aliases).gemini["tools"]
    assert ({"googleSearch": {}} in tools) is searches
    assert tools[0]["functionDeclarations"][0]["name"] == "get_weather"


@pytest.mark.parametrize(("model", "code"), [
    ("", "invalid_request"), (None, "invalid_request"), (3, "invalid_request"),
    ("bad model", "model_not_found")])
def test_web_search_beside_functions_with_an_invalid_model_names_the_model(
        model: Any, code: str) -> None:
    error = rejected("model", "hi", model=model, tools=[{"type": "web_search"}, WEATHER])
    assert error.code == code


def test_web_search_without_external_access_is_dropped() -> None:
    body = chat("hi", tools=[{"type": "web_search", "external_web_access": False}, WEATHER])
    assert "web_search_options" not in body
    assert body["tools"] == [CHAT_WEATHER]
    tools = chat_request(body).gemini["tools"]
    assert len(tools) == 1 and "functionDeclarations" in tools[0]
    only_search = chat("hi", tools=[{"type": "web_search", "external_web_access": False}])
    assert "web_search_options" not in only_search and "tools" not in only_search
    assert "tools" not in chat_request(only_search).gemini


def test_empty_tools_add_nothing() -> None:
    body = chat("hi", tools=[])
    assert "tools" not in body and "web_search_options" not in body


@pytest.mark.parametrize(("kind", "gemini_tool"), sorted(BUILT_IN.items()))
def test_each_built_in_tool_type_switches_on_its_gemini_tool(kind: str, gemini_tool: str) -> None:
    body = chat("hi", tools=[{"type": kind}, WEATHER])
    assert body["tools"] == [CHAT_WEATHER, {"type": kind}]
    assert [list(tool) for tool in chat_request(body).gemini["tools"]] == [
        ["functionDeclarations"], [gemini_tool]]


@pytest.mark.parametrize("kind", ["file_search", "computer_use_preview", "mcp", "local_shell",
                                  "shell", "apply_patch", None])
def test_unsupported_tool_types_name_their_place(kind: Any) -> None:
    error = rejected("tools[1].type", "hi", tools=[WEATHER, {"type": kind}])
    assert repr(kind) in error.message


def test_unsupported_tool_inside_a_namespace_names_its_place() -> None:
    rejected("tools[0].tools[1].type", "hi", tools=[{
        "type": "namespace", "name": "n", "description": "d",
        "tools": [{"type": "function", "name": "f"}, {"type": "file_search"}]}])


def test_malformed_tools_are_rejected() -> None:
    rejected("tools", "hi", tools={"type": "function", "name": "f"})
    rejected("tools[0]", "hi", tools=["get_weather"])
    rejected("tools[0].name", "hi", tools=[{"type": "custom"}])
    rejected("tools[0].tools", "hi", tools=[{"type": "namespace", "name": "n"}])


# --- what the response repeats, and Gemini fields given directly ---------------------------------

def test_echo_holds_the_request_fields_a_response_repeats() -> None:
    tools = [WEATHER, {"type": "web_search"}]
    result = call("hi", instructions="Be brief.", max_output_tokens=100, metadata={"a": "b"},
                  previous_response_id="resp_1", reasoning={"effort": "low"},
                  temperature=0.2, text={"format": {"type": "text"}}, tool_choice="auto",
                  tools=tools, top_p=0.5, user="u", truncation="disabled",
                  parallel_tool_calls=True, store=False, prompt_cache_key="k",
                  service_tier="default")
    echo = result.echo
    assert echo["instructions"] == "Be brief."
    assert echo["max_output_tokens"] == 100
    assert echo["previous_response_id"] == "resp_1"
    assert echo["reasoning"] == {"effort": "low"}
    # as the client sent them (normalised as OpenAI repeats them), not the chat shape
    assert echo["tools"] == [{**WEATHER, "strict": None}, {"type": "web_search"}]
    assert echo["tool_choice"] == "auto"
    assert echo["store"] is False
    assert echo["truncation"] == "disabled"
    assert echo["prompt_cache_key"] == "k"
    assert echo["service_tier"] == "default"
    assert "input" not in echo and "model" not in echo


def test_echoed_tools_are_normalised_as_openai_repeats_them() -> None:
    """Function tools always carry `description`, `parameters` and `strict` (null when not
    sent), custom tools `description` and `format`; what was sent is kept."""
    bare = {"type": "function", "name": "now"}
    custom = {"type": "custom", "name": "apply_patch"}
    namespace = {"type": "namespace", "name": "ns", "description": "Tools.",
                 "tools": [bare, custom]}
    strict = {**WEATHER, "strict": True, "defer_loading": True}
    echo = call("hi", tools=[bare, strict, custom, namespace]).echo
    function = {"type": "function", "name": "now", "description": None, "parameters": None,
                "strict": None}
    free_text = {"type": "custom", "name": "apply_patch", "description": None,
                 "format": {"type": "text"}}
    assert echo["tools"] == [function, strict, free_text, {**namespace,
                                                           "tools": [function, free_text]}]
    assert bare == {"type": "function", "name": "now"}  # the request is not changed


def test_echo_of_absent_fields_is_none() -> None:
    echo = call("hi").echo
    assert echo["instructions"] is None and echo["tools"] is None and echo["store"] is None


@pytest.mark.parametrize("name", ["generationConfig", "generation_config", "thinkingConfig",
                                  "thinking_config", "safetySettings", "safety_settings",
                                  "cachedContent", "cached_content", "extra_body"])
def test_gemini_fields_given_directly_are_passed_to_the_chat_body(name: str) -> None:
    value: Any = {"x": 1}
    assert chat("hi", **{name: value})[name] == value


def test_gemini_fields_reach_the_gemini_request() -> None:
    body = chat("hi", generationConfig={"seed": 7},
                extra_body={"google": {"cached_content": "cachedContents/abc"}})
    gemini = chat_request(body).gemini
    assert gemini["generationConfig"] == {"seed": 7}
    assert gemini["cachedContent"] == "cachedContents/abc"


# --- one core, two front doors -------------------------------------------------------------------

SIGNED = tool_ids.encode("g1", "c2lnbmF0dXJlLW9uZQ==")
PLAIN = tool_ids.encode("g2", None)


def responses_body() -> dict[str, Any]:
    return {
        "model": GEMINI_3, "instructions": "You are a weather bot.",
        "input": [
            {"role": "user", "content": [
                {"type": "input_text", "text": "Weather in Paris and Rome? Here is a map."},
                {"type": "input_image", "image_url": PNG, "detail": "low"}]},
            {"type": "reasoning", "id": "rs_1",
             "summary": [{"type": "summary_text", "text": "Two cities, two calls."}]},
            {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": "Let me check both.",
                          "annotations": [], "logprobs": []}]},
            {"type": "function_call", "id": "fc_1", "status": "completed", "call_id": SIGNED,
             "name": "get_weather", "arguments": '{"city":"Paris"}'},
            {"type": "function_call", "id": "fc_2", "status": "completed", "call_id": PLAIN,
             "name": "get_weather", "arguments": '{"city":"Rome"}'},
            {"type": "function_call_output", "call_id": PLAIN, "output": '{"temp_c": 25}'},
            {"type": "function_call_output", "call_id": SIGNED, "output": "cloudy, 18C"},
            {"type": "message", "role": "assistant", "content": "Paris 18C, Rome 25C."},
            {"type": "message", "role": "developer", "content": "Use Celsius."},
            {"role": "user", "content": "And Berlin?"},
        ],
        "tools": [{**WEATHER, "strict": True}, {"type": "web_search"}],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "temperature": 0.4, "top_p": 0.9, "max_output_tokens": 500,
        "parallel_tool_calls": True, "reasoning": {"effort": "low", "summary": "auto"},
        "text": {"format": {"type": "json_schema", "name": "w", "strict": True,
                            "schema": {"type": "object",
                                       "properties": {"t": {"type": "number"}}}}},
        "stream": True,
    }


def chat_body() -> dict[str, Any]:
    """The same conversation and options, written by hand as a Chat Completions request."""
    return {
        "model": GEMINI_3, "stream": True,
        "messages": [
            {"role": "system", "content": "You are a weather bot."},
            {"role": "user", "content": [
                {"type": "text", "text": "Weather in Paris and Rome? Here is a map."},
                {"type": "image_url", "image_url": {"url": PNG, "detail": "low"}}]},
            {"role": "assistant", "content": "Let me check both.", "tool_calls": [
                tool_call(SIGNED, "get_weather", '{"city":"Paris"}'),
                tool_call(PLAIN, "get_weather", '{"city":"Rome"}')]},
            {"role": "tool", "tool_call_id": PLAIN, "content": '{"temp_c": 25}'},
            {"role": "tool", "tool_call_id": SIGNED, "content": "cloudy, 18C"},
            {"role": "assistant", "content": "Paris 18C, Rome 25C."},
            {"role": "developer", "content": "Use Celsius."},
            {"role": "user", "content": "And Berlin?"},
        ],
        "tools": [CHAT_WEATHER], "web_search_options": {},
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "temperature": 0.4, "top_p": 0.9, "max_completion_tokens": 500,
        "parallel_tool_calls": True, "reasoning_effort": "low",
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "w", "strict": True,
            "schema": {"type": "object", "properties": {"t": {"type": "number"}}}}},
    }


def test_both_front_doors_send_gemini_the_same_request() -> None:
    via_responses = chat_request(responses_call(responses_body(), []).chat)
    via_chat = chat_request(chat_body())
    assert via_responses.gemini == via_chat.gemini
    assert via_responses.model == via_chat.model == GEMINI_3
    assert via_responses.stream is via_chat.stream is True
    assert via_responses.remote_media == via_chat.remote_media == []


def test_the_shared_gemini_request_is_the_expected_conversation() -> None:
    gemini = chat_request(responses_call(responses_body(), []).chat).gemini
    assert gemini["systemInstruction"] == {"parts": [{"text": "You are a weather bot."},
                                                     {"text": "Use Celsius."}]}
    assert [c["role"] for c in gemini["contents"]] == ["user", "model", "user", "model", "user"]
    model_turn = gemini["contents"][1]["parts"]
    assert model_turn[0] == {"text": "Let me check both."}
    assert model_turn[1] == {"functionCall": {"name": "get_weather", "args": {"city": "Paris"},
                                              "id": "g1"},
                             "thoughtSignature": "c2lnbmF0dXJlLW9uZQ=="}
    assert model_turn[2] == {"functionCall": {"name": "get_weather", "args": {"city": "Rome"},
                                              "id": "g2"}}
    # results in call order, each named after its call
    assert gemini["contents"][2]["parts"] == [
        {"functionResponse": {"name": "get_weather", "response": {"content": "cloudy, 18C"},
                              "id": "g1"}},
        {"functionResponse": {"name": "get_weather", "response": {"temp_c": 25}, "id": "g2"}}]
    assert gemini["generationConfig"]["maxOutputTokens"] == 500
    assert gemini["generationConfig"]["mediaResolution"] == "MEDIA_RESOLUTION_LOW"
    assert {"googleSearch": {}} in gemini["tools"]


def test_previous_response_history_gives_the_same_request_as_the_whole_chat() -> None:
    """A follow-up through `previous_response_id` (history = the stored chat messages) equals
    one chat request holding the whole conversation."""
    first = responses_call({"model": MODEL, "input": "Weather in Paris?", "tools": [WEATHER]},
                           [])
    previous_output = [fc(SIGNED, "get_weather", '{"city":"Paris"}', id="fc_1",
                          status="completed")]
    history = [*first.messages, *input_messages(previous_output)]
    follow_up = responses_call({
        "model": MODEL, "instructions": "Be brief.", "tools": [WEATHER],
        "previous_response_id": "resp_1",
        "input": [fc_output(SIGNED, "sunny")]}, history)
    whole = {"model": MODEL, "tools": [CHAT_WEATHER], "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "tool_calls": [tool_call(SIGNED, "get_weather",
                                                       '{"city":"Paris"}')]},
        {"role": "tool", "tool_call_id": SIGNED, "content": "sunny"}]}
    assert chat_request(follow_up.chat).gemini == chat_request(whole).gemini
    assert follow_up.messages == [{"role": "tool", "tool_call_id": SIGNED, "content": "sunny"}]


def test_custom_tool_round_trip_matches_a_chat_function_with_an_input_parameter() -> None:
    responses = responses_call({
        "model": MODEL,
        "tools": [{"type": "custom", "name": "run_python", "description": "Runs code."}],
        "input": [{"role": "user", "content": "Compute 2+2."},
                  {"type": "custom_tool_call", "call_id": "call_1", "name": "run_python",
                   "input": "print(2+2)"},
                  {"type": "custom_tool_call_output", "call_id": "call_1", "output": "4"}]}, [])
    function = responses.chat["tools"][0]["function"]
    chat_ = {"model": MODEL, "tools": [{"type": "function", "function": function}],
             "messages": [{"role": "user", "content": "Compute 2+2."},
                          {"role": "assistant", "tool_calls": [
                              tool_call("call_1", "run_python", '{"input": "print(2+2)"}')]},
                          {"role": "tool", "tool_call_id": "call_1", "content": "4"}]}
    gemini = chat_request(responses.chat).gemini
    assert gemini == chat_request(chat_).gemini
    assert gemini["contents"][1]["parts"] == [
        {"functionCall": {"name": "run_python", "args": {"input": "print(2+2)"}}}]


@pytest.mark.parametrize("stream", ["yes", 1, {}])
def test_stream_must_be_a_boolean(stream: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        responses_call({"model": "gemini-2.5-flash", "input": "Hi", "stream": stream}, [])
    assert caught.value.param == "stream"
