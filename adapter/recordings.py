"""Recorded Gemini exchanges: the file format, how requests are matched, and a small CLI.

One exchange is one JSON file, written by `python -m adapter --record DIR` and served by
`--replay DIR`:

    {"recording": 1, "recorded_at": "...", "model": "gemini-2.5-flash",
     "method": "streamGenerateContent", "key": "<sha256 of the matched request>",
     "request": {"method": "POST", "path": "/v1beta/models/...", "query": "alt=sse",
                 "headers": {"content-type": "application/json"}, "body": {...}},
     "response": {"status": 200, "headers": {"content-type": "text/event-stream"},
                  "complete": true, "chunks": [{"ms": 412, "text": "data: {...}\\r\\n\\r\\n"}]}}

The response is kept exactly as received, chunk by chunk with the milliseconds since the request
was sent (a chunk that is not UTF-8 text is stored as `base64`). Keys and auth headers are never
written: request headers are reduced to the content type, a `key` query parameter is dropped,
and the key is masked should the upstream ever echo it.

Matching: a request matches a recording with the same HTTP method, path, query (without `key`)
and body, compared as JSON values (key order and whitespace do not matter), ignoring what
differs between runs without changing meaning: `thoughtSignature` values and the `id` of
function calls, function responses and code execution parts (Gemini generates both), and the
`fileUri` of a `fileData` part naming a Files API file (`.../v1beta/files/<id>`: a new name every
upload).
Gemini's Files API is recorded too: a request body that is not JSON (an uploaded file) is written
as `{"sha256": ..., "size": ...}` under `body_digest`, never its bytes, and matched by that; the
`upload_id` of a resumable upload URL (it differs every run) is dropped from queries, and the
`x-goog-upload-url` answer header is kept as a path, replayed on the base the request went to.
Recordings of one request are served in the order they were made (a 429 then its retry's 200),
the last one again after that.

A hand-made recording may instead say `"match": "any"`, answering any request to its method
(`when`: `tool_result`, `tools`, `code_execution` or `image` narrows it down): this is how
`fixtures/recordings` serves every request offline.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson

FORMAT = 1
INDEX = "index.jsonl"
_GENERATED_IDS = ("functionCall", "functionResponse", "executableCode", "codeExecutionResult")
_RUN_VARYING_QUERY = ("key", "upload_id")
_FILES_URI = re.compile(r"^https?://[^/]+/v1beta/files/[^/?#]+$")
UPLOAD_URL = "x-goog-upload-url"


def digest(body: bytes) -> dict[str, Any]:
    """What a request body that is not JSON (an uploaded file) is recorded and matched by."""
    return {"sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}


def parse_body(body: bytes) -> tuple[Any, dict[str, Any] | None]:
    """(JSON body, None) for a JSON request body, (None, its digest) for any other."""
    if not body:
        return None, None
    try:
        return orjson.loads(body), None
    except orjson.JSONDecodeError:
        return None, digest(body)


def upload_path(url: str) -> str:
    """An upload URL as the recorded path and query, without the run's `upload_id`."""
    parts = urlsplit(url)
    query = clean_query(parts.query)
    return parts.path + (f"?{query}" if query else "")


def normalized(value: Any) -> Any:
    """`value` without what varies between runs (signatures, Gemini's generated ids)."""
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if key == "thoughtSignature":
                continue
            if key in _GENERATED_IDS and isinstance(item, dict):
                item = {k: v for k, v in item.items() if k != "id"}
            if key == "fileData" and isinstance(item, dict) \
                    and _FILES_URI.match(str(item.get("fileUri", ""))):
                item = {k: v for k, v in item.items() if k != "fileUri"}
            result[key] = normalized(item)
        return result
    if isinstance(value, list):
        return [normalized(item) for item in value]
    return value


def clean_query(query: str) -> str:
    """The query string without an API key or upload id, parameters in order."""
    return urlencode(sorted((k, v) for k, v in parse_qsl(query)
                            if k not in _RUN_VARYING_QUERY))


