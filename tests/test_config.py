"""Settings: each variable parsed once, defaults from the dataclass, malformed values refused
by name, and set-ups that would leak (client keys with no Gemini key of the server's) refused."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from adapter.app import create_app
from adapter.config import STORE_OFF, Settings, default_store_path, documented_defaults

ROOT = Path(__file__).resolve().parent.parent


def test_client_keys_without_a_gemini_key_refuse_to_start() -> None:
    with pytest.raises(ValueError, match="GEMINI_API_KEY"):
        Settings.from_env({"ADAPTER_API_KEYS": "team-a"})


def test_client_keys_with_a_gemini_key_start() -> None:
    settings = Settings.from_env({"ADAPTER_API_KEYS": "team-a", "GEMINI_API_KEY": "g"})
    assert settings.adapter_api_keys == frozenset({"team-a"})


def test_an_offline_replay_needs_no_gemini_key() -> None:
    env = {"ADAPTER_API_KEYS": "team-a", "ADAPTER_UPSTREAM": "replay"}
    assert Settings.from_env(env).upstream == "replay"
    with pytest.raises(ValueError, match="GEMINI_API_KEY"):
        Settings.from_env({**env, "ADAPTER_REPLAY_FALLTHROUGH": "1"})


def test_the_command_says_why_it_will_not_start() -> None:
    env = {"ADAPTER_API_KEYS": "team-a", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "adapter", "--port", "1"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "configuration error" in done.stderr and "GEMINI_API_KEY" in done.stderr
    assert "team-a" not in done.stderr


# Every variable: parsed once, defaults from the dataclass, malformed values refused by name

NUMBERS = ["abc", "0", "-1", "nan", "inf", "10s"]
WHOLE_POSITIVE = ["abc", "0", "-5", "1.5", "1e3"]
MALFORMED: dict[str, list[str]] = {
    "ADAPTER_UPSTREAM": ["live", "gemini,replay"],
    "ADAPTER_LOG_FORMAT": ["xml", "text json"],
    "ADAPTER_RETRIES": ["-1", "two", "1.5", "\u00b2"],
    **{name: ["-1", "two", "1.5"] for name in (
        "ADAPTER_LIMIT_RPM", "ADAPTER_LIMIT_TPM", "ADAPTER_LIMIT_STREAMS")},
    "ADAPTER_KEY_LIMITS": ["team-a", "team-a:rpm", "team-a:rpm=x", "team-a:rps=5", ":rpm=5",
                           "team-a:rpm=5;team-b"],
    "ADAPTER_MODEL_MAP": ["gpt-4o", "=gemini-2.5-pro", "gpt-4o=", "a=b,c"],
    "ADAPTER_TTS_MODEL": ["a b", "tts=gemini", "models/"],
    "ADAPTER_DRAIN_DELAY": ["abc", "-1", "nan", "inf", "10s"],
    **{name: NUMBERS for name in (
        "ADAPTER_CONNECT_TIMEOUT", "ADAPTER_READ_TIMEOUT", "ADAPTER_FIRST_BYTE_TIMEOUT",
        "ADAPTER_FETCH_TIMEOUT", "ADAPTER_RETRY_MAX_WAIT", "ADAPTER_QUEUE_TIMEOUT",
        "ADAPTER_WRITE_TIMEOUT", "ADAPTER_SHUTDOWN_GRACE", "ADAPTER_STORE_RETENTION_DAYS",
        "ADAPTER_FILE_RETENTION_DAYS")},
    **{name: WHOLE_POSITIVE for name in (
        "ADAPTER_FETCH_MAX_BYTES", "ADAPTER_FETCH_MAX_COUNT", "ADAPTER_FETCH_MAX_TOTAL_BYTES",
        "ADAPTER_FETCH_CONCURRENCY", "ADAPTER_STORE_MAX_RECORDS", "ADAPTER_STORE_MAX_BYTES",
        "ADAPTER_STORE_POOL_SIZE",
        "ADAPTER_MAX_STREAMS", "ADAPTER_MAX_BODY_BYTES", "ADAPTER_BACKLOG",
        "ADAPTER_TRANSCRIBE_MAX_BYTES", "ADAPTER_FILE_MAX_BYTES", "ADAPTER_BATCH_FILE_MAX_BYTES",
        "ADAPTER_BATCH_MAX_LINES", "ADAPTER_MAX_UPLOADS")},
}
# Variables any text is a value of: keys, URLs, paths, flags (anything but 1/true/yes is off).
TAKES_ANY_TEXT = {"GEMINI_API_KEY", "GEMINI_BASE_URL", "ADAPTER_API_KEYS", "ADAPTER_REPLAY_DIR",
                  "ADAPTER_REPLAY_TIMING", "ADAPTER_REPLAY_FALLTHROUGH", "ADAPTER_RECORD_DIR",
                  "ADAPTER_FETCH_ALLOW_PRIVATE", "ADAPTER_STORE", "ADAPTER_LOG_BODIES",
                  "ADAPTER_REPLICA_NAME", "ADAPTER_REDIS_URL", "ADAPTER_TRANSCRIBE_MODEL"}


def test_every_variable_is_in_one_of_the_tables_above() -> None:
    variables = set(documented_defaults())
    assert variables == set(MALFORMED) | TAKES_ANY_TEXT
    assert not set(MALFORMED) & TAKES_ANY_TEXT


@pytest.mark.parametrize(("name", "raw"), [
    (name, raw) for name, values in MALFORMED.items() for raw in values])
def test_a_malformed_variable_is_refused_by_name(name: str, raw: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({"GEMINI_API_KEY": "g", name: raw})


class CountingEnv(dict[str, str]):
    """An environment that counts how often each variable is read."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.reads: Counter[str] = Counter()

    def get(self, key: str, default: Any = None) -> Any:
        self.reads[key] += 1
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.reads[key] += 1
        return super().__getitem__(key)


