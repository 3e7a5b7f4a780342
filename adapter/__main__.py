"""`python -m adapter`: serve the adapter with uvicorn."""

from __future__ import annotations

import argparse
import os
import sys

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
    parser.add_argument("--access-log", action="store_true", help="log every request")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # Workers are separate processes that read their settings from the environment.
    if args.upstream:
        os.environ["ADAPTER_UPSTREAM"] = args.upstream
    if args.replay_dir:
        os.environ["ADAPTER_REPLAY_DIR"] = os.path.abspath(args.replay_dir)
    try:
        Settings.from_env()
    except ValueError as exc:
        sys.exit(f"configuration error: {exc}")
    uvicorn.run(
        "adapter.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=args.access_log,
        timeout_graceful_shutdown=30,
    )


if __name__ == "__main__":
    main()
