"""The `/v1/responses` bodies the Codex CLI (0.169.0, `wire_api = "responses"`) sends, trimmed
from a recorded run (tests/integration/test_codex.py drives the real CLI), -> the Gemini request.
"""

from __future__ import annotations

from typing import Any

from adapter.translate import tool_ids
from adapter.translate.request import chat_request
from adapter.translate.responses_request import responses_call

SIGNATURE = "CiQBvj72+xCKZ6n2ewHIHg3nIWfu6zy4Znh/TJTlgZMDBj7UcfoK"
CALL_ID = tool_ids.encode(None, SIGNATURE)
EXEC = {"type": "function", "name": "exec_command", "strict": False,
        "description": "Runs a command in a PTY, returning output or a session ID.",
        "parameters": {"type": "object", "properties": {
            "cmd": {"type": "string", "description": "Shell command to execute."}},
            "required": ["cmd"], "additionalProperties": False}}
AGENTS = {"type": "namespace", "name": "multi_agent_v1",
          "description": "Tools for spawning and managing sub-agents.",
          "tools": [{"type": "function", "name": "close_agent", "strict": False,
                     "description": "Close an agent.",
                     "parameters": {"type": "object", "properties": {
                         "target": {"type": "string"}}, "required": ["target"],
                         "additionalProperties": False}}]}


def codex_body(*items: dict[str, Any]) -> dict[str, Any]:
    """A Codex turn: its developer and context messages, then `items`."""
    return {
        "model": "gemini-2.5-flash", "stream": True, "store": False,
        "tools": [EXEC, AGENTS], "tool_choice": "auto", "parallel_tool_calls": True,
        "reasoning": {"summary": "auto"}, "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "01a210d8-dbe0-7ad0-9064-43487c683aae",
        "client_metadata": {"thread_id": "01a210d8", "turn_id": "01a210d9"},
        "input": [
            {"type": "message", "id": "msg_1", "role": "developer", "content": [
                {"type": "input_text", "text": "You are a coding agent."}]},
            {"type": "message", "id": "msg_2", "role": "developer", "content": [
                {"type": "input_text", "text": "<skills_instructions/>"},
                {"type": "input_text", "text": "<permissions instructions/>"}]},
            {"type": "message", "id": "msg_3", "role": "user", "content": [
                {"type": "input_text", "text": "<environment_context/>"}]},
            {"type": "message", "id": "msg_4", "role": "user", "content": [
                {"type": "input_text", "text": "Run echo adapter-ok."}]},
            *items]}


def gemini(body: dict[str, Any]) -> dict[str, Any]:
    return chat_request(responses_call(body, []).chat).gemini


def test_first_turn() -> None:
    request = gemini(codex_body())
    system = [part["text"] for part in request["systemInstruction"]["parts"]]
    assert "You are a coding agent." in system[0]
    assert "<permissions instructions/>" in "".join(system)
    assert request["contents"] == [{"role": "user", "parts": [
        {"text": "<environment_context/>"}, {"text": "Run echo adapter-ok."}]}]
    [tools] = request["tools"]
    assert [f["name"] for f in tools["functionDeclarations"]] == ["exec_command", "close_agent"]
    # Codex asks for summaries without an effort: thoughts are included at the model's effort.
    assert request["generationConfig"]["thinkingConfig"] == {"includeThoughts": True}


def test_turn_after_a_shell_call_with_reasoning() -> None:
    request = gemini(codex_body(
        {"type": "reasoning", "id": "rs_1", "summary": [
            {"type": "summary_text", "text": "**Running it**"}],
         "content": None, "encrypted_content": None},
        {"type": "function_call", "status": "completed", "id": "fc_1", "name": "exec_command",
         "arguments": '{"cmd":"echo adapter-ok"}', "call_id": CALL_ID},
        {"type": "function_call_output", "id": "fco_1", "call_id": CALL_ID,
         "output": "Process exited with code 0\nOutput:\nadapter-ok\n"}))
    assert request["contents"][1:] == [
        {"role": "model", "parts": [{
            "functionCall": {"name": "exec_command", "args": {"cmd": "echo adapter-ok"}},
            "thoughtSignature": SIGNATURE}]},
        {"role": "user", "parts": [{"functionResponse": {
            "name": "exec_command",
            "response": {"content": "Process exited with code 0\nOutput:\nadapter-ok\n"}}}]}]


def test_call_of_a_namespaced_tool_comes_back_with_its_namespace() -> None:
    request = gemini(codex_body(
        {"type": "function_call", "status": "completed", "id": "fc_1", "name": "close_agent",
         "namespace": "multi_agent_v1", "arguments": '{"target":"a1"}', "call_id": CALL_ID},
        {"type": "function_call_output", "id": "fco_1", "call_id": CALL_ID,
         "output": "closed"}))
    model_turn, results = request["contents"][1:]
    assert model_turn["parts"][0]["functionCall"] == {"name": "close_agent",
                                                      "args": {"target": "a1"}}
    assert results["parts"][0]["functionResponse"]["name"] == "close_agent"


def test_namespaced_function_calls_come_back_with_their_namespace() -> None:
    """Codex runs a namespaced tool (its sub-agent tools) only when the call names it."""
    from adapter.translate.responses_request import responses_call
    from adapter.translate.responses_stream import ResponsesEmitter

    spawn = {"type": "function", "name": "spawn_agent", "parameters": {"type": "object"}}
    call = responses_call({"model": "gemini-2.5-flash", "input": "go", "tools": [
        {"type": "namespace", "name": "multi_agent_v1", "tools": [spawn]},
        {"type": "function", "name": "exec_command", "parameters": {"type": "object"}}]}, [])
    assert call.namespaces == {"spawn_agent": "multi_agent_v1"}
    emitter = ResponsesEmitter("gemini-2.5-flash", call.echo, call.custom_tools, call.namespaces)
    for name in ("spawn_agent", "exec_command"):
        emitter.feed({"choices": [{"index": 0, "finish_reason": None, "delta": {"tool_calls": [
            {"index": 0, "id": f"call_{name}", "type": "function",
             "function": {"name": name, "arguments": "{}"}}]}}]})
    spawned, executed = emitter.response["output"]
    assert spawned["namespace"] == "multi_agent_v1"
    assert "namespace" not in executed