def match_key(method: str, path: str, query: str, body: Any,
              body_digest: dict[str, Any] | None = None) -> str:
    """What a request is matched by (see the module docstring)."""
    what = normalized(body) if body_digest is None else {"body_digest": body_digest}
    canonical = orjson.dumps([method, path, clean_query(query), what],
                             option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def describe(path: str) -> tuple[str, str]:
    """(model, Gemini method) for a Gemini API path, for names and listings."""
    tail = path.split("/v1beta/", 1)[-1]
    if tail == "models":
        return "models", "list"
    if tail == "files" or tail.startswith("files/"):
        return "files", "upload" if path.startswith("/upload/") else "file"
    name, _, method = tail.removeprefix("models/").partition(":")
    return name or "-", method or "get"


def file_name(recorded_at: float, model: str, method: str, key: str) -> str:
    """`<UTC time to the millisecond>_<model>_<method>_<key prefix>.json`: sorted by time."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(recorded_at))
    millis = int(recorded_at * 1000) % 1000
    safe_model = "".join(c if c.isalnum() or c in "._-" else "-" for c in model)
    return f"{stamp}.{millis:03d}_{safe_model}_{method}_{key[:8]}.json"


def chunk_entry(ms: int, data: bytes) -> dict[str, Any]:
    try:
        return {"ms": ms, "text": data.decode()}
    except UnicodeDecodeError:
        return {"ms": ms, "base64": base64.b64encode(data).decode()}


def chunk_bytes(entry: dict[str, Any]) -> bytes:
    if "text" in entry:
        text: str = entry["text"]
        return text.encode()
    return base64.b64decode(entry["base64"])


def body_bytes(recording: dict[str, Any]) -> bytes:
    """The whole recorded response body."""
    return b"".join(chunk_bytes(chunk) for chunk in recording["response"]["chunks"])


def dump(recording: dict[str, Any]) -> bytes:
    """A recording as the reviewable text it is stored as."""
    return orjson.dumps(recording, option=orjson.OPT_INDENT_2) + b"\n"


def load_dir(directory: Path) -> list[tuple[str, dict[str, Any]]]:
    """(file name, recording) for every recording in `directory`, oldest first."""
    found = []
    for path in sorted(directory.glob("*.json")):
        try:
            recording = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"{path} is not a recording: {exc}") from None
        if isinstance(recording, dict) and recording.get("recording") == FORMAT:
            found.append((path.name, recording))
    return found


# The command line: python -m adapter.recordings list|show


def _rows(directory: Path) -> Iterator[str]:
    for name, recording in load_dir(directory):
        response = recording["response"]
        size = len(body_bytes(recording))
        match = recording.get("match", "request")
        flags = "" if response.get("complete", True) else " (cut short)"
        yield (f"{name}  {recording.get('model', '-')} {recording.get('method', '-')} "
               f"-> {response['status']}, {len(response['chunks'])} chunks, {size} bytes, "
               f"match {match}{flags}")


def _show(path: Path, raw: bool) -> str:
    recording = orjson.loads(path.read_bytes())
    if raw:
        return body_bytes(recording).decode(errors="replace")
    request, response = recording["request"], recording["response"]
    lines = [f"{request['method']} {request['path']}"
             + (f"?{request['query']}" if request.get("query") else ""),
             f"recorded {recording.get('recorded_at', '?')}, "
             f"match {recording.get('match', 'request')}, key {recording.get('key', '-')[:16]}"]
    if request.get("body") is not None:
        lines += ["", orjson.dumps(request["body"], option=orjson.OPT_INDENT_2).decode()]
    elif (binary := request.get("body_digest")) is not None:
        lines += ["", f"({binary['size']} bytes, sha256 {binary['sha256']}, not recorded)"]
    lines += ["", f"-> {response['status']} {response['headers'].get('content-type', '')}", ""]
    lines.append(body_bytes(recording).decode(errors="replace"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adapter.recordings",
                                     description="List and print recorded Gemini exchanges.")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="one line per recording, oldest first")
    listing.add_argument("directory", type=Path)
    show = commands.add_parser("show", help="a recording's request and response")
    show.add_argument("recording", type=Path, help="a recording file, or DIR and a name prefix")
    show.add_argument("prefix", nargs="?", help="the start of a file name in the directory")
    show.add_argument("--raw", action="store_true", help="only the response body, as received")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            for row in _rows(args.directory):
                print(row)
            return 0
        path = args.recording
        if args.prefix:
            matches = sorted(path.glob(f"{args.prefix}*.json"))
            if len(matches) != 1:
                print(f"{len(matches)} recordings in {path} start with {args.prefix!r}",
                      file=sys.stderr)
                return 1
            path = matches[0]
        print(_show(path, args.raw))
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
