"""10,000 concurrent streams on one adapter process: `python -m tests.bench.streams_10k`.

Starts the fake Gemini (`--event-gap-ms` between its 20 events: about 10 s a stream) with a deep
listen backlog, and the adapter with `--workers 1 --backlog N`, then opens `--streams` client
connections spread over `--ramp-s` seconds (10,000 in 2 s by default), each sending one OpenAI
`stream: true` chat request and reading it to `data: [DONE]`. Every stream is classified as in
`tests.bench.faults` (done, http_<status>, broken, hung); a connection reset or refused before
the answer began is what an overflowing listen backlog does to a client. Also reported: the most
streams open at once (counted by the fake), the adapter's RSS at rest and at its peak, the
kernel's listen-queue overflow counters (TcpExt ListenOverflows/ListenDrops in /proc/net/netstat)
across the run, and the settings that matter: `net.core.somaxconn` (the kernel caps every
listen backlog at it) and the open-file limit, which this benchmark raises for itself and its
children with setrlimit (two descriptors per stream in the adapter, one in the client and one
in the fake). Exits non-zero unless every stream ended with `[DONE]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from .aio import run
from .fake_upstream import FakeGemini
from .faults import Outcome, one_stream
from .loadgen import build_request, percentile
from .procs import (
    BenchError,
    Child,
    cpu_seconds,
    free_port,
    memory_kib,
    process_tree,
    wait_http,
)

FAKE_BACKLOG = 16384


def raise_open_files(wanted: int) -> tuple[int, int]:
    """Raise RLIMIT_NOFILE (soft and, if allowed, hard) towards `wanted`; the limits after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        with contextlib.suppress(ValueError, OSError):  # raising the hard limit needs root
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, wanted))
            hard = wanted
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def kernel_setting(name: str) -> str:
    """A sysctl's value from /proc/sys (`net.core.somaxconn`), or "unknown"."""
    try:
        return Path("/proc/sys", *name.split(".")).read_text().strip()
    except OSError:
        return "unknown"


