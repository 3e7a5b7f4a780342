"""A bounded load-and-fault run of the adapter: `python -m tests.bench.faults`.

Starts the fake Gemini upstream with faults (a fraction of its streams cut mid-stream, a
fraction with slow events, the rest normal) and the adapter (`--workers 1`), then sends
`--requests` OpenAI `stream: true` chat requests all at once from raw asyncio sockets, one
connection each; a fraction of those clients hang up on purpose after a few events. Every
stream is classified: `data: [DONE]`, an error event, an HTTP error status, a deliberate
disconnect, hung (no progress for `--hang-s` seconds) or broken (anything else: reset without an
error event, body ended without `[DONE]`). The adapter's open file descriptors and RSS, and the
fake's open streams and connections, are read before the run, right after it and `--settle-s`
seconds later. Prints Markdown tables and exits non-zero when an invariant fails: no hangs, no
broken streams, no HTTP 500, the fake's open streams back to 0, the adapter's descriptors back
to where they were (less its idle upstream keep-alive connections, which its pool keeps: those
are counted by the fake and shown apart), its RSS within `--rss-slack-mib`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .aio import run
from .loadgen import build_request, percentile
from .procs import BenchError, Child, free_port, memory_kib, process_tree, wait_http

ERROR_EVENT = b'data: {"error"'
DONE_EVENT = b"data: [DONE]"


class Hung(Exception):
    """No progress within the hang timeout."""


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str  # done, error_event, http_<code>, disconnected, hung, broken
    latency: float  # seconds from connecting to the end of the stream
    detail: str = ""


async def _read(coro: Any, hang_s: float) -> Any:
    try:
        async with asyncio.timeout(hang_s):
            return await coro
    except TimeoutError:
        raise Hung from None


async def one_stream(host: str, port: int, request: bytes, hang_s: float,
                     disconnect_after: int | None) -> Outcome:
    """One streamed request on a fresh connection, read (or abandoned) to its end."""
    start = time.perf_counter()
    events: list[bytes] = []
    writer = None
    try:
        reader, writer = await _read(asyncio.open_connection(host, port, limit=1 << 20), hang_s)
        writer.write(request)
        head = await _read(reader.readuntil(b"\r\n\r\n"), hang_s)
        status = int(head[9:12])
        if status != 200:
            return Outcome(f"http_{status}", time.perf_counter() - start)
        if b"transfer-encoding: chunked" not in head.lower():
            return Outcome("broken", time.perf_counter() - start, "not chunked")
        buffer = b""
        while True:
            size = int((await _read(reader.readuntil(b"\r\n"), hang_s)).split(b";")[0], 16)
            if size == 0:
                break
            buffer += (await _read(reader.readexactly(size + 2), hang_s))[:-2]
            *complete, buffer = buffer.split(b"\n\n")
            events.extend(complete)
            if disconnect_after is not None and len(events) >= disconnect_after \
                    and not _ended(events):
                writer.transport.abort()  # hang up mid-stream, on purpose
                return Outcome("disconnected", time.perf_counter() - start)
        latency = time.perf_counter() - start
        if events and events[-1].startswith(DONE_EVENT):
            return Outcome("done", latency)
        if events and events[-1].startswith(ERROR_EVENT):
            return Outcome("error_event", latency)
        return Outcome("broken", latency, f"ended after {len(events)} events without [DONE]")
    except Hung:
        return Outcome("hung", time.perf_counter() - start, f"after {len(events)} events")
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
        latency = time.perf_counter() - start
        if events and events[-1].startswith(ERROR_EVENT):
            return Outcome("error_event", latency)  # the error event, then the connection closed
        return Outcome("broken", latency,
                       f"{type(exc).__name__} after {len(events)} events")
    finally:
        if writer is not None:
            writer.close()


def _ended(events: list[bytes]) -> bool:
    return events[-1].startswith((DONE_EVENT, ERROR_EVENT))


async def load(args: argparse.Namespace, port: int, count: int, disconnect: float,
               seed: int) -> tuple[list[Outcome], float]:
    """`count` streams at once; a `disconnect` fraction of the clients hang up after 1-15 events."""
    rand = random.Random(seed)
    request = build_request("stream", "127.0.0.1", port)
    plans = [rand.randint(1, 15) if rand.random() < disconnect else None for _ in range(count)]
    start = time.perf_counter()
    outcomes = await asyncio.gather(*(one_stream("127.0.0.1", port, request, args.hang_s, plan)
                                      for plan in plans))
    return list(outcomes), time.perf_counter() - start


def fetch_stats(port: int) -> dict[str, Any]:
    """The fake upstream's GET /stats."""
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as answer:
        return json.loads(answer.read())