def test_each_variable_is_read_once() -> None:
    env = CountingEnv({name: "1" for name in documented_defaults()} | {
        "ADAPTER_UPSTREAM": "gemini", "ADAPTER_LOG_FORMAT": "json", "ADAPTER_MODEL_MAP": "a=b",
        "ADAPTER_KEY_LIMITS": "k:rpm=1"})
    Settings.from_env(env)
    assert {name: env.reads[name] for name in documented_defaults()} == {
        name: 1 for name in documented_defaults()}


def test_unset_and_empty_variables_take_the_dataclass_defaults() -> None:
    env = {"HOME": "/h"}
    expected = replace(Settings(), store_path=default_store_path(env))
    assert Settings.from_env(env) == expected
    assert Settings.from_env(env | {name: "" for name in documented_defaults()}) == expected


@pytest.mark.parametrize(("name", "raw", "attribute", "value"), [
    ("ADAPTER_CONNECT_TIMEOUT", "2.5", "connect_timeout", 2.5),
    ("ADAPTER_FETCH_MAX_BYTES", "1000", "fetch_max_bytes", 1000),
    ("ADAPTER_RETRIES", "0", "retries", 0),
    ("ADAPTER_RETRIES", " 3 ", "retries", 3),
    ("ADAPTER_UPSTREAM", "Replay", "upstream", "replay"),
    ("ADAPTER_LOG_FORMAT", " JSON ", "log_format", "json"),
    ("ADAPTER_LOG_BODIES", "yes", "log_bodies", True),
    ("ADAPTER_LOG_BODIES", "0", "log_bodies", False),
    ("ADAPTER_REPLAY_DIR", "/rec", "replay_dir", Path("/rec")),
    ("GEMINI_BASE_URL", "https://host/api/", "gemini_base_url", "https://host/api"),
    ("GEMINI_API_KEY", " a, b ,,", "gemini_api_keys", ("a", "b")),
    ("ADAPTER_TTS_MODEL", " models/gemini-2.5-pro-preview-tts ", "tts_model",
     "gemini-2.5-pro-preview-tts"),
    ("ADAPTER_MODEL_MAP", "gpt-4o=models/gemini-2.5-pro, mini = gemini-2.5-flash",
     "model_map", {"gpt-4o": "gemini-2.5-pro", "mini": "gemini-2.5-flash"}),
])
def test_values_are_parsed(name: str, raw: str, attribute: str, value: object) -> None:
    assert getattr(Settings.from_env({name: raw}), attribute) == value


def test_the_first_byte_timeout_is_the_read_timeout_unless_set() -> None:
    assert Settings.from_env({"ADAPTER_READ_TIMEOUT": "12"}).first_byte_timeout is None
    assert Settings.from_env({"ADAPTER_READ_TIMEOUT": "12",
                              "ADAPTER_FIRST_BYTE_TIMEOUT": "40"}).first_byte_timeout == 40.0
    for settings, expected in ((Settings(read_timeout=12.0), 12.0),
                               (Settings(read_timeout=12.0, first_byte_timeout=40.0), 40.0)):
        app = create_app(replace(settings, store_path=STORE_OFF),
                         httpx.MockTransport(lambda request: httpx.Response(500)))
        with TestClient(app):
            assert app.state.adapter.gemini.first_byte_timeout == expected


@pytest.mark.parametrize(("path", "file"), [
    ("off", None), ("OFF", None), (" none ", None), ("", None), ("  ", None),
    ("/data/a.db", "/data/a.db"), (" /data/a.db ", "/data/a.db")])
def test_the_store_is_off_in_one_place(path: str, file: str | None) -> None:
    assert Settings(store_path=path).store_file == file


def test_documented_defaults_are_the_dataclass_defaults() -> None:
    defaults = documented_defaults()
    assert defaults["ADAPTER_READ_TIMEOUT"] == "300"
    assert defaults["ADAPTER_FIRST_BYTE_TIMEOUT"] == "ADAPTER_READ_TIMEOUT"
    assert defaults["ADAPTER_MAX_BODY_BYTES"] == "64 MiB"
    assert defaults["ADAPTER_STORE_MAX_BYTES"] == "1 GiB"
    assert defaults["ADAPTER_STORE_RETENTION_DAYS"] == "30"
    assert defaults["ADAPTER_STORE"] == "~/.local/state/gemini-openai-adapter/responses.sqlite3"
    assert defaults["ADAPTER_REPLAY_DIR"] == "fixtures/recordings"
    assert defaults["ADAPTER_LOG_BODIES"] is None
    assert defaults["GEMINI_API_KEY"] is None


# The docs' configuration table (docs/configuration.md, else the README's table)

DOCS = next(path for path in (ROOT / "docs" / "configuration.md", ROOT / "README.md")
            if path.exists())
LONG = 48  # a default longer than this (a path) may be given beside the table, anywhere in DOCS


def table_rows(name: str) -> list[str]:
    return [line for line in DOCS.read_text().splitlines()
            if line.startswith("|") and f"`{name}`" in line]


@pytest.mark.parametrize(("name", "default"), documented_defaults().items())
def test_the_docs_table_has_every_variable_with_its_default(name: str,
                                                            default: str | None) -> None:
    rows = table_rows(name)
    assert rows, f"{name} is not in the configuration table of {DOCS.name}"
    if default is None:
        return
    shown = re.compile(rf"(?<![\w.]){re.escape(default)}(?![\w])")
    where = DOCS.read_text() if len(default) > LONG else "\n".join(rows)
    assert shown.search(where), f"{DOCS.name} does not give {name}'s default, {default}"
