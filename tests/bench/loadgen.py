"""The benchmark's load generator: `python -m tests.bench.loadgen`, one process of its own.

Keeps `--concurrency` HTTP/1.1 keep-alive connections busy with one request each at a time,
on raw asyncio sockets (uvloop when installed) so that the client costs little. It runs a
warm-up phase, checks the warm-up answers in full, prints `ready`, waits for a line on stdin
when `--wait` is given (the caller reads the server's CPU counters then), runs the measured phase
and prints one JSON line of results.

Every answer is read to its end: a stream through the chunked body's last chunk, and it counts
as an error unless it ends with `data: [DONE]` (Gemini streams, which have none: unless the last
event carries `finishReason`; Responses streams, which have none either: unless the last event
is `response.completed`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from .aio import run
from .workload import EVENTS, MODEL, answer_text, gemini_request, openai_request, responses_request

MODES = ("stream", "responses", "nonstream", "gemini")
TIMEOUT = 30.0


class BadAnswer(Exception):
    """An answer that is not the one expected; its message is the error's kind."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    keep_alive: bool
    head_at: float  # perf_counter() when the status line and headers had arrived


def build_request(mode: str, host: str, port: int) -> bytes:
    """The bytes of the one request this run sends over and over."""
    if mode == "gemini":
        path = f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"
        body, auth = json.dumps(gemini_request()).encode(), "x-goog-api-key: bench"
    elif mode == "responses":
        path = "/v1/responses"
        body = json.dumps(responses_request()).encode()
        auth = "authorization: Bearer bench"
    else:
        path = "/v1/chat/completions"
        body = json.dumps(openai_request(mode == "stream")).encode()
        auth = "authorization: Bearer bench"
    head = (f"POST {path} HTTP/1.1\r\nhost: {host}:{port}\r\naccept: application/json\r\n"
            f"content-type: application/json\r\nuser-agent: adapter-bench/1.0\r\n{auth}\r\n"
            f"content-length: {len(body)}\r\n\r\n")
    return head.encode() + body


def _headers(head: bytes) -> dict[bytes, bytes]:
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    return headers


