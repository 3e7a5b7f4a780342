"""Gemini code execution in answers (Markdown in `content`, runs in `code_execution`), in the
request (`tools` switches) and back in the history."""

from __future__ import annotations

from typing import Any

import pytest

from adapter.translate.code_execution import history_parts, render_code, render_result
from adapter.translate.errors import InvalidRequest
from adapter.translate.request import chat_request

from .helpers import FIXTURES, build, joined, recording, run, stream

STREAMED = "stream-sse-code-execution.txt"
CODE = "result = 65465 - 6544 * 65464 - 6 + 1.02255\nprint(result)"
STREAMED_CONTENT = (
    "\n```python\n" + CODE + "\n```\n"
    "\n```output\n-428330955.97745\n```\n"
    "The result of $65465 - 6544 \\times 65464 - 6 + 1.02255$ is **-428,330,955.97745**.")


def signature_of_code(events: list[dict[str, Any]]) -> str:
    return next(p["thoughtSignature"] for e in events for c in e["candidates"]
                for p in c["content"]["parts"] if "executableCode" in p)


def test_markdown_blocks() -> None:
    assert render_code("PYTHON", "print(1)\n") == "\n```python\nprint(1)\n```\n"
    assert render_result("OUTCOME_OK", "1\n") == "\n```output\n1\n```\n"
    assert render_result("OUTCOME_FAILED", "boom") == "\n```error\nboom\n```\n"
    assert render_result("OUTCOME_DEADLINE_EXCEEDED", "") == \
        "\n```error\nOUTCOME_DEADLINE_EXCEEDED\n```\n"


def test_streamed_code_and_output_come_in_order_in_content() -> None:
    _, chunks = run(stream(STREAMED))
    assert joined(chunks, "content") == STREAMED_CONTENT
    first = chunks[0]["choices"][0]["delta"]
    assert first["content"].startswith("\n```python\nresult = ")  # sent as soon as it arrived


def test_streamed_runs_are_given_structurally() -> None:
    events = stream(STREAMED)
    _, chunks = run(events)
    runs = [run for chunk in chunks for choice in chunk["choices"]
            for run in choice["delta"].get("code_execution", ())]
    assert runs == [
        {"index": 0, "language": "python", "code": CODE, "id": "8xju7mua",
         "thought_signature": signature_of_code(events)},
        {"index": 0, "outcome": "OUTCOME_OK", "output": "-428330955.97745\n"},
    ]


def test_non_streamed_message_has_content_and_merged_runs() -> None:
    events = stream(STREAMED)
    message = build(events)["choices"][0]["message"]
    assert message["content"] == STREAMED_CONTENT
    assert message["code_execution"] == [{
        "language": "python", "code": CODE, "id": "8xju7mua",
        "thought_signature": signature_of_code(events),
        "outcome": "OUTCOME_OK", "output": "-428330955.97745\n"}]
    assert build(events)["usage"]["prompt_tokens"] == 147 + 360  # tool use prompt included


def test_two_results_of_one_run_without_ids() -> None:
    events = recording(FIXTURES / "generate-content-code-execution.json")
    message = build(events)["choices"][0]["message"]
    first, second = message["code_execution"]
    assert first["code"] == "print('ok')\nprint(1/0)"
    assert (first["outcome"], first["output"]) == ("OUTCOME_OK", "ok\n")
    assert "code" not in second
    assert second["outcome"] == "OUTCOME_FAILED"
    content = message["content"]
    assert content.index("```python\nprint('ok')") < content.index("```output\nok\n```") \
        < content.index("```error\ndivision by zero") < content.index("The code execution")


@pytest.mark.parametrize("name", [STREAMED, "generate-content-code-execution.json"])
def test_answer_sent_back_gives_gemini_its_parts(name: str) -> None:
    events = recording(FIXTURES / name)
    message = build(events)["choices"][0]["message"]
    body = {"model": "gemini-3-flash-preview", "messages": [
        {"role": "user", "content": "compute"}, message, {"role": "user", "content": "thanks"}]}
    [_, model_turn, _] = chat_request(body).gemini["contents"]
    recorded = [p for e in events for c in e["candidates"] for p in c["content"]["parts"]
                if "executableCode" in p or "codeExecutionResult" in p]
    sent = [p for p in model_turn["parts"] if "text" not in p]
    assert sent == recorded  # ids and signatures included
    text = "".join(p["text"] for p in model_turn["parts"] if "text" in p)
    assert text == "".join(p.get("text", "") for e in events for c in e["candidates"]
                           for p in c["content"]["parts"])
    kinds = [next(iter(k for k in p if k != "thoughtSignature")) for p in model_turn["parts"]]
    assert kinds[:2] == ["executableCode", "codeExecutionResult"]


def test_runs_whose_blocks_were_edited_out_still_go_back() -> None:
    runs = [{"language": "python", "code": "print(2)", "outcome": "OUTCOME_OK", "output": "2"}]
    assert history_parts("It is 2.", runs, "messages[1]") == [
        {"executableCode": {"language": "PYTHON", "code": "print(2)"}},
        {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "2"}},
        {"text": "It is 2."},
    ]


def test_malformed_runs_name_their_param() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}, {
        "role": "assistant", "content": "y", "code_execution": [{"code": 5}]}]}
    with pytest.raises(InvalidRequest) as raised:
        chat_request(body)
    assert raised.value.param == "messages[1].code_execution[0].code"


@pytest.mark.parametrize("tool", ["code_interpreter", "code_execution"])
def test_tool_entry_switches_on_code_execution(tool: str) -> None:
    weather = {"type": "function", "function": {"name": "weather"}}
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": tool}, weather]}
    assert chat_request(body).gemini["tools"] == [
        {"functionDeclarations": [{"name": "weather"}]}, {"codeExecution": {}}]


@pytest.mark.parametrize("extra", [
    {"code_execution": {}},
    {"code_execution": True},
    {"codeExecution": {}},
    {"extra_body": {"google": {"code_execution": {}}}},
    {"extra_body": {"google": {"tools": [{"code_execution": {}}]}}},
    {"tools": [{"type": "code_interpreter"}], "code_execution": {}},  # asked twice: sent once
])
def test_extra_body_switches_on_code_execution(extra: dict[str, Any]) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], **extra}
    assert chat_request(body).gemini["tools"] == [{"codeExecution": {}}]


def test_url_context_and_search_switches() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "url_context"}], "web_search_options": {}}
    assert chat_request(body).gemini["tools"] == [{"urlContext": {}}, {"googleSearch": {}}]
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "url_context": True,
            "code_execution": False}
    assert chat_request(body).gemini["tools"] == [{"urlContext": {}}]


def test_bad_switch_names_its_param() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "url_context": "yes"}
    with pytest.raises(InvalidRequest) as raised:
        chat_request(body)
    assert raised.value.param == "url_context"


def test_url_context_answer_cites_the_page() -> None:
    events = stream("stream-sse-url-context.txt")
    _, chunks = run(events)
    annotations = [a for chunk in chunks for choice in chunk["choices"]
                   for a in choice["delta"].get("annotations", ())]
    assert annotations == [{"type": "url_citation", "url_citation": {
        "start_index": 0, "end_index": 37, "url": "https://ai.pydantic.dev",
        "title": "Pydantic AI"}}]
    assert joined(chunks, "content")[:37] == "Pydantic AI Gateway is now available!"