def open_fds(pid: int) -> int:
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            total += len(os.listdir(f"/proc/{member}/fd"))
    return total


@dataclass(frozen=True, slots=True)
class Snapshot:
    fds: int
    rss_kib: int
    fake: dict[str, Any]

    @classmethod
    def take(cls, adapter_pid: int, fake_port: int) -> Snapshot:
        return cls(open_fds(adapter_pid), memory_kib(process_tree(adapter_pid), "VmRSS"),
                   fetch_stats(fake_port))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.faults",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300,
                        help="streamed requests, all at once (default 300)")
    parser.add_argument("--drop-fraction", type=float, default=0.15,
                        help="upstream streams cut mid-stream (default 0.15)")
    parser.add_argument("--slow-fraction", type=float, default=0.25,
                        help="upstream streams with slow events (default 0.25)")
    parser.add_argument("--slow-gap-ms", default="50-200",
                        help="gap between the events of a slow stream, LOW-HIGH (50-200)")
    parser.add_argument("--event-gap-ms", type=float, default=2.0,
                        help="gap between the events of the other streams (default 2)")
    parser.add_argument("--disconnect-fraction", type=float, default=0.2,
                        help="clients that hang up after 1 to 15 events (default 0.2)")
    parser.add_argument("--warmup", type=int, default=30,
                        help="requests before the 'before' reading, not counted (default 30)")
    parser.add_argument("--hang-s", type=float, default=10.0,
                        help="a stream with no progress this long is hung (default 10)")
    parser.add_argument("--settle-s", type=float, default=3.0,
                        help="when to read the counters again after the run (default 3)")
    parser.add_argument("--fd-slack", type=int, default=2,
                        help="descriptors (other than upstream connections) the adapter may "
                             "hold above 'before' after settling (default 2)")
    parser.add_argument("--rss-slack-mib", type=float, default=16.0,
                        help="RSS growth allowed after settling, MiB (default 16)")
    parser.add_argument("--seed", type=int, default=None, help="seed of all random draws")
    return parser.parse_args(argv)


@contextlib.contextmanager
def services(args: argparse.Namespace, log_dir: Path, seed: int):
    with contextlib.ExitStack() as stack:
        fake_port, adapter_port = free_port(), free_port()
        fake = Child("fake", [sys.executable, "-m", "tests.bench.fake_upstream",
                              "--port", str(fake_port), "--event-gap-ms", str(args.event_gap_ms),
                              "--drop-fraction", str(args.drop_fraction),
                              "--slow-fraction", str(args.slow_fraction),
                              "--slow-gap-ms", args.slow_gap_ms, "--seed", str(seed)], log_dir)
        stack.callback(fake.stop)
        wait_http(fake, fake_port, "/health")
        env = {**os.environ, "GEMINI_BASE_URL": f"http://127.0.0.1:{fake_port}",
               "GEMINI_API_KEY": "bench", "ADAPTER_UPSTREAM": "gemini"}
        env.pop("ADAPTER_API_KEYS", None)
        adapter = Child("adapter", [sys.executable, "-m", "adapter", "--host", "127.0.0.1",
                                    "--port", str(adapter_port), "--workers", "1",
                                    "--log-level", "warning"], log_dir, env=env)
        stack.callback(adapter.stop)
        wait_http(adapter, adapter_port, "/health")
        yield fake_port, adapter, adapter_port


KINDS = ("done", "error_event", "disconnected", "hung", "broken")


