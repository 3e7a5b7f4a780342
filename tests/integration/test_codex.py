"""The real Codex CLI (`codex exec`) through the adapter's Responses API, over the fake Gemini.

`make test` installs the pinned Codex into .cache/node first (see the Makefile). Codex gets a
CODEX_HOME of its own whose config.toml points it at the adapter and keeps it offline; the fake
Gemini answers first with a recorded call of Codex's shell tool, then with a text answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socketserver
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from ..fake_gemini import FakeGemini, Reply, sse_events

ROOT = Path(__file__).resolve().parents[2]
CODEX = ROOT / ".cache" / "node" / "node_modules" / ".bin" / "codex"
MODEL = "gemini-2.5-flash"
KEY_VAR = "ADAPTER_TEST_CODEX_KEY"
KEY = "codex-dummy-gemini-key"
COMMAND = "echo adapter-ok"
ANSWER = "The command printed adapter-ok."
TIMEOUT = 30  # seconds for the whole `codex exec` run

CONFIG = """\
model = "{model}"
model_provider = "adapter"
approval_policy = "never"
# The scripted model only runs `echo`. Codex's sandboxes need bubblewrap and user namespaces,
# which many CI hosts and containers forbid.
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false
web_search = "disabled"

[model_providers.adapter]
name = "Gemini adapter"
base_url = "{base_url}/v1"
wire_api = "responses"
env_key = "{key_var}"
request_max_retries = 0
stream_max_retries = 0

[features]
plugins = false  # else Codex syncs plugin lists from github.com and chatgpt.com

[analytics]
enabled = false

[feedback]
enabled = false

[otel]
exporter = "none"
trace_exporter = "none"
metrics_exporter = "none"
"""


def _codex() -> Path:
    if not os.access(CODEX, os.X_OK):
        pytest.fail(f"The Codex CLI is not installed at {CODEX}. Install it with `make codex` "
                    "(`make test` does this first); if make says it is up to date, remove "
                    ".cache/node and run it again.", pytrace=False)
    return CODEX


def _event(name: str, index: int = 0) -> dict[str, Any]:
    return orjson.loads(sse_events(name)[index].removeprefix(b"data: "))


def _shell_call() -> tuple[Reply, str]:
    """A recorded function call, turned into a call of Codex's shell tool; and its signature."""
    event = _event("stream-sse-tool-call.txt")
    part = event["candidates"][0]["content"]["parts"][0]
    part["functionCall"] = {"name": "exec_command", "args": {"cmd": COMMAND}}
    return Reply.events(event), part["thoughtSignature"]


def _answer() -> Reply:
    """The recorded text answer after a tool result, in two pieces that make up ANSWER."""
    first, last = (_event("stream-sse-text-after-tool-result.txt", i) for i in (0, 1))
    first["candidates"][0]["content"]["parts"][0]["text"] = "The command printed "
    last["candidates"][0]["content"]["parts"][0]["text"] = "adapter-ok."
    return Reply.events(first, last)


@contextlib.contextmanager
def _proxy_trap() -> Iterator[tuple[str, list[bytes]]]:
    """A local "proxy" that records the first line of each connection and closes it: whatever
    Codex tries to reach beyond 127.0.0.1 ends up here, not on the internet."""
    hits: list[bytes] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.settimeout(2)
            with contextlib.suppress(OSError):
                hits.append(self.request.recv(512).split(b"\r\n")[0])

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}", hits
        finally:
            server.shutdown()
            thread.join(5)


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run Codex in a process group of its own, and leave nothing of that group running."""
    process = subprocess.Popen(args, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"codex exec did not finish within {TIMEOUT} s.\nstdout:\n{out}\n"
                    f"stderr:\n{err}", pytrace=False)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # anything Codex left behind
        if process.poll() is None:
            process.kill()
            process.wait()
    return subprocess.CompletedProcess(args, process.returncode, out, err)


def test_codex_exec_runs_a_shell_command_and_answers(
        start_adapter: Callable[..., str], fake: FakeGemini, tmp_path: Path) -> None:
    codex = _codex()
    url = start_adapter()  # no server key: Codex's own key goes upstream
    home, work = tmp_path / "codex-home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    (home / "config.toml").write_text(CONFIG.format(model=MODEL, base_url=url, key_var=KEY_VAR))
    call, signature = _shell_call()
    fake.queue(call, _answer())

    with _proxy_trap() as (proxy, proxy_hits):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
               "CODEX_HOME": str(home), KEY_VAR: KEY, "LANG": "C.UTF-8",
               "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
               **{name: proxy for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY",
                                           "https_proxy", "http_proxy", "all_proxy")}}
        result = _run([str(codex), "exec", "--json", "--strict-config", "--ephemeral",
                       "--skip-git-repo-check", "--color", "never", "-C", str(work),
                       f"Run `{COMMAND}` and tell me what it printed."], env, work)

    report = f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == 0, report
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    items = [e["item"] for e in events if e["type"] == "item.completed"]
    commands = [i for i in items if i["type"] == "command_execution"]
    assert len(commands) == 1, report
    assert COMMAND in commands[0]["command"]
    assert commands[0]["exit_code"] == 0
    assert commands[0]["aggregated_output"] == "adapter-ok\n"
    assert [i["text"] for i in items if i["type"] == "agent_message"] == [ANSWER], report
    assert events[-1]["type"] == "turn.completed", report
    assert proxy_hits == [], f"Codex tried to go online: {proxy_hits}"

    assert len(fake.seen) == 2, report
    for seen in fake.seen:
        assert seen.path == f"/v1beta/models/{MODEL}:streamGenerateContent"
        assert seen.headers["x-goog-api-key"] == KEY
        assert "authorization" not in seen.headers
    first, second = (seen.body for seen in fake.seen)
    assert all(list(tool) == ["functionDeclarations"] for tool in first["tools"])  # no search
    declared = {f["name"]: f for tool in first["tools"] for f in tool["functionDeclarations"]}
    assert "cmd" in declared["exec_command"]["parameters"]["properties"]
    parts = [part for content in second["contents"] for part in content["parts"]]
    [call_part] = [part for part in parts if "functionCall" in part]
    assert call_part["functionCall"] == {"name": "exec_command", "args": {"cmd": COMMAND}}
    assert call_part["thoughtSignature"] == signature
    [result_part] = [part for part in parts if "functionResponse" in part]
    assert result_part["functionResponse"]["name"] == "exec_command"
    assert "adapter-ok" in result_part["functionResponse"]["response"]["content"]
    assert parts.index(call_part) < parts.index(result_part)
