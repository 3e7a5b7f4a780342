"""Settings refuse set-ups that would leak: client keys with no Gemini key of the server's."""

from __future__ import annotations

import subprocess
import sys

import pytest

from adapter.config import Settings


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
