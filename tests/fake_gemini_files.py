"""The fake Gemini's Files API and Batch Mode: a state machine shaped by the recordings in
`fixtures/gemini/` (files-*, batch-*; see SOURCES.md) and, where nothing was recorded, by
Google's API reference (chunked uploads, cancel, files.list paging, batches.list/cancel,
embedding batches, per-line errors).

Everything belongs to the API key that made it: another key sees none of it. `FakeGemini`
hands every Files/Batch request here (`owns`) and sends the `Answer`.
"""

from __future__ import annotations

import base64
import collections
import copy
import hashlib
import itertools
import re
import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import orjson

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gemini"
FAIL = "FAIL-IN-GEMINI"  # an input request containing this gets a per-line error
_ALNUM = string.ascii_lowercase + string.digits
_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main."
_JSON = "application/json; charset=UTF-8"


def _recorded(name: str) -> Any:
    return orjson.loads((FIXTURES / name).read_bytes())


_SUCCEEDED = _recorded("batch-get-succeeded-responses-file.json")


def _in_recorded_order(operation: dict[str, Any]) -> dict[str, Any]:
    """The Operation with its fields (and its metadata's) in the order recorded for a
    file-based batch."""
    metadata = operation["metadata"]
    order = list(_SUCCEEDED["metadata"])
    operation["metadata"] = dict(sorted(metadata.items(), key=lambda kv: order.index(kv[0])))
    order = list(_SUCCEEDED)
    return dict(sorted(operation.items(), key=lambda kv: order.index(kv[0])))


def _id(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def _time(at: datetime, nanos: bool = False) -> str:
    """RFC 3339 as Gemini writes it: microseconds (nanoseconds for expirationTime), Z."""
    text = at.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return f"{text}000Z" if nanos else f"{text}Z"


@dataclass
class Answer:
    """What the fake sends back; `FakeGemini` turns it into a Reply."""

    status: int = 200
    chunks: list[bytes] = field(default_factory=list)
    content_type: str = _JSON
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, **headers: str) -> Answer:
        return cls(status, [orjson.dumps(payload, option=orjson.OPT_INDENT_2) + b"\n"],
                   headers=headers)

    @classmethod
    def error(cls, status: int, gstatus: str, message: str) -> Answer:
        return cls.json({"error": {"code": status, "message": message, "status": gstatus}},
                        status)


def _denied(what: str, ident: str) -> Answer:
    """Gemini's answer for a file that is another project's or does not exist (quoted in
    googleapis/python-genai#1218; a recording was not found)."""
    return Answer.error(403, "PERMISSION_DENIED", f"You do not have permission to access the "
                        f"{what} {ident} or it may not exist.")


@dataclass
class StoredFile:
    owner: str
    resource: dict[str, Any]
    content: bytes


@dataclass
class Upload:
    owner: str
    display_name: str | None
    mime: str
    received: bytearray = field(default_factory=bytearray)


@dataclass
class Batch:
    owner: str
    operation: dict[str, Any]
    embed: bool
    lines: list[dict[str, Any]]
    host: str  # where the results file's uri points
    polls: int = 0


