"""A large chat batch through a real adapter process: `python -m tests.bench.batch --lines N`.

The fake Gemini (tests/fake_gemini.py with its Files API and Batch Mode) runs in a thread of this
process; the adapter is `python -m adapter`, a process of its own, so its memory is its own
(VmRSS / VmHWM in /proc/<pid>/status). An N-line chat batch input (system + user messages, some
with tools or a JSON schema, 400-800 bytes a line) is written to a temporary file, then four
phases are timed through the openai SDK: the upload (purpose "batch"), batches.create (every line
translated and streamed to the fake as a Gemini file), polling to completion, and the download of
the output and error files (every Gemini result translated back), whose lines are counted.
A few lines are refused by the adapter and a few fail in Gemini, so both files have lines.
VmHWM cannot be reset: the table shows the RSS before each phase and the peak after it.
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import orjson

from ..fake_gemini import FakeGemini
from ..fake_gemini_files import FAIL
from ..servers import serve
from .procs import BenchError, Child, Usage, free_port, wait_http

MODEL = "gemini-2.5-flash"
REFUSED_EVERY = 1000  # line i % this == 7: refused by the adapter (temperature out of range)
FAILED_EVERY = 1000  # line i % this == 13: Gemini answers it with a per-line error
TEXT = ("the quarterly report shows revenue growth in every region while costs rose slowly "
         "customers asked for faster delivery better support and clearer invoices so the team "
         "reviewed each complaint and ranked the fixes by effort and expected impact")
WORDS = TEXT.split()
TOOLS = [{"type": "function", "function": {
    "name": "lookup_order", "description": "Find an order by its number.",
    "parameters": {"type": "object", "properties": {
        "order_id": {"type": "string", "description": "The order number."},
        "include_items": {"type": "boolean"}}, "required": ["order_id"]}}}]
SCHEMA = {"type": "json_schema", "json_schema": {"name": "summary", "strict": True, "schema": {
    "type": "object", "properties": {
        "title": {"type": "string"}, "points": {"type": "array", "items": {"type": "string"}},
        "sentiment": {"type": "string", "enum": ["positive", "neutral", "negative"]}},
    "required": ["title", "points", "sentiment"], "additionalProperties": False}}}


def input_line(index: int, rng: random.Random) -> bytes:
    """One chat batch line: a system and a user message; every 4th with a tool, every 5th with
    a JSON schema; the user text sized so the line is about 400-800 bytes."""
    body: dict[str, Any] = {"model": MODEL, "max_tokens": 300, "temperature": 0.4,
                            "messages": [{"role": "system", "content": "You are a careful "
                                          "assistant for an online shop. Answer briefly."}]}
    if index % 4 == 1:
        body["tools"] = TOOLS
    elif index % 5 == 2:
        body["response_format"] = SCHEMA
    if index % REFUSED_EVERY == 7:
        body["temperature"] = 9
    size = rng.randint(400, 800)
    line = {"custom_id": f"request-{index}", "method": "POST", "url": "/v1/chat/completions",
            "body": body}
    base = len(orjson.dumps(line)) + len(',"messages":[{"role":"user","content":""}]')
    words: list[str] = [FAIL] if index % FAILED_EVERY == 13 else []
    while len(words) < 12 or base + sum(len(w) + 1 for w in words) < size:
        words.append(rng.choice(WORDS))
    body["messages"].append({"role": "user", "content": " ".join(words)})
    return orjson.dumps(line) + b"\n"


def write_input(path: Path, lines: int) -> int:
    """The batch input, written line by line; its size in bytes."""
    rng = random.Random(18)
    with path.open("wb") as out:
        for index in range(lines):
            out.write(input_line(index, rng))
    return path.stat().st_size


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    seconds: float
    cpu_s: float
    rss_before_mib: float
    peak_before_mib: float
    rss_after_mib: float
    peak_after_mib: float
    note: str


def measured(name: str, pid: int, run: Callable[[], str]) -> Phase:
    before = Usage.of(pid)
    started = time.perf_counter()
    note = run()
    seconds = time.perf_counter() - started
    after = Usage.of(pid)
    return Phase(name, seconds, after.cpu_s - before.cpu_s, before.rss_kib / 1024,
                 before.hwm_kib / 1024, after.rss_kib / 1024, after.hwm_kib / 1024, note)


def count_lines(client: openai.OpenAI, file_id: str | None) -> tuple[int, int]:
    """Lines and bytes of a file downloaded as a stream."""
    if file_id is None:
        return 0, 0
    lines = size = 0
    with client.files.with_streaming_response.content(file_id) as answer:
        for piece in answer.iter_bytes(1 << 16):
            lines += piece.count(b"\n")
            size += len(piece)
    return lines, size


def run(client: openai.OpenAI, fake: FakeGemini, pid: int, path: Path, lines: int,
        polls: int) -> list[Phase]:
    state: dict[str, Any] = {}

    def upload() -> str:
        with path.open("rb") as file:
            state["file"] = client.files.create(file=("input.jsonl", file), purpose="batch")
        return f"{state['file'].bytes / 2**20:.1f} MiB stored"

    def create() -> str:
        state["batch"] = client.batches.create(
            input_file_id=state["file"].id, endpoint="/v1/chat/completions",
            completion_window="24h")
        sent = fake.files.uploaded[-1]
        return f"{int(sent['sizeBytes']) / 2**20:.1f} MiB Gemini input; " \
            f"status {state['batch'].status}"

    def poll() -> str:
        count = 0
        while True:
            count += 1
            batch = client.batches.retrieve(state["batch"].id)
            if batch.status in ("completed", "failed", "cancelled", "expired"):
                break
            time.sleep(0.2)
        state["batch"] = batch
        return f"{count} polls; status {batch.status}"

    def download() -> str:
        batch = state["batch"]
        out, out_bytes = count_lines(client, batch.output_file_id)
        err, err_bytes = count_lines(client, batch.error_file_id)
        state["counts"] = out, err
        return (f"output {out:,} lines ({out_bytes / 2**20:.1f} MiB), "
                f"errors {err:,} lines ({err_bytes / 2**20:.2f} MiB)")

    fake.files.batch_polls = polls
    phases = [measured("upload", pid, upload), measured("batches.create", pid, create),
              measured("poll to completion", pid, poll),
              measured("download output + errors", pid, download)]
    refused = sum(1 for i in range(lines) if i % REFUSED_EVERY == 7)
    failed = sum(1 for i in range(lines) if i % FAILED_EVERY == 13)
    if state["batch"].status != "completed" or state["counts"] != (
            lines - refused - failed, refused + failed):
        raise BenchError(f"expected {lines - refused - failed} output and {refused + failed} "
                         f"error lines, got {state['counts']} ({state['batch'].status})")
    return phases


def table(phases: list[Phase]) -> str:
    rows = ["| phase | wall s | adapter CPU s | RSS before MiB | peak before MiB "
            "| RSS after MiB | peak after MiB | |",
            "|---|--:|--:|--:|--:|--:|--:|---|"]
    rows += [f"| {p.name} | {p.seconds:.1f} | {p.cpu_s:.1f} | {p.rss_before_mib:.0f} | "
             f"{p.peak_before_mib:.0f} | {p.rss_after_mib:.0f} | {p.peak_after_mib:.0f} | "
             f"{p.note} |" for p in phases]
    return "\n".join(rows)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.batch",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000, help="lines in the batch")
    parser.add_argument("--polls", type=int, default=2,
                        help="retrieves the fake answers 'in progress' before it completes")
    parser.add_argument("--keep", action="store_true",
                        help="keep the input, the store and the adapter's log")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    path = work / "input.jsonl"
    started = time.perf_counter()
    size = write_input(path, args.lines)
    print(f"input: {args.lines:,} lines, {size / 2**20:.1f} MiB "
          f"({size / args.lines:.0f} bytes a line), written in "
          f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    fake = FakeGemini()
    fake.seen = collections.deque(maxlen=100)  # type: ignore[assignment]  # not every body
    adapter: Child | None = None
    try:
        with serve(fake) as fake_url:
            port = free_port()
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith(("GEMINI_", "ADAPTER_"))}
            env.update(GEMINI_BASE_URL=fake_url, GEMINI_API_KEY="bench",
                       ADAPTER_STORE=str(work / "store.sqlite3"), ADAPTER_DRAIN_DELAY="0",
                       ADAPTER_BATCH_MAX_LINES=str(max(args.lines, 100_000)))
            adapter = Child("adapter", [sys.executable, "-m", "adapter", "--host", "127.0.0.1",
                                        "--port", str(port), "--log-level", "warning"],
                            work, env)
            wait_http(adapter, port, "/health")
            client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="bench-user",
                                   max_retries=0, timeout=1800)
            phases = run(client, fake, adapter.pid, path, args.lines, args.polls)
    except (BenchError, openai.OpenAIError) as exc:
        tail = adapter.log_tail() if adapter is not None else ""
        sys.exit(f"batch bench: {exc}\n{tail}")
    finally:
        if adapter is not None:
            adapter.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{args.lines:,} lines ({size / 2**20:.1f} MiB input); Python "
          f"{platform.python_version()}, {os.cpu_count()} CPUs; load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}"
          + (f"; files in {work}" if args.keep else ""))
    print()
    print(table(phases))


if __name__ == "__main__":
    main()
