"""Helpers shared by the integration tests: the server's key, the tools the tests declare, the
shape every error must have, a fake upstream reply made from the request, and a fleet of adapter
processes."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
from openai.types import FileObject

from ..fake_gemini import FakeGemini, Reply, fixture_bytes
from ..processes import Running, adapter_process

SERVER_KEY = "server-gemini-key-123"  # the adapter's own Gemini key (GEMINI_API_KEY)

ADD_AND_MULTIPLY = [
    {"type": "function", "function": {
        "name": name, "description": f"{name.capitalize()} two numbers",
        "parameters": {"type": "object", "properties": {
            "a": {"type": "integer", "description": "first number"},
            "b": {"type": "integer", "description": "second number"}},
            "required": ["a", "b"], "additionalProperties": False, "$schema":
            "http://json-schema.org/draft-07/schema#"}}}
    for name in ("add", "multiply")
]


WEATHER = [{"type": "function", "function": {
    "name": "weather", "description": "Get the weather",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                   "required": ["location"]}}}]


def assert_openai_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is an OpenAI-shaped error with this status; returns its `error` object."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    # OpenAI's four fields; Gemini's status and reason may stand beside them (clients ignore
    # fields they do not know).
    assert {"message", "type", "param", "code"} <= set(error) <= {
        "message", "type", "param", "code", "gemini_status", "gemini_reason"}
    assert error["message"]
    return error


class Echo:
    """Stands in for the fake's reply queue: makes each reply from the request it answers.

    The fake records a request in `seen` and takes its reply right after, with nothing in between,
    so `seen[-1]` is the request being answered. Also notes how many other upstream calls were
    still open when each one arrived.
    """

    def __init__(self, fake: FakeGemini, make: Callable[[dict[str, Any]], Reply]) -> None:
        self.fake = fake
        self.make = make
        self.open_on_arrival: list[int] = []

    def __bool__(self) -> bool:
        return True

    def popleft(self) -> Reply:
        self.open_on_arrival.append(self.fake.open_streams)
        return self.make(self.fake.seen[-1].body)

    def clear(self) -> None:
        pass


class Fleet:
    """`count` adapter processes, each as if on its own host (its own SQLite file unless the env
    names a store); each can be stopped and started again (on a new port)."""

    def __init__(self, count: int, env: dict[str, str], home: Path) -> None:
        self.env = env
        self.home = home
        self.stacks = [ExitStack() for _ in range(count)]
        self.urls = [self._run(i) for i in range(count)]

    def _run(self, index: int) -> Running:
        """Start replica `index`, with its own SQLite file unless the env names a store."""
        env = {"ADAPTER_STORE": str(self.home / f"replica-{index}.sqlite3"),
               "ADAPTER_REPLICA_NAME": f"replica-{index}", **self.env}
        return self.stacks[index].enter_context(adapter_process(
            env=env, output=self.home / f"replica-{index}-{time.monotonic_ns()}.log"))

    def restart(self, index: int) -> Running:
        """SIGTERM replica `index`, wait until it has exited, start it again (on a new port)."""
        self.stacks[index].close()
        self.urls[index] = self._run(index)
        return self.urls[index]

    def close(self) -> None:
        for url in self.urls:  # all at once: each may drain for a while
            url.process.terminate()
        for stack in self.stacks:
            stack.close()


# Files and batches (test_files_batches*.py)

BATCH_MODEL = "gemini-2.5-flash"
PDF = fixture_bytes("files-upload-finalize.http.txt")[:2000]  # some bytes; the fake keeps them


def chat_line(custom_id: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": BATCH_MODEL, "messages": [{"role": "user", "content": text}],
                     **extra}}


def jsonl(*lines: Any) -> bytes:
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


def upload_batch_input(client: openai.OpenAI, content: bytes) -> FileObject:
    return client.files.create(file=("input.jsonl", io.BytesIO(content)), purpose="batch")