class FakeFiles:
    """Files and batches held by the fake, per API key."""

    def __init__(self) -> None:
        self.files: dict[str, StoredFile] = {}  # by id
        self.uploads: dict[str, Upload] = {}  # by upload_id
        self.batches: dict[str, Batch] = {}  # by id
        self.uploaded: list[dict[str, Any]] = []  # every File finalized, in order
        self.granularity = 8388608  # recorded X-Goog-Upload-Chunk-Granularity
        self.batch_polls = 1  # batches.get answers RUNNING this many times, then SUCCEEDED
        self.processing_gets = 0  # files.get answers PROCESSING this many times after upload
        self._processing: dict[str, int] = {}  # file id -> PROCESSING answers still to give
        self.batch_responses: collections.deque[dict[str, Any]] = collections.deque()
        self._recorded = itertools.cycle(
            orjson.loads(line)["response"]
            for line in (FIXTURES / "batch-results-file.jsonl").read_bytes().splitlines())

    @staticmethod
    def owns(path: str) -> bool:
        return (path.startswith(("/upload/v1beta/files", "/v1beta/files", "/v1beta/batches",
                                 "/download/v1beta/files/"))
                or path.endswith((":batchGenerateContent", ":asyncBatchEmbedContent")))

    def answer(self, method: str, path: str, query: str, headers: dict[str, str],
               body: bytes) -> Answer:
        key = headers.get("x-goog-api-key", "")
        params = {k: v[0] for k, v in parse_qs(query).items()}
        if path == "/upload/v1beta/files":
            if headers.get("x-goog-upload-command") == "start":
                return self._start(key, headers, body)
            return self._upload(params.get("upload_id", ""), headers, body)
        if match := re.fullmatch(r"/download/v1beta/files/([^/:]+):download", path):
            return self._download(key, match[1])
        if method == "GET" and path == "/v1beta/files":
            return self._list_files(key, params)
        if match := re.fullmatch(r"/v1beta/files/([^/:]+)", path):
            return self._file(method, key, match[1])
        if match := re.fullmatch(r"/v1beta/models/([^/:]+):(batchGenerateContent|"
                                 r"asyncBatchEmbedContent)", path):
            return self._create_batch(key, match[1], match[2] != "batchGenerateContent",
                                      headers["host"], body)
        if method == "GET" and path == "/v1beta/batches":
            return self._list_batches(key, params)
        if match := re.fullmatch(r"/v1beta/batches/([a-z0-9-]+)(:cancel)?", path):
            return self._batch(method, key, match[1], bool(match[2]))
        return Answer.error(404, "NOT_FOUND", f"No method {method} {path}.")

    # Files

    def _start(self, key: str, headers: dict[str, str], body: bytes) -> Answer:
        """The recorded start answer (files-upload-start.http.txt) with a new upload id."""
        file = orjson.loads(body).get("file", {}) if body else {}
        upload_id = _id(len("AJjja9YwCn3agIByt2hc41EpUn9nOYtWyvyNXZpPi4quEw7FDpXBISrsxvPpIX1R"))
        self.uploads[upload_id] = Upload(
            key, file.get("display_name") or file.get("displayName"),
            headers.get("x-goog-upload-header-content-type") or file.get("mime_type")
            or "application/octet-stream")
        url = (f"http://{headers['host']}/upload/v1beta/files?upload_id={upload_id}"
               "&upload_protocol=resumable")
        return Answer(content_type="text/plain; charset=utf-8", headers={
            "x-guploader-uploadid": upload_id, "x-goog-upload-status": "active",
            "x-goog-upload-url": url, "x-goog-upload-control-url": url,
            "x-goog-upload-chunk-granularity": str(self.granularity)})

    def _upload(self, upload_id: str, headers: dict[str, str], body: bytes) -> Answer:
        """`upload` (more to come), `upload, finalize` (the last piece) or `cancel`, as
        Google's resumable protocol has them; each piece's offset must be what was
        received so far, and a piece before the last a multiple of the granularity."""
        upload = self.uploads.get(upload_id)
        if upload is None:
            return Answer.error(404, "NOT_FOUND", "No such upload session.")
        commands = {c.strip() for c in headers.get("x-goog-upload-command", "").split(",")}
        if "cancel" in commands:
            del self.uploads[upload_id]
            return Answer(content_type="text/plain; charset=utf-8",
                          headers={"x-goog-upload-status": "cancelled"})
        if headers.get("x-goog-upload-offset") != str(len(upload.received)):
            return Answer.error(400, "INVALID_ARGUMENT", "The upload offset does not match "
                                f"the {len(upload.received)} bytes received.")
        if "finalize" not in commands and len(body) % self.granularity:
            return Answer.error(400, "INVALID_ARGUMENT", "A piece before the last must be a "
                                f"multiple of {self.granularity} bytes.")
        upload.received += body
        if "finalize" not in commands:
            return Answer(content_type="text/plain; charset=utf-8",
                          headers={"x-goog-upload-status": "active"})
        del self.uploads[upload_id]
        file = self._store(upload.owner, _id(12), bytes(upload.received), upload.mime,
                           upload.display_name, headers["host"], "UPLOADED")
        self.uploaded.append(file)
        return Answer.json({"file": file}, **{"x-goog-upload-status": "final"})

    def _store(self, owner: str, ident: str, content: bytes, mime: str,
               display_name: str | None, host: str, source: str) -> dict[str, Any]:
        """A File shaped like the recorded finalize answer, fields in the recorded order."""
        now = datetime.now(UTC)
        file: dict[str, Any] = _recorded("files-upload-finalize-response.json")["file"]
        file.update(
            name=f"files/{ident}", displayName=display_name, mimeType=mime,
            sizeBytes=str(len(content)), createTime=_time(now), updateTime=_time(now),
            expirationTime=_time(now + timedelta(hours=48), nanos=True),
            sha256Hash=base64.b64encode(hashlib.sha256(content).hexdigest().encode()).decode(),
            uri=f"http://{host}/v1beta/files/{ident}", state="ACTIVE", source=source)
        if display_name is None:
            del file["displayName"]  # omitted when none was given, as recorded
        self.files[ident] = StoredFile(owner, file, content)
        if source == "UPLOADED" and self.processing_gets:
            self._processing[ident] = self.processing_gets
        return copy.deepcopy(file)

    def _mine(self, key: str, ident: str) -> StoredFile | None:
        stored = self.files.get(ident)
        return stored if stored is not None and stored.owner == key else None

    def _file(self, method: str, key: str, ident: str) -> Answer:
        stored = self._mine(key, ident)
        if stored is None:
            return _denied("File", ident)
        if method == "DELETE":
            del self.files[ident]
            return Answer(chunks=[(FIXTURES / "files-delete-response.json").read_bytes()])
        if self._processing.get(ident):
            self._processing[ident] -= 1
            return Answer.json({**stored.resource, "state": "PROCESSING"})
        return Answer.json(stored.resource)

    def _list_files(self, key: str, params: dict[str, str]) -> Answer:
        """Newest first (as recorded); pageSize 1..100, default 10 (API reference)."""
        files = [f.resource for f in reversed(self.files.values()) if f.owner == key]
        page, token = _page(files, params)
        listing: dict[str, Any] = {"files": page} if page else {}
        return Answer.json(listing | ({"nextPageToken": token} if token else {}))

    def _download(self, key: str, ident: str) -> Answer:
        stored = self._mine(key, ident)
        if stored is None:
            return _denied("File", ident)
        if stored.resource["source"] != "GENERATED":
            return Answer(400, [(FIXTURES / "files-download-error-400-only-generated.json")
                                .read_bytes()])
        content = stored.content
        return Answer(chunks=[content[i:i + 65536] for i in range(0, len(content), 65536)],
                      content_type="application/octet-stream")

    # Batches

    def _create_batch(self, key: str, model: str, embed: bool, host: str,
                      body: bytes) -> Answer:
        """The recorded PENDING Operation (batch-create-inline-response.json) for a batch
        whose input is an uploaded JSONL of `{"key", "request"}` lines."""
        batch = orjson.loads(body).get("batch", {})
        file_name = batch.get("inputConfig", {}).get("fileName", "")
        stored = self._mine(key, file_name.removeprefix("files/"))
        if stored is None:
            return _denied("File", file_name)
        try:
            lines = [orjson.loads(line) for line in stored.content.splitlines() if line.strip()]
        except orjson.JSONDecodeError:
            return Answer.error(400, "INVALID_ARGUMENT", "The input file is not JSON Lines.")
        if not lines or not all(isinstance(line, dict) and "request" in line for line in lines):
            return Answer.error(400, "INVALID_ARGUMENT", "Each line needs a request.")
        ident = _id(36)
        now = _time(datetime.now(UTC))
        operation = _recorded("batch-create-inline-response.json")
        metadata = operation["metadata"]
        metadata.update({
            "@type": _TYPE + ("EmbedContentBatch" if embed else "GenerateContentBatch"),
            "model": f"models/{model}", "displayName": batch.get("displayName"),
            "inputConfig": {"fileName": file_name}, "createTime": now, "updateTime": now,
            "batchStats": {"requestCount": str(len(lines)),
                           "pendingRequestCount": str(len(lines))},
            "state": "BATCH_STATE_PENDING", "name": f"batches/{ident}"})
        if metadata["displayName"] is None:
            del metadata["displayName"]  # absent when none was sent, as recorded
        operation["name"] = f"batches/{ident}"
        operation = _in_recorded_order(operation)
        self.batches[ident] = Batch(key, operation, embed, lines, host)
        return Answer.json(operation)

    def _batch(self, method: str, key: str, ident: str, cancel: bool) -> Answer:
        batch = self.batches.get(ident)
        if batch is None or batch.owner != key:
            return Answer.error(404, "NOT_FOUND", f"Batch batches/{ident} not found.")
        if cancel:
            if method != "POST":
                return Answer.error(404, "NOT_FOUND", f"No method {method} :cancel.")
            if not batch.operation.get("done"):
                self._finish(batch, "BATCH_STATE_CANCELLED")
            return Answer.json({})
        if method != "GET":
            return Answer.error(404, "NOT_FOUND", f"No method {method} on a batch.")
        if not batch.operation.get("done"):
            batch.polls += 1
            if batch.polls <= self.batch_polls:
                batch.operation["metadata"]["state"] = "BATCH_STATE_RUNNING"
            else:
                self._complete(batch, ident)
        return Answer.json(batch.operation)

    def _finish(self, batch: Batch, state: str) -> None:
        metadata = batch.operation["metadata"]
        now = _time(datetime.now(UTC))
        metadata.update(state=state, endTime=now, updateTime=now)
        batch.operation["done"] = True
        batch.operation = _in_recorded_order(batch.operation)

    def _complete(self, batch: Batch, ident: str) -> None:
        """SUCCEEDED as recorded (batch-get-succeeded-responses-file.json), with the results
        file `files/batch-<id>` written: one line per input line, in order."""
        results = [self._result(line, batch.embed) for line in batch.lines]
        failed = sum("error" in line for line in results)
        content = b"".join(orjson.dumps(line) + b"\n" for line in results)
        self._store(batch.owner, f"batch-{ident}", content, "application/jsonl", None,
                    batch.host, "GENERATED")
        name = f"files/batch-{ident}"
        metadata = batch.operation["metadata"]
        metadata["output"] = {"responsesFile": name}
        metadata["batchStats"] = {"requestCount": str(len(results)),
                                  "successfulRequestCount": str(len(results) - failed)}
        if failed:
            metadata["batchStats"]["failedRequestCount"] = str(failed)
        output = "EmbedContentBatchOutput" if batch.embed else "GenerateContentBatchOutput"
        batch.operation["response"] = {"@type": _TYPE + output, "responsesFile": name}
        self._finish(batch, "BATCH_STATE_SUCCEEDED")

    def _result(self, line: dict[str, Any], embed: bool) -> dict[str, Any]:
        """One results line: `{"response", "key"}` (as recorded) or, for a request holding
        FAIL, `{"error": <google.rpc.Status>, "key"}` (the reference's "status object")."""
        request = line["request"]
        if FAIL in orjson.dumps(request).decode():
            return {"error": {"code": 400, "message": "Request contains an invalid argument.",
                              "status": "INVALID_ARGUMENT"}, "key": line.get("key")}
        if embed:
            return {"response": _embedding(request), "key": line.get("key")}
        response = (self.batch_responses.popleft() if self.batch_responses
                    else copy.deepcopy(next(self._recorded)))
        return {"response": response, "key": line.get("key")}

    def _list_batches(self, key: str, params: dict[str, str]) -> Answer:
        """ListOperationsResponse (API reference): `{"operations", "nextPageToken"}`."""
        operations = [b.operation for b in reversed(self.batches.values()) if b.owner == key]
        page, token = _page(operations, params)
        listing: dict[str, Any] = {"operations": page} if page else {}
        return Answer.json(listing | ({"nextPageToken": token} if token else {}))


def _embedding(request: dict[str, Any]) -> dict[str, Any]:
    """A line shaped like batch-embed-results-file.jsonl, with as many values as asked."""
    size = request.get("outputDimensionality") or request.get("output_dimensionality") or 3072
    text = " ".join(str(part.get("text", "")) for part in request.get("content", {})
                    .get("parts", []))
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
    values = [((seed + 7919 * i) % 2001 - 1000) / 10000 for i in range(size)]
    return {"tokenCount": str(max(1, len(text.split()))), "embedding": {"values": values}}


def _page(items: list[dict[str, Any]], params: dict[str, str],
          ) -> tuple[list[dict[str, Any]], str | None]:
    size = min(max(int(params.get("pageSize") or 10), 1), 100)
    start = int(base64.urlsafe_b64decode(params["pageToken"])) if params.get("pageToken") else 0
    end = start + size
    token = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return copy.deepcopy(items[start:end]), token
