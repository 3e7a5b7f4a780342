"""Benchmark the adapter against a fake Gemini upstream: `python -m tests.bench.run`.

Starts the fake upstream and the adapter (`python -m adapter --workers N`) as subprocesses on
127.0.0.1, then for each case runs the load generator in a process of its own: a warm-up, then
a measured phase, around which the adapter's CPU time is read from /proc. Prints a Markdown
table. Every child process is stopped on the way out, also on Ctrl-C or an error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from .procs import BenchError, Child, Usage, free_port, wait_http
from .workload import EVENTS

# Extra environment for the adapter process (experiments: e.g. another upstream mode).
EXTRA_ENV: dict[str, str] = {}


@dataclass(frozen=True, slots=True)
class Case:
    """One measured load: who is called, how, and how hard."""

    target: str  # "adapter" or "fake"
    mode: str  # loadgen mode: stream, responses, nonstream, gemini
    concurrency: int
    requests: int


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table: a case, the load generator's result, the servers' counters."""

    case: Case
    result: dict[str, Any]
    adapter_cpu_ms: float | None
    fake_cpu_ms: float
    usage: Usage | None


@dataclass(slots=True)
class Services:
    """The two long-lived servers of a run."""

    fake: Child
    fake_port: int
    adapter: Child
    adapter_port: int


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.run",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000,
                        help="measured requests per loaded case (default 2000)")
    parser.add_argument("--concurrency", type=int, default=16,
                        help="connections of the loaded cases (default 16)")
    parser.add_argument("--workers", type=int, default=1, help="adapter worker processes")
    parser.add_argument("--scenario", choices=("stream", "responses", "nonstream", "all"),
                        default="all")
    parser.add_argument("--warmup", type=int, default=300, help="warm-up requests per case")
    parser.add_argument("--serial-requests", type=int, default=300,
                        help="measured requests at concurrency 1 (0 skips those cases)")
    parser.add_argument("--event-gap-ms", type=float, default=0.0,
                        help="pause of the fake upstream between two events (default none)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the cases that call the fake upstream directly")
    parser.add_argument("--record", action="store_true",
                        help="run the adapter with --record into the log directory (what "
                             "recording costs)")
    return parser.parse_args(argv)


def plan(args: argparse.Namespace) -> list[Case]:
    """The cases to run, loaded ones first, each followed by its concurrency-1 twin."""
    modes = ["stream", "responses", "nonstream"] if args.scenario == "all" else [args.scenario]
    targets = [("adapter", mode) for mode in modes]
    if not args.no_baseline:
        targets.append(("fake", "gemini"))
    loads = [(args.concurrency, args.requests)]
    if args.serial_requests and args.concurrency != 1:
        loads.append((1, args.serial_requests))
    return [Case(target, mode, conc, n) for target, mode in targets for conc, n in loads]


@contextlib.contextmanager
def services(args: argparse.Namespace, log_dir: Path) -> Iterator[Services]:
    """The fake upstream and the adapter, up and answering, stopped when the block ends."""
    with contextlib.ExitStack() as stack:
        fake_port, adapter_port = free_port(), free_port()
        fake = Child("fake", [sys.executable, "-m", "tests.bench.fake_upstream",
                              "--port", str(fake_port), "--event-gap-ms", str(args.event_gap_ms)],
                     log_dir)
        stack.callback(fake.stop)
        wait_http(fake, fake_port, "/health")
        env = {**os.environ, "GEMINI_BASE_URL": f"http://127.0.0.1:{fake_port}",
               "GEMINI_API_KEY": "bench", "ADAPTER_UPSTREAM": "gemini", **EXTRA_ENV}
        env.pop("ADAPTER_API_KEYS", None)
        if args.record:
            env["ADAPTER_RECORD_DIR"] = str(log_dir / "recordings")
        adapter = Child("adapter", [sys.executable, "-m", "adapter", "--host", "127.0.0.1",
                                    "--port", str(adapter_port), "--workers", str(args.workers),
                                    "--log-level", "warning"], log_dir, env=env)
        stack.callback(adapter.stop)
        wait_http(adapter, adapter_port, "/health")
        yield Services(fake, fake_port, adapter, adapter_port)