def listen_counters() -> dict[str, int]:
    """TcpExt ListenOverflows and ListenDrops (this network namespace, since boot)."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return {}
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], map(int, values.split()[1:]), strict=True))
            return {name: table[name] for name in ("ListenOverflows", "ListenDrops")
                    if name in table}
    return {}


async def serve_fake(port: int, gap: float) -> None:
    """The fake Gemini with a listen backlog deep enough for every adapter connection."""
    fake = FakeGemini(gap)
    server = await asyncio.start_server(fake.handle, "127.0.0.1", port, backlog=FAKE_BACKLOG)
    async with server:
        await server.serve_forever()


def fetch_open_streams(port: int) -> int:
    import http.client
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/stats")
        return int(json.loads(connection.getresponse().read())["open_streams"])
    finally:
        connection.close()


async def load(port: int, streams: int, ramp: float, hang_s: float) -> list[Outcome]:
    """`streams` streams, their connections opened evenly over `ramp` seconds."""
    request = build_request("stream", "127.0.0.1", port)

    async def later(delay: float) -> Outcome:
        await asyncio.sleep(delay)
        return await one_stream("127.0.0.1", port, request, hang_s, None)

    return list(await asyncio.gather(*(later(ramp * number / streams)
                                       for number in range(streams))))


async def watch(adapter_pid: int, fake_port: int, stop: asyncio.Event) -> tuple[int, int]:
    """Until `stop`: the most streams the fake had open at once, and the adapter's largest RSS."""
    most, rss = 0, 0
    while not stop.is_set():
        most = max(most, await asyncio.to_thread(fetch_open_streams, fake_port))
        rss = max(rss, memory_kib(process_tree(adapter_pid), "VmRSS"))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)
    return most, rss


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.streams_10k",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument("--ramp-s", type=float, default=2.0,
                        help="seconds over which the client connections are opened (2)")
    parser.add_argument("--event-gap-ms", type=float, default=525.0,
                        help="the fake's pause between two of its 20 events (525: ~10 s)")
    parser.add_argument("--backlog", type=int, default=16384,
                        help="the adapter's --backlog (16384; the kernel caps it at somaxconn)")
    parser.add_argument("--hang-s", type=float, default=60.0,
                        help="a stream with no progress for this long is hung (60)")
    parser.add_argument("--fake-port", type=int, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # Descriptors: the adapter holds two per stream, the client and the fake one each.
    soft, hard = raise_open_files(2 * args.streams + 1024)
    if args.fake_port is not None:  # the fake, as this benchmark's child
        with contextlib.suppress(KeyboardInterrupt):
            run(serve_fake(args.fake_port, args.event_gap_ms / 1000))
        return
    somaxconn = kernel_setting("net.core.somaxconn")
    print(f"net.core.somaxconn = {somaxconn}, net.ipv4.tcp_max_syn_backlog = "
          f"{kernel_setting('net.ipv4.tcp_max_syn_backlog')}, open files (ulimit -n) = {soft} "
          f"(hard {hard})", flush=True)
    if soft < 2 * args.streams + 64:
        sys.exit(f"the open-file limit ({soft}, hard {hard}) is too low for {args.streams} "
                 f"streams, which need two descriptors each in the adapter: at most "
                 f"{(soft - 64) // 2} fit. Raise the hard limit (ulimit -Hn; raising it from "
                 "here needs CAP_SYS_RESOURCE) or ask for fewer (--streams)")
    effective = min(args.backlog, int(somaxconn)) if somaxconn.isdigit() else args.backlog
    with tempfile.TemporaryDirectory(prefix="bench-10k-") as tmp, contextlib.ExitStack() as stack:
        log_dir = Path(tmp)
        fake_port, adapter_port = free_port(), free_port()
        fake = Child("fake", [sys.executable, "-m", "tests.bench.streams_10k", "--streams",
                              str(args.streams), "--event-gap-ms", str(args.event_gap_ms),
                              "--fake-port", str(fake_port)], log_dir)
        stack.callback(fake.stop)
        wait_http(fake, fake_port, "/health")
        env = {**os.environ, "GEMINI_BASE_URL": f"http://127.0.0.1:{fake_port}",
               "GEMINI_API_KEY": "bench", "ADAPTER_STORE": "off", "ADAPTER_DRAIN_DELAY": "0",
               "ADAPTER_MAX_STREAMS": str(args.streams + 1000), "ADAPTER_QUEUE_TIMEOUT": "60",
               "ADAPTER_READ_TIMEOUT": "60"}
        env.pop("ADAPTER_API_KEYS", None)
        adapter = Child("adapter", [sys.executable, "-m", "adapter", "--host", "127.0.0.1",
                                    "--port", str(adapter_port), "--workers", "1",
                                    "--backlog", str(args.backlog), "--log-level", "warning"],
                        log_dir, env=env)
        stack.callback(adapter.stop)
        wait_http(adapter, adapter_port, "/health")
        rest_kib = memory_kib(process_tree(adapter.pid), "VmRSS")
        before = listen_counters()
        cpu_before = [cpu_seconds(process_tree(child.pid)) for child in (adapter, fake)]
        client_before = _own_cpu()

        async def measured() -> tuple[list[Outcome], int, int, float]:
            stop = asyncio.Event()
            watcher = asyncio.create_task(watch(adapter.pid, fake_port, stop))
            start = time.perf_counter()
            outcomes = await load(adapter_port, args.streams, args.ramp_s, args.hang_s)
            wall = time.perf_counter() - start
            stop.set()
            most, peak = await watcher
            return outcomes, most, peak, wall

        outcomes, most, peak_kib, wall = run(measured())
        after = listen_counters()
        cpu = [cpu_seconds(process_tree(child.pid)) - then
               for child, then in zip((adapter, fake), cpu_before, strict=True)]
        cpu.append(_own_cpu() - client_before)
        hwm_kib = memory_kib(process_tree(adapter.pid), "VmHWM")
        if adapter.proc.poll() is not None:
            raise BenchError(f"the adapter died:\n{adapter.log_tail()}")
    kinds = Counter(outcome.kind for outcome in outcomes)
    resets = sum(1 for outcome in outcomes if outcome.kind == "broken" and outcome.detail
                 .startswith(("ConnectionResetError", "ConnectionRefusedError")))
    details = Counter(outcome.detail for outcome in outcomes if outcome.kind != "done")
    latencies = sorted(outcome.latency for outcome in outcomes if outcome.kind == "done")
    print(f"\n{args.streams} streams opened over {args.ramp_s:g} s, one adapter process, "
          f"--backlog {args.backlog} (effective {effective}), fake event gap "
          f"{args.event_gap_ms:g} ms\n")
    print("| measure | value |\n|---|---|")
    rows = [
        ("streams ended with [DONE]", f"{kinds['done']} of {args.streams}"),
        ("connections reset or refused", str(resets)),
        ("other failures", ", ".join(f"{kind}: {count}" for kind, count in kinds.items()
                                     if kind != "done") or "none"),
        ("most streams open at once (at the fake)", str(most)),
        ("stream duration p50 / p99 / max",
         " / ".join(f"{percentile(latencies, q) / 1000:.2f} s" for q in (0.5, 0.99, 1.0))
         if latencies else "-"),
        ("wall time", f"{wall:.1f} s"),
        ("CPU seconds: adapter / fake / client", " / ".join(f"{value:.1f}" for value in cpu)),
        ("adapter RSS at rest / largest seen / VmHWM",
         f"{rest_kib / 1024:.0f} / {peak_kib / 1024:.0f} / {hwm_kib / 1024:.0f} MiB"),
        ("ListenOverflows / ListenDrops during the run",
         " / ".join(str(after.get(name, 0) - before.get(name, 0))
                    for name in ("ListenOverflows", "ListenDrops"))),
        ("net.core.somaxconn", somaxconn),
        ("open files (soft limit)", str(soft)),
    ]
    for name, value in rows:
        print(f"| {name} | {value} |")
    for detail, count in details.most_common(5):
        print(f"  {count} x {detail}")
    if kinds["done"] != args.streams:
        sys.exit(1)


if __name__ == "__main__":
    main()
