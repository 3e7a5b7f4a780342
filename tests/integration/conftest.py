"""Integration fixtures: the fake Gemini upstream and the adapter, both served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import openai
import pytest

from adapter.app import create_app
from adapter.config import Settings

from ..fake_gemini import FakeGemini
from ..servers import serve
from .helpers import SERVER_KEY


@pytest.fixture(scope="session")
def fake_server() -> Iterator[tuple[FakeGemini, str]]:
    fake = FakeGemini()
    with serve(fake) as url:
        yield fake, url


@pytest.fixture
def fake(fake_server: tuple[FakeGemini, str]) -> Iterator[FakeGemini]:
    fake_server[0].reset()
    yield fake_server[0]
    fake_server[0].reset()


@pytest.fixture(scope="session")
def start_adapter(fake_server: tuple[FakeGemini, str],
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., str]]:
    """Start an adapter with the given environment (GEMINI_BASE_URL points at the fake, the
    response store in a fresh temporary file)."""
    with ExitStack() as stack:
        def start(**env: str) -> str:
            store = tmp_path_factory.mktemp("store") / "responses.sqlite3"
            environ = {"GEMINI_BASE_URL": fake_server[1], "ADAPTER_STORE": str(store), **env}
            return stack.enter_context(serve(create_app(Settings.from_env(environ))))
        yield start


@pytest.fixture(scope="session")
def adapter_url(start_adapter: Callable[..., str]) -> str:
    # No retries here, so each scripted upstream error reaches the client as it is;
    # tests/integration/test_faults.py covers retrying.
    return start_adapter(GEMINI_API_KEY=SERVER_KEY, ADAPTER_RETRIES="0")


@pytest.fixture
def client(adapter_url: str, fake: FakeGemini) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{adapter_url}/v1", api_key="client-key", max_retries=0,
                         timeout=20)
