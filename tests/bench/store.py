"""What the response store costs: `python -m tests.bench.store [--store sqlite|postgres|both]`.

Starts the fake upstream, a real PostgreSQL (tests/real_postgres.py) when asked for, and the
adapter (`python -m adapter`) with ADAPTER_STORE on an SQLite file or on that PostgreSQL; then
runs stored Responses conversations against it, each three requests: a stored answer, a
follow-up with `previous_response_id` (a chain read and a save) and a `GET` of it. Prints
requests/s and the CPU per request of the adapter (and of PostgreSQL's processes) across the
measured phase, read from /proc as tests/bench/run.py does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from ..real_postgres import RealPostgres, postgres_bin_dir
from .procs import BenchError, Child, Usage, cpu_seconds, free_port, process_tree, wait_http
from .workload import responses_request

KEY = {"authorization": "Bearer bench-client"}


async def conversation(client: httpx.AsyncClient) -> int:
    """One stored conversation of three requests; how many of them failed."""
    body = {**responses_request(), "stream": False, "store": True}
    first = await client.post("/v1/responses", json=body)
    if first.status_code != 200:
        return 3
    follow = await client.post("/v1/responses",
                               json={**body, "previous_response_id": first.json()["id"]})
    if follow.status_code != 200:
        return 2
    got = await client.get(f"/v1/responses/{follow.json()['id']}")
    return int(got.status_code != 200)


async def load(port: int, conversations: int, concurrency: int) -> int:
    """Run `conversations` at `concurrency`; the failed requests."""
    todo = iter(range(conversations))
    failed = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failed
        for _ in todo:
            failed += await conversation(client)

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=KEY,
                                 timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return failed


def postgres_pids(server: RealPostgres) -> list[int]:
    postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    return process_tree(postmaster)


@contextlib.contextmanager
def postgres() -> Iterator[RealPostgres]:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise BenchError("PostgreSQL is not installed (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="adapter-bench-pg-"))
    server = RealPostgres(bin_dir, root)
    server.init()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def measure(store: str, args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        fake_port, port = free_port(), free_port()
        fake = Child("fake", [sys.executable, "-m", "tests.bench.fake_upstream",
                              "--port", str(fake_port)], log_dir)
        stack.callback(fake.stop)
        wait_http(fake, fake_port, "/health")
        pg = stack.enter_context(postgres()) if store == "postgres" else None
        location = pg.url() if pg is not None else str(log_dir / f"{store}.sqlite3")
        env = {**os.environ, "GEMINI_BASE_URL": f"http://127.0.0.1:{fake_port}",
               "GEMINI_API_KEY": "bench", "ADAPTER_STORE": location}
        env.pop("ADAPTER_API_KEYS", None)
        adapter = Child(f"adapter-{store}", [
            sys.executable, "-m", "adapter", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(args.workers), "--log-level", "warning"], log_dir, env=env)
        stack.callback(adapter.stop)
        wait_http(adapter, port, "/health")
        asyncio.run(load(port, args.warmup, args.concurrency))
        before = Usage.of(adapter.pid).cpu_s
        pg_before = cpu_seconds(postgres_pids(pg)) if pg is not None else 0.0
        started = time.perf_counter()
        failed = asyncio.run(load(port, args.conversations, args.concurrency))
        elapsed = time.perf_counter() - started
        requests = args.conversations * 3
        pg_cpu = cpu_seconds(postgres_pids(pg)) - pg_before if pg is not None else None
        return {"store": store, "requests": requests, "failed": failed,
                "rps": requests / elapsed,
                "adapter_ms": (Usage.of(adapter.pid).cpu_s - before) * 1000 / requests,
                "postgres_ms": None if pg_cpu is None else pg_cpu * 1000 / requests}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.store",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--conversations", type=int, default=1000,
                        help="measured conversations (three requests each)")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    stores = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    try:
        with tempfile.TemporaryDirectory(prefix="adapter-bench-") as tmp:
            rows = [measure(store, args, Path(tmp)) for store in stores]
    except BenchError as exc:
        sys.exit(f"benchmark failed: {exc}")
    print(f"{args.conversations} conversations x 3 requests, concurrency {args.concurrency}, "
          f"{args.workers} worker(s), {os.cpu_count()} CPUs\n")
    print("| store | req/s | adapter CPU ms/req | PostgreSQL CPU ms/req | failed |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        pg = "—" if row["postgres_ms"] is None else f"{row['postgres_ms']:.2f}"
        print(f"| {row['store']} | {row['rps']:.0f} | {row['adapter_ms']:.2f} | {pg} | "
              f"{row['failed']} |")


if __name__ == "__main__":
    main()
