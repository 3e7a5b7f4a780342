"""Gemini's Files API and Batch Mode: streamed resumable uploads, file listing and download,
batch jobs. Every call goes through the process's one GeminiClient (its pooled httpx client,
the key in `x-goog-api-key`, its slots and its error mapping)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from .translate.errors import AdapterError, FileTooLarge
from .upstream import GeminiClient, let_go, transport_error

PIECE_BYTES = 8 * 1024 * 1024  # Gemini's upload granularity (X-Goog-Upload-Chunk-Granularity)

GEMINI_FILE_MAX_BYTES = 2 << 30  # Gemini's limit on one file
_FILE = re.compile(r"files/[a-z0-9-]{1,64}")
_BATCH = re.compile(r"batches/[a-z0-9-]{1,64}")
_MODEL = re.compile(r"[A-Za-z0-9._-]{1,128}")


def _name(name: str, pattern: re.Pattern[str]) -> str:
    """A resource name safe to put in a path; anything else is a resource that does not exist
    (the adapter builds names from ids it has checked, so this is a second guard)."""
    if not pattern.fullmatch(name):
        raise AdapterError(f"No such resource: {name!r}.", 404, code="not_found")
    return name


def _bad(what: str) -> AdapterError:
    return AdapterError(f"Gemini's {what} answer is not what its API documents.", 502,
                        code="upstream_bad_response")


class GeminiFiles:
    """Files and batches on Gemini, for one upstream key per call."""

    def __init__(self, client: GeminiClient) -> None:
        self._client = client
        self._http: httpx.AsyncClient = client._http

    def _request(self, method: str, url: str, key: str, *, body: Any = None,
                 content: bytes | None = None, params: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> httpx.Request:
        """A request with the key in its header (never in the URL) and, if given, a JSON
        `body` or raw `content`."""
        extra = {"content-type": "application/json"} if body is not None else {}
        return self._http.build_request(
            method, url, params=params,
            content=orjson.dumps(body) if body is not None else content,
            headers={**self._client._headers(key), **extra, **(headers or {})})

    async def _call(self, method: str, path: str, key: str, *, body: Any = None,
                    params: dict[str, Any] | None = None) -> dict[str, Any]:
        """One call whose answer is a JSON object."""
        request = self._request(method, f"{self._client.base_url}{path}", key, body=body,
                                params=params)
        async with self._client._slot():
            answer = await self._client._json(request, key)
        if not isinstance(answer, dict):
            raise _bad(f"{method} {path.split('/')[-1].split(':')[-1]}")
        return answer

    async def _send(self, request: httpx.Request, key: str) -> httpx.Response:
        async with self._client._slot():
            response = await self._client._send(request, key, stream=False)
        let_go(response)
        return response

    # Files

    async def upload(self, chunks: AsyncIterator[bytes], mime: str, display_name: str,
                     key: str, *, max_bytes: int, piece_bytes: int = PIECE_BYTES,
                     ) -> dict[str, Any]:
        """Stream `chunks` to Gemini with the resumable protocol and return the File: a start
        (no length declared), then pieces of exactly `piece_bytes` (`upload`), the last one
        `upload, finalize`. At most one piece (and the chunk that overflows it) is held. Past
        `max_bytes` the upload is cancelled upstream and 413 `file_too_large` is raised."""
        start = self._request(
            "POST", f"{self._client.base_url}/upload/v1beta/files", key,
            body={"file": {"display_name": display_name}},
            headers={"x-goog-upload-protocol": "resumable", "x-goog-upload-command": "start",
                     "x-goog-upload-header-content-type": mime})
        url = (await self._send(start, key)).headers.get("x-goog-upload-url")
        if not url:
            raise _bad("upload start")
        buffer = bytearray()
        offset = 0
        try:
            async for chunk in chunks:
                buffer += chunk
                if offset + len(buffer) > max_bytes:
                    raise FileTooLarge(max_bytes)
                while len(buffer) > piece_bytes:  # more follows this piece: not the last
                    with memoryview(buffer) as view:
                        piece = view[:piece_bytes].tobytes()
                    del buffer[:piece_bytes]
                    await self._send(self._piece(url, key, piece, offset, "upload"), key)
                    offset += piece_bytes
            request = self._piece(url, key, bytes(buffer), offset, "upload, finalize")
            buffer.clear()
            async with self._client._slot():
                answer = await self._client._json(request, key)
        except Exception:
            await self._cancel(url, key)
            raise
        file = answer.get("file") if isinstance(answer, dict) else None
        if not isinstance(file, dict) or not isinstance(file.get("name"), str):
            raise _bad("upload finalize")
        return file

    def _piece(self, url: str, key: str, piece: bytes, offset: int,
               command: str) -> httpx.Request:
        return self._request("POST", url, key, content=piece, headers={
            "x-goog-upload-command": command, "x-goog-upload-offset": str(offset)})

    async def _cancel(self, url: str, key: str) -> None:
        """Cancel an upload under way (best effort: the error that stopped it is the one the
        caller sees, and Gemini drops an abandoned upload anyway)."""
        cancel = self._request("POST", url, key, headers={"x-goog-upload-command": "cancel"})
        with contextlib.suppress(AdapterError):
            await self._send(cancel, key)

    async def get(self, name: str, key: str) -> dict[str, Any]:
        """files.get: the bare File."""
        return await self._call("GET", f"/v1beta/{_name(name, _FILE)}", key)

    async def list(self, page_token: str | None, page_size: int, key: str) -> dict[str, Any]:
        """files.list: `{"files": [...], "nextPageToken"?}` (`files` absent when none)."""
        params: dict[str, Any] = {"pageSize": page_size}
        if page_token:
            params["pageToken"] = page_token
        return await self._call("GET", "/v1beta/files", key, params=params)

    async def delete(self, name: str, key: str) -> None:
        """files.delete."""
        await self._call("DELETE", f"/v1beta/{_name(name, _FILE)}", key)

    async def download(self, name: str, key: str) -> AsyncIterator[bytes]:
        """files.download of a GENERATED file: its bytes as they arrive. Nothing is sent
        before the first `__anext__`, which raises Gemini's refusal before any byte comes;
        the upstream response is closed when the iteration ends, however it ends."""
        url = f"{self._client.base_url}/download/v1beta/{_name(name, _FILE)}:download"
        request = self._request("GET", url, key, params={"alt": "media"})
        async with self._client._slot():
            response = await self._client._send(request, key, stream=True)
            try:
                async for data in response.aiter_bytes():
                    yield data
            except httpx.HTTPError as exc:
                raise transport_error(exc, self._client.base_url, streaming=True) from None
            finally:
                await response.aclose()
                let_go(response)

    # Batch Mode

    async def create_batch(self, model: str, file_name: str, display_name: str,
                           key: str) -> dict[str, Any]:
        """models.batchGenerateContent over an uploaded JSONL of `{"key", "request"}` lines:
        the PENDING Operation."""
        return await self._create(model, "batchGenerateContent", file_name, display_name, key)

    async def create_embed_batch(self, model: str, file_name: str, display_name: str,
                                 key: str) -> dict[str, Any]:
        """models.asyncBatchEmbedContent, likewise."""
        return await self._create(model, "asyncBatchEmbedContent", file_name, display_name,
                                  key)

    async def _create(self, model: str, method: str, file_name: str, display_name: str,
                      key: str) -> dict[str, Any]:
        body = {"batch": {"displayName": display_name,
                          "inputConfig": {"fileName": _name(file_name, _FILE)}}}
        path = f"/v1beta/models/{quote(_name(model, _MODEL))}:{method}"
        return await self._call("POST", path, key, body=body)

    async def get_batch(self, name: str, key: str) -> dict[str, Any]:
        """batches.get: the Operation (`done` once finished)."""
        return await self._call("GET", f"/v1beta/{_name(name, _BATCH)}", key)

    async def cancel_batch(self, name: str, key: str) -> dict[str, Any]:
        """batches.cancel (`{}`); the batch then reads BATCH_STATE_CANCELLED."""
        return await self._call("POST", f"/v1beta/{_name(name, _BATCH)}:cancel", key)

    async def list_batches(self, page_token: str | None, page_size: int,
                           key: str) -> dict[str, Any]:
        """batches.list: `{"operations": [...], "nextPageToken"?}`."""
        params: dict[str, Any] = {"pageSize": page_size}
        if page_token:
            params["pageToken"] = page_token
        return await self._call("GET", "/v1beta/batches", key, params=params)
