"""`--replay DIR`: an httpx transport that answers from recorded exchanges, with no network and no
key (file format and matching rules: `recordings.py`).

The adapter runs exactly as it does live: the recorded status, headers and body go through the
same stream decoder, error mapping and retries. A request with no recording gets a 404 naming
what was asked and how the nearest recording differs; with `fallthrough`, it goes to the live
upstream instead and is recorded, so the next identical request is replayed.

Hand-made catch-all recordings (`"match": "any"`) may adapt their answer to the request:
`"adapt": "embeddings"` gives one recorded vector per text asked for, cut to the requested
`outputDimensionality`; `"adapt": "model"` answers GET models/{id} from a recorded listing.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson

from . import recordings
from .record import Recorder, RecordingTransport
from .translate.errors import AdapterError
from .translate.tools import CODE_EXECUTION, FUNCTIONS

_MAX_DIFFERENCES = 3


def check_directory(directory: Path, fallthrough: bool) -> None:
    """Refuse to replay from a directory that is missing or holds no recording, which would
    answer 404 to everything (ValueError). With `fallthrough` it may start empty: what is
    missing is recorded into it."""
    if fallthrough:
        return
    where = directory.absolute()
    if not directory.is_dir():
        raise ValueError(f"the replay directory {where} does not exist: name one that holds "
                         "recordings with --replay DIR or ADAPTER_REPLAY_DIR")
    if not recordings.load_dir(directory):
        raise ValueError(f"the replay directory {where} holds no recordings (the files "
                         "--record writes): name one that does with --replay DIR or "
                         "ADAPTER_REPLAY_DIR")


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


def _holds(condition: str | None, body: Any) -> bool:
    """Whether a catch-all's `when` holds for a request body."""
    if condition is None:
        return True
    body = body if isinstance(body, dict) else {}
    if condition == "tool_result":
        contents = body.get("contents") or [{}]
        return any("functionResponse" in part for part in contents[-1].get("parts", ()))
    if condition == "tools":
        return any(tool.get(FUNCTIONS) for tool in body.get("tools") or ())
    if condition == "code_execution":
        return any(CODE_EXECUTION in tool for tool in body.get("tools") or ())
    if condition == "image":
        return "IMAGE" in (body.get("generationConfig") or {}).get("responseModalities", ())
    return False


def differences(recorded: Any, asked: Any, where: str = "") -> list[str]:
    """Where two request bodies differ, as paths like `contents[0].parts[0].text`."""
    if isinstance(recorded, dict) and isinstance(asked, dict):
        found = []
        for key in sorted(recorded.keys() | asked.keys()):
            path = f"{where}.{key}" if where else key
            if key not in recorded or key not in asked:
                found.append(path)
            else:
                found += differences(recorded[key], asked[key], path)
        return found
    if isinstance(recorded, list) and isinstance(asked, list) and len(recorded) == len(asked):
        return [d for i, (a, b) in enumerate(zip(recorded, asked, strict=True))
                for d in differences(a, b, f"{where}[{i}]")]
    return [] if recorded == asked else [where or "(the whole body)"]


class _Body(httpx.AsyncByteStream):
    """A recorded body, chunk by chunk, optionally at the recorded pace."""

    def __init__(self, chunks: list[dict[str, Any]], timing: bool) -> None:
        self._chunks = chunks
        self._timing = timing

    async def __aiter__(self) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        for chunk in self._chunks:
            if self._timing and (wait := started + chunk["ms"] / 1000 - loop.time()) > 0:
                await asyncio.sleep(wait)
            yield recordings.chunk_bytes(chunk)


