"""Hostile requests against a running adapter: `python -m tests.bench.hostile [--adapter-dir DIR]`.

Each class of request of issue 13 (leaked stream slots, schema bombs, image URLs, a large image
edit, a slow reader, store growth, 500s on bad input, a key in a stream, stored responses read
by another caller) is sent to a fresh `python -m adapter` process over a fake Gemini
(`hostile_upstream.py`), and the figures are printed as a Markdown table: the status, what the
scenario measures, the adapter's peak and current RSS (VmHWM / VmRSS) and the slowest /health
answer while the hostile request was served (polled every ~5 ms by `health_poll.py`).

`--adapter-dir DIR` runs the adapter from another checkout (cwd and PYTHONPATH DIR), so the same
command measures the code before and after a change.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import aio
from .hostile_harness import Bench, Row
from .hostile_scenarios import SCENARIOS
from .procs import ROOT, BenchError, Child, free_port, wait_http


async def run_all(bench: Bench, chosen: list[str]) -> list[Row]:
    rows = []
    for number in chosen:
        started = time.perf_counter()
        print(f"scenario {number} ...", end=" ", file=sys.stderr, flush=True)
        rows += await SCENARIOS[number](bench)
        print(f"{time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return rows


def number(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def table(rows: list[Row]) -> str:
    lines = ["| # | hostile request | status | figures | adapter peak RSS MiB | RSS after MiB "
             "| slowest /health ms |",
             "|---|---|---|---|--:|--:|--:|"]
    for row in rows:
        m = row.measured
        health = "—"
        if m is not None and m.health_s is not None:
            health = number(m.health_s * 1000, 1)
            if m.health_failures:
                health += f" ({m.health_failures} failed)"
        lines.append(f"| {row.number} | {row.request} | {row.status} | "
                     f"{'; '.join(row.figures)} | {number(m and m.peak_mib)} | "
                     f"{number(m and m.after_mib)} | {health} |")
    return "\n".join(lines)


def describe(code_dir: Path) -> str:
    """The checkout's commit, and whether it has uncommitted changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(code_dir), *args], capture_output=True,
                              text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "not a git checkout"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "adapter")
    return f"{commit}{' + uncommitted changes in adapter/' if dirty else ''}"


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.hostile",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--adapter-dir", type=Path, default=ROOT,
                        help="checkout whose adapter/ is measured (default: this one)")
    parser.add_argument("--only", default=",".join(SCENARIOS),
                        help="scenarios to run, e.g. 1,5 (default: all)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the logs and stores (their folder is printed)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    code_dir = args.adapter_dir.resolve()
    chosen = [part.strip() for part in args.only.split(",") if part.strip()]
    if not (code_dir / "adapter" / "__main__.py").is_file() or set(chosen) - set(SCENARIOS):
        sys.exit("usage: --adapter-dir must hold adapter/; --only takes numbers 1 to 8")
    work = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    load_before, started = load(), time.perf_counter()
    port = free_port()
    upstream = Child("upstream", [sys.executable, "-m", "tests.bench.hostile_upstream",
                                  "--port", str(port)], work)
    try:
        wait_http(upstream, port, "/health")
        rows = aio.run(run_all(Bench(code_dir, port, work), chosen))
    except BenchError as exc:
        sys.exit(f"hostile bench: {exc}")
    finally:
        upstream.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"Adapter code: `{code_dir}` at {describe(code_dir)}; Python "
          f"{platform.python_version()}, {os.cpu_count()} CPUs; load average {load_before} "
          f"before, {load()} after; {time.perf_counter() - started:.0f} s in all."
          + (f" Logs and stores: {work}" if args.keep else ""))
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
