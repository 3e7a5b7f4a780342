"""Settings, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
FIXTURE_RECORDINGS = Path(__file__).resolve().parent.parent / "fixtures" / "recordings"
STORE_OFF = "off"  # store_path value that disables the response store
DAY = 86400.0


def _split_keys(value: str | None) -> tuple[str, ...]:
    return tuple(key.strip() for key in (value or "").split(",") if key.strip())


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").lower() in ("1", "true", "yes")


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """A positive number from the environment (seconds, or bytes for sizes)."""
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a positive number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {raw!r}")
    return value


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    """A positive whole number from the environment."""
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a positive whole number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {raw!r}")
    return value


def _whole(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number, zero or more, from the environment."""
    raw = env.get(name)
    if not raw:
        return default
    if not raw.isdigit():
        raise ValueError(f"{name} must be a whole number (0 or more), got {raw!r}")
    return int(raw)


def _model_map(raw: str | None) -> dict[str, str]:
    """`alias=model,alias=model` -> {alias: model}."""
    aliases = {}
    for entry in (raw or "").split(","):
        if not entry.strip():
            continue
        alias, sep, model = entry.partition("=")
        if not sep or not alias.strip() or not model.strip():
            raise ValueError(f"ADAPTER_MODEL_MAP entries look like alias=model, got {entry!r}")
        aliases[alias.strip()] = model.strip().removeprefix("models/")
    return aliases


def _log_format(env: Mapping[str, str]) -> str:
    value = (env.get("ADAPTER_LOG_FORMAT") or "text").strip().lower()
    if value not in ("text", "json"):
        raise ValueError(f"ADAPTER_LOG_FORMAT must be 'text' or 'json', got {value!r}")
    return value


def default_store_path(env: Mapping[str, str]) -> str:
    """$XDG_STATE_HOME/gemini-openai-adapter/responses.sqlite3, or the same under ~/.local/state."""
    state = env.get("XDG_STATE_HOME", "")
    if not os.path.isabs(state):  # unset, empty or relative: the XDG spec says ignore it
        home = env.get("HOME") or str(Path.home())
        state = os.path.join(home, ".local", "state")
    return os.path.join(state, "gemini-openai-adapter", "responses.sqlite3")


