"""`python -m adapter`: serve the adapter with uvicorn."""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import resource
import sys
import tempfile
from typing import Any

import uvicorn

from .config import FIXTURE_RECORDINGS, Settings
from .replay import check_directory


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m adapter",
        description="Serve OpenAI's API (Chat Completions, Responses, embeddings, images, models) "
                    "over Google Gemini.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument(
        "--backlog", type=int, default=None,
        help="connections the kernel queues before they are accepted (env ADAPTER_BACKLOG, "
             "default 2048; the kernel caps it at net.core.somaxconn)")
    parser.add_argument(
        "--record", metavar="DIR", default=None,
        help="write every upstream exchange into DIR as it happens (env ADAPTER_RECORD_DIR)")
    parser.add_argument(
        "--replay", metavar="DIR", nargs="?", const=str(FIXTURE_RECORDINGS), default=None,
        help="answer from the recordings in DIR, with no network and no key (default: the "
             "recorded examples in fixtures/recordings, of the checkout or else of the working "
             "directory; env ADAPTER_UPSTREAM=replay and ADAPTER_REPLAY_DIR)")
    parser.add_argument("--replay-timing", action="store_true",
                        help="replay each chunk at the pace it was recorded")
    parser.add_argument("--replay-fallthrough", action="store_true",
                        help="send requests with no recording to the live upstream and record "
                             "them into the replay directory")
    parser.add_argument("--log-level", default="info",
                        choices=("critical", "error", "warning", "info", "debug"))
    parser.add_argument("--access-log", action="store_true",
                        help="uvicorn's own access log too (the adapter's, on the logger "
                             "adapter.access, is always on at --log-level info)")
    return parser.parse_args(argv)


def logging_config(level: str) -> dict[str, Any]:
    """uvicorn's logging set-up plus the adapter's access log: one line per request on stdout,
    as the adapter wrote it (key=value text, or JSON with ADAPTER_LOG_FORMAT=json, each with
    its time). Workers are configured from it too (uvicorn hands it to each)."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["formatters"]["adapter_access"] = {"format": "%(message)s"}
    config["handlers"]["adapter_access"] = {
        "class": "logging.StreamHandler", "formatter": "adapter_access",
        "stream": "ext://sys.stdout"}
    config["loggers"]["adapter.access"] = {
        "handlers": ["adapter_access"], "level": level.upper(), "propagate": False}
    return config


def raise_open_files() -> None:
    """The soft limit on open files up to the hard one (workers inherit it): every open stream
    holds two descriptors, the client's connection and the upstream's, and a soft limit of 1024
    (common in containers) would refuse connections past some 500 streams."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):  # an unlimited hard limit (macOS)
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    raise_open_files()
    # Workers are separate processes that read their settings from the environment.
    if args.record:
        os.environ["ADAPTER_RECORD_DIR"] = os.path.abspath(args.record)
    if args.replay:
        os.environ["ADAPTER_UPSTREAM"] = "replay"
        os.environ["ADAPTER_REPLAY_DIR"] = os.path.abspath(args.replay)
    if args.replay_timing:
        os.environ["ADAPTER_REPLAY_TIMING"] = "1"
    if args.replay_fallthrough:
        os.environ["ADAPTER_REPLAY_FALLTHROUGH"] = "1"
    if args.backlog is not None:
        os.environ["ADAPTER_BACKLOG"] = str(args.backlog)
    try:
        settings = Settings.from_env()
        if settings.upstream == "replay":
            check_directory(settings.replay_dir, settings.replay_fallthrough)
    except ValueError as exc:
        sys.exit(f"configuration error: {exc}")
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # /metrics sums the workers' metrics, which each keeps in files in this directory
        # (removed when this process ends).
        metrics_dir = tempfile.TemporaryDirectory(prefix="adapter-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir.name
    uvicorn.run(
        "adapter.app:create_app",
        factory=True,
        http="adapter.connection:HTTPProtocol",  # drops clients that stop reading
        host=args.host,
        port=args.port,
        workers=args.workers,
        backlog=settings.backlog,
        log_level=args.log_level,
        access_log=args.access_log,
        log_config=logging_config(args.log_level),
        # uvicorn annotates this as int, but hands it to asyncio.wait_for: fractions of a
        # second work.
        timeout_graceful_shutdown=settings.shutdown_grace,  # type: ignore[arg-type]
    )


if __name__ == "__main__":
    main()
