"""`python -m adapter`: serve the adapter with uvicorn."""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
from typing import Any

import uvicorn

from .config import Settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m adapter",
        description="Serve the OpenAI Chat Completions API over Google Gemini.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument(
        "--upstream", choices=("gemini", "replay"), default=None,
        help="'gemini' calls GEMINI_BASE_URL; 'replay' answers from recorded Gemini streams "
             "in fixtures/ with no key and no network (env ADAPTER_UPSTREAM)")
    parser.add_argument("--replay-dir", default=None,
                        help="directory of recordings for --upstream replay")
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


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # Workers are separate processes that read their settings from the environment.
    if args.upstream:
        os.environ["ADAPTER_UPSTREAM"] = args.upstream
    if args.replay_dir:
        os.environ["ADAPTER_REPLAY_DIR"] = os.path.abspath(args.replay_dir)
    try:
        settings = Settings.from_env()
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
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=args.access_log,
        log_config=logging_config(args.log_level),
        timeout_graceful_shutdown=settings.shutdown_grace,
    )


if __name__ == "__main__":
    main()