def warmup(case: Case, args: argparse.Namespace) -> int:
    """Warm-up requests of a case: --warmup, but at most a quarter of its measured ones."""
    return min(args.warmup, max(case.requests // 4, case.concurrency))


def run_case(case: Case, svc: Services, args: argparse.Namespace, log_dir: Path) -> Row:
    """One load generator run; the servers' CPU is read just around its measured phase."""
    port = svc.adapter_port if case.target == "adapter" else svc.fake_port
    loadgen = Child(f"loadgen-{case.mode}-c{case.concurrency}", [
        sys.executable, "-m", "tests.bench.loadgen", "--port", str(port), "--mode", case.mode,
        "--requests", str(case.requests), "--warmup", str(warmup(case, args)),
        "--concurrency", str(case.concurrency), "--wait",
    ], log_dir, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert loadgen.proc.stdin is not None and loadgen.proc.stdout is not None
        line = loadgen.proc.stdout.readline().strip()
        if line != "ready":
            raise BenchError(f"warm-up of {case} failed: {line or 'no output'}\n"
                             f"{loadgen.log_tail()}\n{svc.adapter.log_tail()}")
        before, fake_before = Usage.of(svc.adapter.pid), Usage.of(svc.fake.pid)
        loadgen.proc.stdin.write("go\n")
        loadgen.proc.stdin.flush()
        line = loadgen.proc.stdout.readline()
        after, fake_after = Usage.of(svc.adapter.pid), Usage.of(svc.fake.pid)
        if not line:
            raise BenchError(f"load generator died during {case}:\n{loadgen.log_tail()}")
    finally:
        loadgen.stop()
    result = json.loads(line)
    done = max(result["ok"] + result["errors"], 1)
    adapter = case.target == "adapter"
    return Row(case, result,
               (after.cpu_s - before.cpu_s) * 1000 / done if adapter else None,
               (fake_after.cpu_s - fake_before.cpu_s) * 1000 / done,
               after if adapter else None)


LEGEND = (
    "req/s, p50, p99 and TTFB (time to the response head) are the load generator's, over the "
    "measured requests. CPU ms/req: utime + stime from /proc/<pid>/stat of the process (and its "
    "worker children) across the measured phase, divided by the requests. RSS: VmRSS after the "
    "case / VmHWM (peak), summed over the adapter's processes. The baseline rows send Gemini's "
    "own request straight to the fake: what the load generator and the fake cost without the "
    "adapter."
)


def _ms(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _label(case: Case) -> tuple[str, str]:
    if case.target == "fake":
        return "fake Gemini, direct (baseline)", f"Gemini SSE, {EVENTS} events"
    if case.mode == "stream":
        return "adapter", f"stream, {EVENTS} events"
    if case.mode == "responses":
        return "adapter", f"Responses stream, {EVENTS} events"
    return "adapter", "non-stream"


def table(rows: list[Row]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| target | scenario | conc. | requests | errors | req/s | p50 ms | p99 ms | TTFB p50 ms "
        "| adapter CPU ms/req | adapter RSS MiB (now / max) | fake CPU ms/req |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        result, usage = row.result, row.usage
        rss = "—" if usage is None else f"{usage.rss_kib / 1024:.1f} / {usage.hwm_kib / 1024:.1f}"
        target, scenario = _label(row.case)
        lines.append(
            f"| {target} | {scenario} | {row.case.concurrency} | {result['ok']} "
            f"| {result['errors']} | {result['rps']:.0f} | {_ms(result['p50_ms'])} "
            f"| {_ms(result['p99_ms'])} | {_ms(result['ttfb_p50_ms'])} "
            f"| {_ms(row.adapter_cpu_ms)} | {rss} | {_ms(row.fake_cpu_ms)} |")
    return "\n".join(lines)


def comparison(rows: list[Row]) -> list[str]:
    """Adapter CPU of the Responses stream against the Chat Completions stream, per load."""
    cpu = {(row.case.mode, row.case.concurrency): row.adapter_cpu_ms for row in rows
           if row.case.target == "adapter"}
    lines = []
    for (mode, concurrency), responses in cpu.items():
        chat = cpu.get(("stream", concurrency))
        if mode == "responses" and responses is not None and chat:
            lines.append(f"Adapter CPU at concurrency {concurrency}: Responses stream "
                         f"{responses:.2f} ms/req, chat stream {chat:.2f} ms/req "
                         f"({(responses / chat - 1) * 100:+.0f} %).")
    return lines


def environment(args: argparse.Namespace) -> str:
    """One line on what the numbers were measured on."""
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    return (f"Python {platform.python_version()}, {os.cpu_count()} CPUs ({cpu}), "
            f"adapter --workers {args.workers}, fake upstream event gap {args.event_gap_ms:g} ms, "
            f"warm-up up to {args.warmup} requests per case.")


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)  # even when started with SIGINT ignored
    rows: list[Row] = []
    try:
        with tempfile.TemporaryDirectory(prefix="adapter-bench-") as tmp, \
                services(args, Path(tmp)) as svc:
            for case in plan(args):
                print(f"running {case.target} {case.mode} at concurrency {case.concurrency}"
                      f" ({case.requests} requests)...", file=sys.stderr, flush=True)
                rows.append(run_case(case, svc, args, Path(tmp)))
                if rows[-1].result["errors"]:
                    print(f"  errors: {rows[-1].result['error_kinds']}\n"
                          f"{svc.adapter.log_tail(10)}", file=sys.stderr)
    except BenchError as exc:
        sys.exit(f"benchmark failed: {exc}")
    except KeyboardInterrupt:
        sys.exit("benchmark interrupted; all its processes are stopped")
    print(environment(args))
    print()
    print(table(rows))
    if lines := comparison(rows):
        print()
        print("\n".join(lines))
    print()
    print(LEGEND)
    for row in rows:
        if row.result["errors"]:
            print(f"\nErrors of {' / '.join(_label(row.case))} at concurrency "
                  f"{row.case.concurrency}: {row.result['error_kinds']}")


if __name__ == "__main__":
    main()
