"""Helpers shared by the integration tests: the server's key, the tools the tests declare, the
shape every error must have, and a fake upstream reply made from the request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from ..fake_gemini import FakeGemini, Reply

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