def report(args: argparse.Namespace, outcomes: list[Outcome], wall: float,
           snaps: list[Snapshot]) -> tuple[str, list[str]]:
    """The Markdown tables and the list of violated invariants."""
    kinds = Counter(outcome.kind for outcome in outcomes)
    http = sorted(kind for kind in kinds if kind.startswith("http_"))
    done = sorted(outcome.latency for outcome in outcomes if outcome.kind == "done")
    http_text = ", ".join(f"{kind[5:]}: {kinds[kind]}" for kind in http) or "0"
    before, _, settled = snaps
    fake = settled.fake
    lines = [
        "| requests | [DONE] | error event | HTTP error | client disconnect | hung | broken "
        "| p50 ms (done) | p99 ms (done) | wall s |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        f"| {len(outcomes)} | {kinds['done']} | {kinds['error_event']} | {http_text} "
        f"| {kinds['disconnected']} | {kinds['hung']} | {kinds['broken']} "
        f"| {percentile(done, 0.5):.0f} | {percentile(done, 0.99):.0f} | {wall:.1f} |",
        "",
        f"| | before | right after | after {args.settle_s:g} s |",
        "|---|--:|--:|--:|",
        "| adapter open fds | " + " | ".join(str(s.fds) for s in snaps) + " |",
        "| adapter VmRSS MiB | " + " | ".join(f"{s.rss_kib / 1024:.1f}" for s in snaps) + " |",
        "| fake open streams | " + " | ".join(str(s.fake["open_streams"]) for s in snaps) + " |",
        "| fake open connections (the adapter's upstream pool) | "
        + " | ".join(str(s.fake["open_connections"]) for s in snaps) + " |",
        "| adapter fds other than those | " + " | ".join(str(_own_fds(s)) for s in snaps) + " |",
        "",
        f"Upstream streams during the run (fake's counters, warm-up subtracted): started "
        f"{_delta(fake['started'], before.fake['started'])}; ended "
        f"{_delta(fake['ended'], before.fake['ended'])}.",
    ]
    problems = []
    if kinds["hung"]:
        problems.append(f"{kinds['hung']} streams hung (no progress for {args.hang_s:g} s)")
    if kinds["broken"]:
        problems.append(f"{kinds['broken']} streams ended without [DONE] or an error event")
    if kinds["http_500"]:
        problems.append(f"{kinds['http_500']} answers with HTTP 500")
    if settled.fake["open_streams"]:
        problems.append(f"the fake still has {settled.fake['open_streams']} open streams")
    if _own_fds(settled) > _own_fds(before) + args.fd_slack:
        problems.append(f"adapter fds other than idle upstream connections: {_own_fds(before)} "
                        f"before, {_own_fds(settled)} after settling")
    if settled.rss_kib > before.rss_kib + args.rss_slack_mib * 1024:
        problems.append(f"adapter RSS {before.rss_kib / 1024:.1f} MiB before, "
                        f"{settled.rss_kib / 1024:.1f} MiB after settling")
    details = Counter(f"{o.kind}: {o.detail}" for o in outcomes
                      if o.kind in ("hung", "broken") and o.detail)
    problems.extend(f"  {count} x {detail}" for detail, count in details.most_common(10))
    return "\n".join(lines), problems


def _own_fds(snap: Snapshot) -> int:
    """The adapter's descriptors less its connections to the fake (idle keep-alive ones after
    the run: the adapter's pool keeps them for reuse, and the fake never closes them)."""
    return snap.fds - snap.fake["open_connections"]


def _delta(now: dict[str, int], then: dict[str, int]) -> str:
    return ", ".join(f"{key} {value - then.get(key, 0)}" for key, value in now.items())


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    try:
        with tempfile.TemporaryDirectory(prefix="adapter-faults-") as tmp, \
                services(args, Path(tmp), seed) as (fake_port, adapter, adapter_port):
            if args.warmup:
                run(load(args, adapter_port, args.warmup, 0.0, seed + 1))
                time.sleep(args.settle_s)
            before = Snapshot.take(adapter.pid, fake_port)
            print(f"{args.requests} streams at once (seed {seed})...", file=sys.stderr,
                  flush=True)
            outcomes, wall = run(load(args, adapter_port, args.requests,
                                      args.disconnect_fraction, seed))
            after = Snapshot.take(adapter.pid, fake_port)
            time.sleep(args.settle_s)
            settled = Snapshot.take(adapter.pid, fake_port)
            tables, problems = report(args, outcomes, wall, [before, after, settled])
            if problems:
                print(adapter.log_tail(15), file=sys.stderr)
    except BenchError as exc:
        sys.exit(f"fault run failed: {exc}")
    except KeyboardInterrupt:
        sys.exit("fault run interrupted; all its processes are stopped")
    print(f"{args.requests} concurrent OpenAI streams, adapter --workers 1; upstream: "
          f"{args.drop_fraction:.0%} dropped mid-stream, {args.slow_fraction:.0%} slow "
          f"({args.slow_gap_ms} ms gaps), the rest {args.event_gap_ms:g} ms gaps; "
          f"{args.disconnect_fraction:.0%} of clients hang up on purpose; seed {seed}.")
    print()
    print(tables)
    if problems:
        print("\nFAILED:\n" + "\n".join(f"- {p}" if not p.startswith(" ") else p
                                        for p in problems))
        sys.exit(1)
    print("\nAll invariants hold.")


if __name__ == "__main__":
    main()
