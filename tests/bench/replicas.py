"""What sharing state across replicas costs: `python -m tests.bench.replicas`.

Three set-ups run the same stored Responses conversations (tests/bench/store.py: a stored answer,
a follow-up with `previous_response_id`, a GET; three requests each) against the benchmark's fake
upstream:

* single host: one adapter process, the default SQLite store, no Redis;
* shared state: one adapter process on a real PostgreSQL store and a real Redis, with per-key
  limits on (set too high to refuse anything, so every request counts in Redis);
* fleet: `--replicas` such processes behind a real haproxy (tests/real_haproxy.py).

Prints requests/s and the CPU per request of each kind of process (adapters, PostgreSQL, Redis,
haproxy) across the measured phase, read from /proc as tests/bench/run.py does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..real_haproxy import haproxy
from ..real_redis import real_redis
from .procs import BenchError, Child, cpu_seconds, free_port, process_tree, wait_http
from .store import load, postgres, postgres_pids

HIGH_LIMIT = "1000000"  # requests (and tokens) a minute: counted, never reached


def start_adapter(name: str, env: dict[str, str], log_dir: Path,
                  stack: contextlib.ExitStack) -> tuple[Child, int]:
    port = free_port()
    adapter = Child(name, [sys.executable, "-m", "adapter", "--host", "127.0.0.1", "--port",
                           str(port), "--log-level", "warning"], log_dir, env=env)
    stack.callback(adapter.stop)
    wait_http(adapter, port, "/health")
    return adapter, port


def measure(setup: str, replicas: int, args: argparse.Namespace,
            log_dir: Path) -> dict[str, Any]:
    """One set-up's req/s and CPU ms per request by kind of process."""
    with contextlib.ExitStack() as stack:
        fake_port = free_port()
        fake = Child("fake", [sys.executable, "-m", "tests.bench.fake_upstream",
                              "--port", str(fake_port)], log_dir)
        stack.callback(fake.stop)
        wait_http(fake, fake_port, "/health")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "ADAPTER_"))}
        env.update(GEMINI_BASE_URL=f"http://127.0.0.1:{fake_port}", GEMINI_API_KEY="bench",
                   ADAPTER_DRAIN_DELAY="0")
        kinds: dict[str, Callable[[], list[int]]] = {}
        if setup == "single host":
            env["ADAPTER_STORE"] = str(log_dir / "single.sqlite3")
        else:
            pg = stack.enter_context(postgres())
            redis = stack.enter_context(real_redis())
            env.update(ADAPTER_STORE=pg.url(), ADAPTER_REDIS_URL=redis.url,
                       ADAPTER_LIMIT_RPM=HIGH_LIMIT, ADAPTER_LIMIT_TPM=HIGH_LIMIT)
            kinds["PostgreSQL"] = lambda: postgres_pids(pg)
            kinds["Redis"] = lambda: [redis.process.pid] if redis.process else []
        adapters = [start_adapter(f"adapter-{i}", {**env, "ADAPTER_REPLICA_NAME": f"r{i}"},
                                  log_dir, stack) for i in range(replicas)]
        kinds["adapters"] = lambda: [pid for child, _ in adapters
                                     for pid in process_tree(child.pid)]
        port = adapters[0][1]
        if replicas > 1:
            balancer = stack.enter_context(haproxy([f"http://127.0.0.1:{p}"
                                                    for _, p in adapters]))
            port = int(balancer.url.rsplit(":", 1)[1])
            kinds["haproxy"] = lambda: [balancer.process.pid]
        asyncio.run(load(port, args.warmup, args.concurrency))
        before = {kind: cpu_seconds(pids()) for kind, pids in kinds.items()}
        started = time.perf_counter()
        failed = asyncio.run(load(port, args.conversations, args.concurrency))
        elapsed = time.perf_counter() - started
        requests = args.conversations * 3
        cpu_ms = {kind: (cpu_seconds(pids()) - before[kind]) * 1000 / requests
                  for kind, pids in kinds.items()}
        return {"setup": setup, "replicas": replicas, "requests": requests, "failed": failed,
                "rps": requests / elapsed, "cpu_ms": cpu_ms}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.replicas",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=500,
                        help="measured conversations (three requests each)")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--replicas", type=int, default=3)
    args = parser.parse_args(argv)
    setups = [("single host", 1), ("shared state", 1), ("fleet", args.replicas)]
    try:
        with tempfile.TemporaryDirectory(prefix="adapter-bench-") as tmp:
            rows = [measure(setup, count, args, Path(tmp)) for setup, count in setups]
    except BenchError as exc:
        sys.exit(f"benchmark failed: {exc}")
    print(f"{args.conversations} conversations x 3 requests, concurrency {args.concurrency}, "
          f"{os.cpu_count()} CPUs\n")
    kinds = ["adapters", "PostgreSQL", "Redis", "haproxy"]
    print("| set-up | replicas | req/s | " + " | ".join(f"{k} CPU ms/req" for k in kinds)
          + " | total CPU ms/req | failed |")
    print("|---|---:|---:|" + "---:|" * len(kinds) + "---:|---:|")
    for row in rows:
        cells = [f"{row['cpu_ms'][k]:.2f}" if k in row["cpu_ms"] else "—" for k in kinds]
        print(f"| {row['setup']} | {row['replicas']} | {row['rps']:.0f} | " + " | ".join(cells)
              + f" | {sum(row['cpu_ms'].values()):.2f} | {row['failed']} |")


if __name__ == "__main__":
    main()
