"""Settings, read once from the environment.

Each setting is one field of `Settings`, and its default, its environment variable and that
variable's parser are written there, in the field, and nowhere else: `from_env` reads them, and
`documented_defaults` gives each variable's default as the docs write it.
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from pathlib import Path
from typing import Any

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
# The catch-all recordings that `--replay` serves by default: beside the package in a checkout (or
# an editable install); elsewhere (an installed wheel, the container) fixtures/recordings in the
# working directory. `replay.check_directory` refuses to start when neither holds recordings.
_CHECKOUT_RECORDINGS = Path(__file__).resolve().parent.parent / "fixtures" / "recordings"
FIXTURE_RECORDINGS = (_CHECKOUT_RECORDINGS if _CHECKOUT_RECORDINGS.is_dir()
                      else Path("fixtures", "recordings"))
STORE_OFF = "off"  # store_path value that disables the response store
DAY = 86400.0


def _plain(value: object) -> str | None:
    """A default as the docs write it; None when there is nothing to write (unset, off)."""
    if value is None or value is False or value == () or value == frozenset() or value == {}:
        return None
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _in_bytes(value: object) -> str | None:
    """A byte count in MiB or GiB when it is a whole number of them."""
    assert isinstance(value, int)
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20)):
        if value % size == 0:
            return f"{value // size} {unit}"
    return str(value)


def _in_days(value: object) -> str | None:
    assert isinstance(value, float)
    return f"{value / DAY:g}"


@dataclass(frozen=True, slots=True)
class Variable:
    """The environment variable a setting is read from, and how."""

    name: str
    # (variable name, its text, never empty) -> the value; a ValueError naming the variable.
    parse: Callable[[str, str], Any]
    show: Callable[[object], str | None] = _plain  # the default as the docs write it


def _var(name: str, parse: Callable[[str, str], Any],
         show: Callable[[object], str | None] = _plain) -> dict[str, Variable]:
    """The field metadata that ties a setting to its variable."""
    return {"env": Variable(name, parse, show)}


def variable_of(item: Field[Any]) -> Variable | None:
    """The variable a Settings field is read from (None for a field read from none)."""
    spec = item.metadata.get("env")
    return spec if isinstance(spec, Variable) else None


# Parsers: (variable name, non-empty text) -> value.


def _keys(name: str, raw: str) -> tuple[str, ...]:
    """Comma-separated keys."""
    return tuple(key.strip() for key in raw.split(",") if key.strip())


def _key_set(name: str, raw: str) -> frozenset[str]:
    return frozenset(_keys(name, raw))


def _flag(name: str, raw: str) -> bool:
    """`1`, `true` or `yes` (any case) is on; anything else is off."""
    return raw.strip().lower() in ("1", "true", "yes")


def _base_url(name: str, raw: str) -> str:
    return raw.rstrip("/")


def _path(name: str, raw: str) -> Path:
    return Path(raw)


def _choice(*options: str) -> Callable[[str, str], str]:
    """One of `options`, in any case."""
    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in options:
            allowed = " or ".join(repr(option) for option in options)
            raise ValueError(f"{name} must be {allowed}, got {raw!r}")
        return value
    return parse


def _positive_number(name: str, raw: str) -> float:
    """A number above zero (seconds, days)."""
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a positive number, got {raw!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {raw!r}")
    return value


def _seconds_or_zero(name: str, raw: str) -> float:
    """A number of seconds, zero or more."""
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number (0 or more), got {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a number (0 or more), got {raw!r}")
    return value


def _days(name: str, raw: str) -> float:
    """A positive number of days, in seconds."""
    return _positive_number(name, raw) * DAY


def _positive_int(name: str, raw: str) -> int:
    """A whole number above zero (counts, bytes)."""
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a positive whole number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be a positive whole number, got {raw!r}")
    return value


def _whole_number(name: str, raw: str) -> int:
    """A whole number, zero or more."""
    value = raw.strip()
    if not (value.isascii() and value.isdigit()):
        raise ValueError(f"{name} must be a whole number (0 or more), got {raw!r}")
    return int(value)


def _model_map(name: str, raw: str) -> dict[str, str]:
    """`alias=model,alias=model` -> {alias: model}."""
    aliases = {}
    for entry in raw.split(","):
        if not entry.strip():
            continue
        alias, sep, model = entry.partition("=")
        if not sep or not alias.strip() or not model.strip():
            raise ValueError(f"{name} entries look like alias=model, got {entry!r}")
        aliases[alias.strip()] = model.strip().removeprefix("models/")
    return aliases


def _model_name(name: str, raw: str) -> str:
    """One Gemini model id (`models/` dropped)."""
    model = raw.strip().removeprefix("models/")
    if not model or any(char.isspace() or char in ",=" for char in model):
        raise ValueError(f"{name} must be one Gemini model id, got {raw!r}")
    return model


_OFF = ("off", "none")  # what turns the response store off
_POSTGRES = ("postgresql://", "postgres://")  # a response store on PostgreSQL


_LIMIT_NAMES = ("rpm", "tpm", "streams")


def _key_limits(name: str, raw: str) -> dict[str, dict[str, int]]:
    """`key:rpm=60,tpm=100000,streams=4;key:...` -> {key: {"rpm": 60, ...}}: per client key,
    the limits it sets (a limit left out takes the default; 0 is none)."""
    table: dict[str, dict[str, int]] = {}
    for entry in raw.split(";"):
        if not entry.strip():
            continue
        key, sep, spec = entry.strip().rpartition(":")
        limits: dict[str, int] = {}
        for part in spec.split(","):
            limit, equals, value = part.strip().partition("=")
            if limit not in _LIMIT_NAMES or not equals or not value.isdigit():
                limits = {}
                break
            limits[limit] = int(value)
        if not sep or not key.strip() or not limits:
            raise ValueError(f"{name} entries look like key:rpm=60,tpm=100000,streams=4 "
                             f"(any of rpm, tpm, streams), separated by ';'; got {entry!r}")
        table[key.strip()] = limits
    return table


def _store_location(name: str, raw: str) -> str:
    """A file for the response store, a PostgreSQL URL, or `off`/`none` (STORE_OFF)."""
    value = raw.strip()
    if value.lower() in _OFF:
        return STORE_OFF
    if value.lower().startswith(_POSTGRES):
        return value
    if "://" in value:
        raise ValueError(f"{name} is a file, off, or a postgresql:// URL; got another URL "
                         f"({value.partition('://')[0]}://...)")
    return os.path.expanduser(value)


def default_store_path(env: Mapping[str, str]) -> str:
    """$XDG_STATE_HOME/gemini-openai-adapter/responses.sqlite3, or the same under ~/.local/state."""
    state = env.get("XDG_STATE_HOME", "")
    if not os.path.isabs(state):  # unset, empty or relative: the XDG spec says ignore it
        home = env.get("HOME") or str(Path.home())
        state = os.path.join(home, ".local", "state")
    return os.path.join(state, "gemini-openai-adapter", "responses.sqlite3")


def _relative(value: object) -> str | None:
    assert isinstance(value, Path)
    return str(Path(*value.parts[-2:]))


_MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the adapter reads from its environment: each field's default, variable and
    parser are written here and nowhere else."""

    gemini_api_keys: tuple[str, ...] = field(default=(), metadata=_var("GEMINI_API_KEY", _keys))
    gemini_base_url: str = field(default=DEFAULT_BASE_URL,
                                 metadata=_var("GEMINI_BASE_URL", _base_url))
    adapter_api_keys: frozenset[str] = field(default_factory=frozenset,
                                             metadata=_var("ADAPTER_API_KEYS", _key_set))
    # "gemini" (live) or "replay" (recordings, no network)
    upstream: str = field(default="gemini",
                          metadata=_var("ADAPTER_UPSTREAM", _choice("gemini", "replay")))
    replay_dir: Path = field(default=FIXTURE_RECORDINGS,
                             metadata=_var("ADAPTER_REPLAY_DIR", _path, _relative))
    # replay chunks at the pace they were recorded
    replay_timing: bool = field(default=False, metadata=_var("ADAPTER_REPLAY_TIMING", _flag))
    # no recording: ask the live upstream and record it
    replay_fallthrough: bool = field(default=False,
                                     metadata=_var("ADAPTER_REPLAY_FALLTHROUGH", _flag))
    # record every upstream exchange here
    record_dir: Path | None = field(default=None, metadata=_var("ADAPTER_RECORD_DIR", _path))
    connect_timeout: float = field(default=10.0,
                                   metadata=_var("ADAPTER_CONNECT_TIMEOUT", _positive_number))
    # the longest silence from Gemini once its answer has begun
    read_timeout: float = field(default=300.0,
                                metadata=_var("ADAPTER_READ_TIMEOUT", _positive_number))
    # until Gemini's answer begins (a model may think long); None: read_timeout
    first_byte_timeout: float | None = field(
        default=None, metadata=_var("ADAPTER_FIRST_BYTE_TIMEOUT", _positive_number,
                                   lambda _: "ADAPTER_READ_TIMEOUT"))
    # media linked by URL: largest download
    fetch_max_bytes: int = field(default=20 * _MIB,
                                 metadata=_var("ADAPTER_FETCH_MAX_BYTES", _positive_int, _in_bytes))
    fetch_timeout: float = field(default=10.0,
                                 metadata=_var("ADAPTER_FETCH_TIMEOUT", _positive_number))
    # allow media URLs on loopback/private addresses
    fetch_allow_private: bool = field(default=False,
                                      metadata=_var("ADAPTER_FETCH_ALLOW_PRIVATE", _flag))
    # media URLs fetched for one request
    fetch_max_count: int = field(default=32,
                                 metadata=_var("ADAPTER_FETCH_MAX_COUNT", _positive_int))
    # all media fetched for one request
    fetch_max_total_bytes: int = field(
        default=64 * _MIB, metadata=_var("ADAPTER_FETCH_MAX_TOTAL_BYTES", _positive_int, _in_bytes))
    # downloads one request runs at once
    fetch_concurrency: int = field(default=4,
                                   metadata=_var("ADAPTER_FETCH_CONCURRENCY", _positive_int))
    # Stored /v1/responses objects: an SQLite file shared by all workers, or STORE_OFF. The
    # default follows XDG_STATE_HOME and HOME (of the environment `from_env` reads).
    store_path: str = field(
        default_factory=lambda: default_store_path(os.environ),
        metadata=_var("ADAPTER_STORE", _store_location,
                     lambda _: default_store_path({"HOME": "~"})))
    store_retention_seconds: float = field(
        default=30 * DAY, metadata=_var("ADAPTER_STORE_RETENTION_DAYS", _days, _in_days))
    store_max_records: int = field(default=100_000,
                                   metadata=_var("ADAPTER_STORE_MAX_RECORDS", _positive_int))
    # total size of stored records (oldest go first)
    store_max_bytes: int = field(
        default=1024 * _MIB, metadata=_var("ADAPTER_STORE_MAX_BYTES", _positive_int, _in_bytes))
    # connections to a PostgreSQL store, per process
    store_pool_size: int = field(default=10,
                                 metadata=_var("ADAPTER_STORE_POOL_SIZE", _positive_int))
    # /v1/files: the largest file (OpenAI's 512 MB), 413 beyond; Gemini's own limit is 2 GB
    file_max_bytes: int = field(
        default=512 * _MIB, metadata=_var("ADAPTER_FILE_MAX_BYTES", _positive_int, _in_bytes))
    # /v1/files with purpose "batch": the largest batch input (OpenAI's 200 MB), kept in the store
    batch_file_max_bytes: int = field(
        default=200 * _MIB,
        metadata=_var("ADAPTER_BATCH_FILE_MAX_BYTES", _positive_int, _in_bytes))
    # /v1/batches: the most requests (lines) one batch may hold
    batch_max_lines: int = field(default=100_000,
                                 metadata=_var("ADAPTER_BATCH_MAX_LINES", _positive_int))
    # how long the store keeps a batch input file, as Gemini keeps its files (48 hours)
    file_retention_seconds: float = field(
        default=2 * DAY, metadata=_var("ADAPTER_FILE_RETENTION_DAYS", _days, _in_days))
    # file uploads (and batch creations) streamed at once, per process; each holds up to about
    # 17 MiB while an 8 MiB piece of Gemini's resumable upload is gathered and sent
    max_uploads: int = field(default=8, metadata=_var("ADAPTER_MAX_UPLOADS", _positive_int))
    # retries of a refused upstream call, before anything was streamed
    retries: int = field(default=2, metadata=_var("ADAPTER_RETRIES", _whole_number))
    # longest RetryInfo wait honoured; longer goes to the client
    retry_max_wait: float = field(default=10.0,
                                  metadata=_var("ADAPTER_RETRY_MAX_WAIT", _positive_number))
    # concurrent upstream calls per process
    max_streams: int = field(default=1000, metadata=_var("ADAPTER_MAX_STREAMS", _positive_int))
    # how long a request waits for an upstream slot before a 503
    queue_timeout: float = field(default=5.0,
                                 metadata=_var("ADAPTER_QUEUE_TIMEOUT", _positive_number))
    # a client that takes no data for this long loses its stream
    write_timeout: float = field(default=30.0,
                                 metadata=_var("ADAPTER_WRITE_TIMEOUT", _positive_number))
    # largest request body (413 beyond)
    max_body_bytes: int = field(
        default=64 * _MIB, metadata=_var("ADAPTER_MAX_BODY_BYTES", _positive_int, _in_bytes))
    # speech to text: the Gemini model whisper-1 and gpt-4o(-mini)-transcribe stand for
    transcribe_model: str = field(
        default="gemini-2.5-flash",
        metadata=_var("ADAPTER_TRANSCRIBE_MODEL", lambda _, raw: raw.strip().removeprefix(
            "models/")))
    # speech to text: the largest audio file (OpenAI's 25 MB), 413 beyond
    transcribe_max_bytes: int = field(
        default=25 * _MIB,
        metadata=_var("ADAPTER_TRANSCRIBE_MAX_BYTES", _positive_int, _in_bytes))
    # alias -> Gemini model
    model_map: dict[str, str] = field(default_factory=dict,
                                      metadata=_var("ADAPTER_MODEL_MAP", _model_map))
    # the Gemini TTS model behind /v1/audio/speech's tts-1, tts-1-hd and gpt-4o-mini-tts
    tts_model: str = field(default="gemini-2.5-flash-preview-tts",
                           metadata=_var("ADAPTER_TTS_MODEL", _model_name))
    # seconds in-flight streams may finish after SIGTERM
    shutdown_grace: float = field(default=30.0,
                                  metadata=_var("ADAPTER_SHUTDOWN_GRACE", _positive_number))
    # Redis for state shared by every replica (key rests and refusals, client limits)
    redis_url: str | None = field(default=None,
                                  metadata=_var("ADAPTER_REDIS_URL", lambda _, raw: raw.strip()))
    # per client key, by default (0: no limit): requests a minute, tokens a minute, streams
    limit_rpm: int = field(default=0, metadata=_var("ADAPTER_LIMIT_RPM", _whole_number))
    limit_tpm: int = field(default=0, metadata=_var("ADAPTER_LIMIT_TPM", _whole_number))
    limit_streams: int = field(default=0, metadata=_var("ADAPTER_LIMIT_STREAMS", _whole_number))
    # client key -> the limits it sets apart from the defaults
    key_limits: dict[str, dict[str, int]] = field(
        default_factory=dict, metadata=_var("ADAPTER_KEY_LIMITS", _key_limits))
    # after SIGTERM: seconds /ready fails while requests are still served, before the listener
    # closes (0: close at once)
    drain_delay: float = field(default=5.0,
                               metadata=_var("ADAPTER_DRAIN_DELAY", _seconds_or_zero))
    # connections the kernel queues before the adapter accepts them (capped by somaxconn)
    backlog: int = field(default=2048, metadata=_var("ADAPTER_BACKLOG", _positive_int))
    # this replica's name, in every access line and in /metrics
    replica_name: str = field(default_factory=socket.gethostname,
                              metadata=_var("ADAPTER_REPLICA_NAME", lambda _, raw: raw.strip(),
                                            lambda _: "the host name"))
    # the access log: "text" (key=value) or "json"
    log_format: str = field(default="text",
                            metadata=_var("ADAPTER_LOG_FORMAT", _choice("text", "json")))
    # debug: request and response bodies in the access log
    log_bodies: bool = field(default=False, metadata=_var("ADAPTER_LOG_BODIES", _flag))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings `environ` (os.environ by default) asks for: each variable that is set
        and not empty is parsed once; the rest keep their defaults. ValueError names the
        variable that is malformed, or the set-up that cannot work."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for item in fields(cls):
            variable = variable_of(item)
            raw = environ.get(variable.name) if variable is not None else None
            if variable is not None and raw:
                values[item.name] = variable.parse(variable.name, raw)
        values.setdefault("store_path", default_store_path(environ))
        settings = cls(**values)
        live = settings.upstream != "replay" or settings.replay_fallthrough
        if settings.adapter_api_keys and not settings.gemini_api_keys and live:
            # Otherwise the client's adapter key would be sent to Gemini as its key.
            raise ValueError("ADAPTER_API_KEYS is set but GEMINI_API_KEY is not: with client "
                             "keys the adapter needs its own Gemini key(s) to call Gemini")
        return settings

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a response or a log line."""
        return (*self.gemini_api_keys, *self.adapter_api_keys, *self.key_limits)

    @property
    def store_file(self) -> str | None:
        """The response store's SQLite file, or None when storing is off (STORE_OFF, `none` or
        empty) or on PostgreSQL."""
        location = str(self.store_path).strip()
        if not location or location.lower() in _OFF or self.store_url is not None:
            return None
        return location

    @property
    def store_url(self) -> str | None:
        """The response store's PostgreSQL URL, or None when it is not on PostgreSQL."""
        location = str(self.store_path).strip()
        return location if location.lower().startswith(_POSTGRES) else None


def documented_defaults() -> dict[str, str | None]:
    """Each variable and its default as the docs write it (None: unset or off by default)."""
    defaults: dict[str, str | None] = {}
    for item in fields(Settings):
        variable = variable_of(item)
        if variable is None:
            continue
        if item.default is not MISSING:
            default: object = item.default
        else:
            assert item.default_factory is not MISSING
            default = item.default_factory()
        defaults[variable.name] = variable.show(default)
    return defaults