async def _chunked_body(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # trailers
            return b"".join(parts)
        parts.append((await reader.readexactly(size + 2))[:-2])


async def read_response(reader: asyncio.StreamReader) -> Response:
    """One whole HTTP/1.1 response, its body read to the end."""
    head = await reader.readuntil(b"\r\n\r\n")
    head_at = time.perf_counter()
    status = int(head[9:12])
    headers = _headers(head[:-4])
    if b"content-length" in headers:
        body = await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding") == b"chunked":
        body = await _chunked_body(reader)
    else:
        return Response(status, await reader.read(), False, head_at)
    return Response(status, body, headers.get(b"connection") != b"close", head_at)


def check(mode: str, response: Response, full: bool) -> None:
    """Raise BadAnswer unless `response` is a complete, successful answer."""
    try:
        _check(mode, response, full)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        raise BadAnswer("malformed answer") from None


def _check(mode: str, response: Response, full: bool) -> None:
    if response.status != 200:
        raise BadAnswer(f"status {response.status}")
    body = response.body
    if mode == "nonstream":
        message = orjson.loads(body)["choices"][0]["message"]
        if message["content"] != answer_text():
            raise BadAnswer("wrong content")
        return
    if mode == "gemini":
        if body.count(b"data: ") != EVENTS or b'"finishReason": "STOP"' not in body[-700:]:
            raise BadAnswer("incomplete gemini stream")
        return
    if mode == "responses":
        # The last event: its `event:` line opens the body or follows a blank line; the JSON of
        # the `data:` lines cannot hold a raw newline, so this finds the real last one.
        last = body.rfind(b"\n\nevent: ") + 2
        if not (body.startswith(COMPLETED, last) and body.endswith(b"}\n\n")):
            raise BadAnswer("no response.completed")
        if full:
            check_responses_stream(body)
        return
    if not body.endswith(b"data: [DONE]\n\n"):
        raise BadAnswer("no [DONE]")
    if full:
        check_openai_stream(body)


def check_openai_stream(body: bytes) -> None:
    """The streamed chunks add up to the expected answer, finish with stop and carry usage."""
    chunks = [orjson.loads(event[6:]) for event in body.split(b"\n\n")
              if event.startswith(b"data: {")]
    text = "".join(choice["delta"].get("content") or ""
                   for chunk in chunks for choice in chunk["choices"])
    reasons = [choice["finish_reason"] for chunk in chunks for choice in chunk["choices"]
               if choice["finish_reason"]]
    if text != answer_text() or reasons != ["stop"] or not chunks[-1].get("usage"):
        raise BadAnswer("wrong streamed answer")


COMPLETED = b"event: response.completed\ndata: "


def check_responses_stream(body: bytes) -> None:
    """Every event's `event:` line names its `data:` type, the sequence numbers count up from 0,
    the text deltas add up to the expected answer, and the stream ends with one
    `response.completed` whose response carries that text and usage."""
    events = []
    for block in body.split(b"\n\n")[:-1]:
        name, data = block.split(b"\n", 1)
        event = orjson.loads(data.removeprefix(b"data: "))
        if not name.startswith(b"event: ") or event["type"] != name[7:].decode():
            raise BadAnswer("event line and data type differ")
        events.append(event)
    if [event["sequence_number"] for event in events] != list(range(len(events))):
        raise BadAnswer("wrong sequence numbers")
    text = "".join(event["delta"] for event in events
                   if event["type"] == "response.output_text.delta")
    kinds = [event["type"] for event in events]
    response = events[-1]["response"]
    if (text != answer_text() or kinds.count("response.completed") != 1
            or kinds[-1] != "response.completed" or response["status"] != "completed"
            or response["output"][-1]["content"][0]["text"] != text
            or not response["usage"]["output_tokens"]):
        raise BadAnswer("wrong streamed response")


@dataclass
class Phase:
    """What one phase measured."""

    latencies: list[float] = field(default_factory=list)
    ttfb: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    cpu: float = 0.0


class Client:
    """One keep-alive connection that sends the same request again and again."""

    def __init__(self, host: str, port: int, request: bytes, mode: str) -> None:
        self.host, self.port, self.request, self.mode = host, port, request, mode
        self.conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.conn is None:
            self.conn = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn[1].close()
            self.conn = None

    async def one(self, phase: Phase, full: bool) -> None:
        """Send one request, read its whole answer and record the outcome in `phase`."""
        start = time.perf_counter()
        try:
            async with asyncio.timeout(TIMEOUT):
                reader, writer = await self._connection()
                writer.write(self.request)
                response = await read_response(reader)
            check(self.mode, response, full)
        except BadAnswer as exc:
            phase.errors[str(exc)] += 1
            self.close()
            return
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            phase.errors[type(exc).__name__] += 1
            self.close()
            return
        end = time.perf_counter()
        phase.latencies.append(end - start)
        phase.ttfb.append(response.head_at - start)
        if not response.keep_alive:
            self.close()


async def run_phase(clients: list[Client], requests: int, full: bool) -> Phase:
    """`requests` requests over all clients, each client one request at a time."""
    phase = Phase()
    left = requests

    async def worker(client: Client) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await client.one(phase, full)

    cpu, start = _cpu_seconds(), time.perf_counter()
    await asyncio.gather(*(worker(client) for client in clients))
    phase.elapsed = time.perf_counter() - start
    phase.cpu = _cpu_seconds() - cpu
    return phase


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of `values` (already sorted), in milliseconds."""
    if not values:
        return float("nan")
    return values[min(len(values) - 1, round(fraction * (len(values) - 1)))] * 1000


def summary(phase: Phase) -> dict[str, Any]:
    """The JSON-able results of a measured phase."""
    latencies, ttfb = sorted(phase.latencies), sorted(phase.ttfb)
    ok = len(latencies)
    return {
        "ok": ok,
        "errors": sum(phase.errors.values()),
        "error_kinds": dict(phase.errors),
        "elapsed_s": phase.elapsed,
        "rps": ok / phase.elapsed if phase.elapsed else 0.0,
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": percentile(latencies, 1.0),
        "ttfb_p50_ms": percentile(ttfb, 0.50),
        "ttfb_p99_ms": percentile(ttfb, 0.99),
        "client_cpu_ms_per_req": phase.cpu * 1000 / max(ok, 1),
    }


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Warm up, (optionally) wait for the go-ahead on stdin, measure."""
    request = build_request(args.mode, args.host, args.port)
    clients = [Client(args.host, args.port, request, args.mode)
               for _ in range(args.concurrency)]
    try:
        warmup = await run_phase(clients, args.warmup, full=True)
        if warmup.errors:
            return {"warmup_errors": dict(warmup.errors)}
        print("ready", flush=True)
        if args.wait:
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        return summary(await run_phase(clients, args.requests, full=False))
    finally:
        for client in clients:
            client.close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.loadgen",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=MODES, default="stream",
                        help="stream / nonstream: OpenAI chat requests to the adapter; "
                             "responses: OpenAI Responses stream requests to the adapter; "
                             "gemini: Gemini stream requests straight to the fake upstream")
    parser.add_argument("--requests", type=int, default=2000, help="measured requests")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up requests")
    parser.add_argument("--concurrency", type=int, default=16, help="connections")
    parser.add_argument("--wait", action="store_true",
                        help="after warm-up, print 'ready' and wait for a line on stdin")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = run(bench(args))
    print(json.dumps(result), flush=True)
    if "warmup_errors" in result:
        sys.exit(1)


if __name__ == "__main__":
    main()