def _store_path(env: Mapping[str, str]) -> str:
    raw = (env.get("ADAPTER_STORE") or "").strip()
    if not raw:
        return default_store_path(env)
    if raw.lower() in ("off", "none"):
        return STORE_OFF
    return os.path.expanduser(raw)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the adapter reads from its environment."""

    gemini_api_keys: tuple[str, ...] = ()
    gemini_base_url: str = DEFAULT_BASE_URL
    adapter_api_keys: frozenset[str] = field(default_factory=frozenset)
    upstream: str = "gemini"  # "gemini" (live) or "replay" (recordings, no network)
    replay_dir: Path = FIXTURE_RECORDINGS
    replay_timing: bool = False  # replay chunks at the pace they were recorded
    replay_fallthrough: bool = False  # no recording: ask the live upstream and record it
    record_dir: Path | None = None  # record every upstream exchange here
    connect_timeout: float = 10.0
    read_timeout: float = 300.0
    first_byte_timeout: float = 300.0  # until Gemini's answer begins (a model may think long)
    fetch_max_bytes: int = 20 * 1024 * 1024  # media linked by URL: largest download
    fetch_timeout: float = 10.0
    fetch_allow_private: bool = False  # allow media URLs on loopback/private addresses
    fetch_max_count: int = 32  # media URLs fetched for one request
    fetch_max_total_bytes: int = 64 * 1024 * 1024  # all media fetched for one request
    fetch_concurrency: int = 4  # downloads one request runs at once
    # Stored /v1/responses objects: an SQLite file shared by all workers, or "off".
    store_path: str = field(default_factory=lambda: default_store_path(os.environ))
    store_retention_seconds: float = 30 * DAY
    store_max_records: int = 100_000
    store_max_bytes: int = 1024 * 1024 * 1024  # total size of stored records (oldest go first)
    retries: int = 2  # retries of a refused upstream call, before anything was streamed
    retry_max_wait: float = 10.0  # longest RetryInfo wait honoured; longer goes to the client
    max_streams: int = 1000  # concurrent upstream streams per process
    queue_timeout: float = 5.0  # how long a request waits for a stream slot before a 503
    write_timeout: float = 30.0  # a client that takes no data for this long loses its stream
    max_body_bytes: int = 64 * 1024 * 1024  # largest request body (413 beyond)
    model_map: dict[str, str] = field(default_factory=dict)  # alias -> Gemini model
    shutdown_grace: float = 30.0  # seconds in-flight streams may finish after SIGTERM
    log_format: str = "text"  # the access log: "text" (key=value) or "json"
    log_bodies: bool = False  # debug: request and response bodies in the access log

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        upstream = env.get("ADAPTER_UPSTREAM", "gemini")
        if upstream not in ("gemini", "replay"):
            raise ValueError(f"ADAPTER_UPSTREAM must be 'gemini' or 'replay', got {upstream!r}")
        gemini_api_keys = _split_keys(env.get("GEMINI_API_KEY"))
        adapter_api_keys = frozenset(_split_keys(env.get("ADAPTER_API_KEYS")))
        live = upstream != "replay" or _flag(env, "ADAPTER_REPLAY_FALLTHROUGH")
        if adapter_api_keys and not gemini_api_keys and live:
            # Otherwise the client's adapter key would be sent to Gemini as its key.
            raise ValueError("ADAPTER_API_KEYS is set but GEMINI_API_KEY is not: with client "
                             "keys the adapter needs its own Gemini key(s) to call Gemini")
        return cls(
            gemini_api_keys=gemini_api_keys,
            gemini_base_url=(env.get("GEMINI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
            adapter_api_keys=adapter_api_keys,
            upstream=upstream,
            replay_dir=Path(env.get("ADAPTER_REPLAY_DIR") or FIXTURE_RECORDINGS),
            replay_timing=_flag(env, "ADAPTER_REPLAY_TIMING"),
            replay_fallthrough=_flag(env, "ADAPTER_REPLAY_FALLTHROUGH"),
            record_dir=Path(env["ADAPTER_RECORD_DIR"]) if env.get("ADAPTER_RECORD_DIR") else None,
            connect_timeout=_seconds(env, "ADAPTER_CONNECT_TIMEOUT", 10.0),
            read_timeout=_seconds(env, "ADAPTER_READ_TIMEOUT", 300.0),
            first_byte_timeout=_seconds(env, "ADAPTER_FIRST_BYTE_TIMEOUT",
                                        _seconds(env, "ADAPTER_READ_TIMEOUT", 300.0)),
            fetch_max_bytes=int(_seconds(env, "ADAPTER_FETCH_MAX_BYTES", 20 * 1024 * 1024)),
            fetch_timeout=_seconds(env, "ADAPTER_FETCH_TIMEOUT", 10.0),
            fetch_allow_private=_flag(env, "ADAPTER_FETCH_ALLOW_PRIVATE"),
            fetch_max_count=_positive_int(env, "ADAPTER_FETCH_MAX_COUNT", 32),
            fetch_max_total_bytes=_positive_int(env, "ADAPTER_FETCH_MAX_TOTAL_BYTES",
                                                64 * 1024 * 1024),
            fetch_concurrency=_positive_int(env, "ADAPTER_FETCH_CONCURRENCY", 4),
            store_path=_store_path(env),
            store_retention_seconds=_seconds(env, "ADAPTER_STORE_RETENTION_DAYS", 30.0) * DAY,
            store_max_records=_positive_int(env, "ADAPTER_STORE_MAX_RECORDS", 100_000),
            store_max_bytes=_positive_int(env, "ADAPTER_STORE_MAX_BYTES", 1024 * 1024 * 1024),
            retries=_whole(env, "ADAPTER_RETRIES", 2),
            retry_max_wait=_seconds(env, "ADAPTER_RETRY_MAX_WAIT", 10.0),
            max_streams=_positive_int(env, "ADAPTER_MAX_STREAMS", 1000),
            queue_timeout=_seconds(env, "ADAPTER_QUEUE_TIMEOUT", 5.0),
            write_timeout=_seconds(env, "ADAPTER_WRITE_TIMEOUT", 30.0),
            max_body_bytes=_positive_int(env, "ADAPTER_MAX_BODY_BYTES", 64 * 1024 * 1024),
            model_map=_model_map(env.get("ADAPTER_MODEL_MAP")),
            shutdown_grace=_seconds(env, "ADAPTER_SHUTDOWN_GRACE", 30.0),
            log_format=_log_format(env),
            log_bodies=_flag(env, "ADAPTER_LOG_BODIES"),
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a response or a log line."""
        return (*self.gemini_api_keys, *self.adapter_api_keys)
