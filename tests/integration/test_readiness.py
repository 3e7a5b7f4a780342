"""Readiness and drain, on a real `python -m adapter` process: /ready, SIGTERM, the access log."""

from __future__ import annotations

import resource
import signal
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import openai
import pytest
from starlette.testclient import TestClient

from adapter.app import create_app
from adapter.config import Settings

from ..processes import adapter_process
from ..servers import free_port

HELLO = [{"role": "user", "content": "What is the capital of France?"}]
DRAIN = 3.0


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_fails_readiness_serves_through_the_drain_then_exits(
        workers: str, tmp_path: Path) -> None:
    output = tmp_path / "adapter.log"
    env = {"ADAPTER_DRAIN_DELAY": f"{DRAIN:g}", "ADAPTER_REPLICA_NAME": "replica-a"}
    with adapter_process("--replay", "--workers", workers, env=env, output=output) as url:
        ready = httpx.get(f"{url}/ready", timeout=5)
        assert ready.status_code == 200
        assert ready.json()["status"] == "ready" and ready.json()["replica"] == "replica-a"
        assert 'adapter_replica_info{replica="replica-a"} 1.0' in \
            httpx.get(f"{url}/metrics", timeout=5).text.splitlines()

        url.process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        while (ready := httpx.get(f"{url}/ready", timeout=5)).status_code == 200:
            assert time.monotonic() - sent < 1, "/ready still 200 a second after SIGTERM"
            time.sleep(0.02)
        assert ready.status_code == 503
        assert ready.json()["status"] == "not_ready" and "draining" in ready.json()["reasons"]

        # A new connection, after readiness failed, is still answered.
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        completion = client.chat.completions.create(model="gemini-2.5-flash", messages=HELLO)
        assert completion.choices[0].message.content == "The capital of France is Paris.\n"
        assert time.monotonic() - sent < DRAIN
        assert url.process.poll() is None

        url.process.wait(DRAIN + 15)
        assert time.monotonic() - sent >= DRAIN - 0.5
    log = output.read_text()
    lines = [line for line in log.splitlines() if " request_id=" in line]
    assert any("path=/v1/chat/completions" in line for line in lines)
    assert all(line.endswith(" replica=replica-a") for line in lines)
    assert not [line for line in lines if "path=/ready" in line or "path=/health" in line]


def test_without_a_drain_delay_sigterm_closes_the_listener_at_once(tmp_path: Path) -> None:
    with adapter_process("--replay", env={"ADAPTER_DRAIN_DELAY": "0"}) as url:
        assert httpx.get(f"{url}/ready", timeout=5).status_code == 200
        url.process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        url.process.wait(15)
        assert time.monotonic() - sent < 2


def test_not_ready_before_the_lifespan_has_started() -> None:
    client = TestClient(create_app(Settings(store_path="off")))  # no `with`: no lifespan
    answer = client.get("/ready")
    assert answer.status_code == 503
    assert answer.json()["phase"] == "starting" and answer.json()["reasons"] == ["starting"]
    assert client.get("/health").status_code == 200


def test_not_ready_while_redis_cannot_be_reached() -> None:
    settings = Settings(store_path="off", redis_url=f"redis://127.0.0.1:{free_port()}",
                        replica_name="r2")
    with TestClient(create_app(settings)) as client:
        answer = client.get("/ready")
        assert answer.status_code == 503
        body = answer.json()
        assert (body["status"], body["phase"], body["replica"]) == ("not_ready", "ready", "r2")
        assert body["checks"]["store"] == "ok"
        assert body["reasons"] == ["redis: unreachable"]
        assert client.get("/health").status_code == 200


def test_ready_with_its_store_and_no_redis(tmp_path: Path) -> None:
    settings = Settings(store_path=str(tmp_path / "store.sqlite3"))
    with TestClient(create_app(settings)) as client:
        answer = client.get("/ready")
        assert answer.status_code == 200
        assert answer.json()["checks"] == {"store": "ok", "redis": "ok"}


def test_the_adapter_raises_its_open_file_limit_to_the_hard_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with ExitStack() as stack:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, hard, 1024), hard))  # inherited
        try:
            url = stack.enter_context(adapter_process("--replay"))
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        limits = Path(f"/proc/{url.process.pid}/limits").read_text()
        [line] = [line for line in limits.splitlines() if line.startswith("Max open files")]
        assert line.split()[3:5] == [str(hard), str(hard)]