class ReplayTransport(httpx.AsyncBaseTransport):
    """Serves Gemini API requests from a directory of recordings."""

    def __init__(self, directory: Path, timing: bool = False,
                 live: httpx.AsyncBaseTransport | None = None,
                 secrets: tuple[str, ...] = ()) -> None:
        """`live`, when given, answers what has no recording; its answers are recorded."""
        self.directory = directory
        self._timing = timing
        self._fallthrough = None if live is None else RecordingTransport(
            live, Recorder(directory, secrets), on_saved=lambda _, recording: self.add(recording))
        self._exact: dict[str, list[dict[str, Any]]] = {}
        self._served: dict[str, int] = {}
        self._catch_alls: list[dict[str, Any]] = []
        self._loaded = False

    def add(self, recording: dict[str, Any]) -> None:
        """Serve this recording too (recorded in fallthrough mode, or loaded)."""
        if recording.get("match", "request") == "any":
            self._catch_alls.append(recording)
            self._catch_alls.sort(key=lambda r: r.get("when") is None)  # conditions first
        else:
            self._exact.setdefault(recording["key"], []).append(recording)

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            if self.directory.is_dir():
                for _, recording in recordings.load_dir(self.directory):
                    self.add(recording)

    def _find(self, request: httpx.Request, body: Any,
              body_digest: dict[str, Any] | None) -> dict[str, Any] | None:
        path, query = request.url.path, request.url.query.decode()
        key = recordings.match_key(request.method, path, query, body, body_digest)
        if found := self._exact.get(key):
            turn = self._served.get(key, 0)
            self._served[key] = turn + 1
            return found[min(turn, len(found) - 1)]
        _, method = recordings.describe(path)
        for recording in self._catch_alls:
            if recording["request"]["method"] == request.method \
                    and recording.get("method") == method and _holds(recording.get("when"), body):
                return recording
        return None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._load()
        raw = await request.aread()
        body, body_digest = recordings.parse_body(raw)
        recording = self._find(request, body, body_digest)
        if recording is None:
            if self._fallthrough is not None:
                return await self._fallthrough.handle_async_request(request)
            raise self._not_found(request, body)
        response = recording["response"]
        headers = dict(response["headers"])
        if (upload := headers.get(recordings.UPLOAD_URL)) is not None:
            # the next call goes where the request went (this transport), whatever the host
            base = f"{request.url.scheme}://{request.url.netloc.decode()}"
            headers[recordings.UPLOAD_URL] = base + upload
        if (adapt := recording.get("adapt")) is not None:
            return _adapted(adapt, recordings.body_bytes(recording), request, body)
        return httpx.Response(response["status"], headers=headers,
                              stream=_Body(response["chunks"], self._timing))

    def _not_found(self, request: httpx.Request, body: Any) -> AdapterError:
        model, method = recordings.describe(request.url.path)
        same = [r for runs in self._exact.values() for r in runs[:1]
                if r.get("model") == model and r.get("method") == method]
        if not same:
            hint = (f"The directory has no recording of {method} for {model}" +
                    (f"; it has {len(self._exact)} other recorded requests." if self._exact
                     else "; it has no recordings at all."))
        else:
            asked = recordings.normalized(body)
            found = min((differences(recordings.normalized(r["request"]["body"]), asked)
                         for r in same), key=len)
            shown = ", ".join(found[:_MAX_DIFFERENCES]) + (", ..." if len(found) >
                                                           _MAX_DIFFERENCES else "")
            hint = (f"The nearest of the {len(same)} recordings of {method} for {model} differs "
                    f"at {shown or 'the query'}.")
        return AdapterError(
            f"No recording in {self.directory} matches this request ({request.method} "
            f"{model} {method}). {hint} Record it with --record, or replay with "
            "--replay-fallthrough to record what is missing.", 404, code="recording_not_found")

    async def aclose(self) -> None:
        if self._fallthrough is not None:
            await self._fallthrough.aclose()


def _adapted(adapt: str, recorded: bytes, request: httpx.Request, body: Any) -> httpx.Response:
    """A catch-all's answer made to fit the request."""
    if adapt == "embeddings":
        return httpx.Response(200, json=embed_answer(orjson.loads(recorded), body or {}))
    model, _ = recordings.describe(request.url.path)
    for entry in orjson.loads(recorded).get("models", ()):
        if entry.get("name") == f"models/{model}":
            return httpx.Response(200, json=entry)
    return httpx.Response(404, json={"error": {
        "code": 404, "status": "NOT_FOUND",
        "message": f"models/{model} is not found for API version v1beta, or is not supported "
                   "for generateContent. Call ListModels to see the list of available models "
                   "and their supported methods."}})
