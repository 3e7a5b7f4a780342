"""An offline Gemini upstream that answers from recorded responses in `fixtures/`.

It is an httpx transport, so the adapter runs exactly as it does live, minus the network. Which
recording answers a generate request depends only on the request's shape:

- the last turn sends function results -> the answer that follows a tool result;
- the request declares tools            -> a recorded function call;
- anything else                         -> a recorded text answer.

`batchEmbedContents` answers with the recorded embeddings, repeated or cut to one per requested
text and to each request's `outputDimensionality` (more than 100 texts: Gemini's 400, recorded).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson

TEXT = "stream-sse-text.txt"
TOOL_CALL = "stream-sse-tool-call.txt"
AFTER_TOOL_RESULT = "stream-sse-text-after-tool-result.txt"
MODELS = "models-list.json"
EMBEDDINGS = "batch-embed-contents.json"
TOO_MANY_TO_EMBED = "error-400-batch-embed-too-many-requests.json"

_GENERATE = re.compile(r"/v1beta/models/([^/:]+):streamGenerateContent$")
_MODEL = re.compile(r"/v1beta/models/([^/:]+)$")
_EMBED = re.compile(r"/v1beta/models/([^/:]+):batchEmbedContents$")


def choose_recording(body: dict[str, Any]) -> str:
    """The recording that answers a GenerateContentRequest."""
    contents = body.get("contents") or [{}]
    if any("functionResponse" in part for part in contents[-1].get("parts", ())):
        return AFTER_TOOL_RESULT
    if any(tool.get("functionDeclarations") for tool in body.get("tools") or ()):
        return TOOL_CALL
    return TEXT


def embed_answer(recording: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A BatchEmbedContentsResponse for `body` made from a recorded one: its vectors in turn, one
    per request, each repeated or cut to the request's `outputDimensionality` when it has one."""
    vectors = itertools.cycle([e["values"] for e in recording["embeddings"]])
    embeddings = []
    for request, values in zip(body.get("requests") or (), vectors, strict=False):
        if size := request.get("outputDimensionality"):
            values = list(itertools.islice(itertools.cycle(values), size))
        embeddings.append({"values": values})
    answer: dict[str, Any] = {"embeddings": embeddings}
    if "usageMetadata" in recording:
        answer["usageMetadata"] = recording["usageMetadata"]
    return answer


def _not_found(path: str) -> dict[str, Any]:
    """A Gemini NOT_FOUND body, as the live API words it, for a path with no recording."""
    name = path.split("/v1beta/", 1)[-1].split(":", 1)[0]
    return {"error": {
        "code": 404,
        "message": f"{name} is not found for API version v1beta, or is not supported for "
                   "generateContent. Call ListModels to see the list of available models and "
                   "their supported methods.",
        "status": "NOT_FOUND",
    }}


class _EventStream(httpx.AsyncByteStream):
    """Sends a recorded SSE body one event at a time, as the live API does."""

    def __init__(self, raw: bytes) -> None:
        self._events = [event + b"\r\n\r\n" for event in raw.split(b"\r\n\r\n") if event.strip()]

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for event in self._events:
            yield event


class ReplayTransport(httpx.AsyncBaseTransport):
    """Serves Gemini API paths from a directory of recordings; never touches the network."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: dict[str, bytes] = {}

    def _read(self, name: str) -> bytes:
        if name not in self._cache:
            self._cache[name] = (self.directory / name).read_bytes()
        return self._cache[name]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and _GENERATE.search(path):
            body = orjson.loads(await request.aread())
            raw = self._read(choose_recording(body))
            return httpx.Response(200, headers={"content-type": "text/event-stream"},
                                  stream=_EventStream(raw))
        if request.method == "POST" and _EMBED.search(path):
            body = orjson.loads(await request.aread())
            if len(body.get("requests") or ()) > 100:
                return httpx.Response(400, content=self._read(TOO_MANY_TO_EMBED),
                                      headers={"content-type": "application/json"})
            return httpx.Response(200, json=embed_answer(orjson.loads(self._read(EMBEDDINGS)),
                                                         body))
        if request.method == "GET" and path.endswith("/v1beta/models"):
            listing = orjson.loads(self._read(MODELS))
            listing.pop("nextPageToken", None)
            return httpx.Response(200, json=listing)
        if request.method == "GET" and (match := _MODEL.search(path)):
            for model in orjson.loads(self._read(MODELS))["models"]:
                if model["name"] == f"models/{match.group(1)}":
                    return httpx.Response(200, json=model)
        return httpx.Response(404, json=_not_found(path))
