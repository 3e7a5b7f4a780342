"""`python -m adapter` as users start it: offline replay, and several workers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import openai

from ..processes import adapter_process
from ..servers import free_port

HELLO = [{"role": "user", "content": "What is the capital of France?"}]


def test_replay_mode_needs_no_key_and_no_network() -> None:
    unreachable = {"GEMINI_BASE_URL": f"http://127.0.0.1:{free_port()}"}
    with adapter_process("--replay", env=unreachable) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        completion = client.chat.completions.create(model="gemini-2.5-flash", messages=HELLO)
        assert completion.choices[0].message.content == "The capital of France is Paris.\n"
        chunks = list(client.chat.completions.create(
            model="gemini-2.5-flash", messages=HELLO, stream=True,
            stream_options={"include_usage": True}))
        assert "".join(c.choices[0].delta.content for c in chunks if c.choices) == \
            "The capital of France is Paris.\n"
        assert chunks[-1].usage.total_tokens == 21
        assert "gemini-2.5-flash" in [m.id for m in client.models.list().data]


def test_replay_mode_answers_tools_with_a_recorded_call() -> None:
    tools = [{"type": "function", "function": {
        "name": "weather", "parameters": {"type": "object", "properties": {
            "location": {"type": "string"}}}}}]
    with adapter_process("--replay") as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        completion = client.chat.completions.create(
            model="gemini-2.5-flash", messages=HELLO, tools=tools)
        [call] = completion.choices[0].message.tool_calls
        assert call.function.name == "weather"
        assert completion.choices[0].finish_reason == "tool_calls"
        answer = client.chat.completions.create(model="gemini-2.5-flash", tools=tools, messages=[
            *HELLO, completion.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "40 C"}])
        assert answer.choices[0].message.content == "The weather in Florence,Italy is 40 C."


def test_several_workers_serve() -> None:
    with adapter_process("--replay", "--workers", "2") as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        for _ in range(6):
            completion = client.chat.completions.create(model="gemini-2.5-flash", messages=HELLO)
            assert completion.choices[0].finish_reason == "stop"


def start_failure(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Start `python -m adapter` expecting it to refuse: its exit status and what it printed."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "ADAPTER_"))}
    process = subprocess.run(
        [sys.executable, "-m", "adapter", "--port", str(free_port()), *args],
        env={**environ, **(env or {})}, capture_output=True, text=True, timeout=30)
    return process.returncode, process.stderr


def test_replaying_a_missing_directory_is_refused_at_start(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent"
    status, printed = start_failure("--replay", str(missing))
    assert status == 1
    assert f"the replay directory {missing} does not exist" in printed


def test_replaying_a_directory_without_recordings_is_refused_at_start(tmp_path: Path) -> None:
    (tmp_path / "answer.json").write_text('{"candidates": []}')  # JSON, but not a recording
    status, printed = start_failure(
        env={"ADAPTER_UPSTREAM": "replay", "ADAPTER_REPLAY_DIR": str(tmp_path)})
    assert status == 1
    assert f"the replay directory {tmp_path} holds no recordings" in printed
