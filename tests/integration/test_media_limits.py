"""Media by URL through the running server: limits per request, and every malformed URL a 400."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ..fake_gemini import FakeGemini
from ..servers import serve
from .helpers import SERVER_KEY

MODEL = "gemini-2.5-flash"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 92


class CountingSite:
    """An image site on 127.0.0.1 that holds each answer a moment and counts how many
    downloads it serves at once. `/<n>.png` is an image of n bytes."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.active = 0
        self.peak = 0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.requests += 1
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(0.2)  # long enough for an unbounded fetcher to start them all
            size = int(scope["path"].strip("/").removesuffix(".png"))
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"image/png")]})
            await send({"type": "http.response.body", "body": PNG + b"\0" * (size - len(PNG))})
        finally:
            self.active -= 1


@pytest.fixture(scope="module")
def site_server() -> Iterator[tuple[CountingSite, str]]:
    site = CountingSite()
    with serve(site) as url:
        yield site, url


@pytest.fixture
def site(site_server: tuple[CountingSite, str]) -> tuple[CountingSite, str]:
    site_server[0].reset()
    return site_server


@pytest.fixture(scope="module")
def limited(start_adapter) -> str:
    """An adapter that may fetch from loopback, with small limits per request."""
    return start_adapter(GEMINI_API_KEY=SERVER_KEY, ADAPTER_FETCH_ALLOW_PRIVATE="1",
                         ADAPTER_FETCH_CONCURRENCY="3", ADAPTER_FETCH_MAX_COUNT="10",
                         ADAPTER_FETCH_MAX_TOTAL_BYTES="250000")


def chat(*urls: str) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What are these?"},
        *({"type": "image_url", "image_url": {"url": url}} for url in urls)]}]}


def post(base: str, body: dict[str, Any], path: str = "/v1/chat/completions") -> httpx.Response:
    return httpx.post(f"{base}{path}", json=body, timeout=30,
                      headers={"authorization": "Bearer client-key"})


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    return response.json()["error"]


def test_downloads_never_exceed_the_concurrency_limit(limited: str, site, fake: FakeGemini) -> None:
    counter, url = site
    assert post(limited, chat(*[f"{url}/{1000 + i}.png" for i in range(10)])).status_code == 200
    assert (counter.requests, counter.peak) == (10, 3)
    parts = fake.seen[-1].body["contents"][0]["parts"]
    assert [len(part["inlineData"]["data"]) for part in parts[1:]] == [
        4 * -(-(1000 + i) // 3) for i in range(10)]  # base64 of each, in order


def test_one_url_over_the_count_is_refused_before_any_download(limited: str, site,
                                                               fake: FakeGemini) -> None:
    counter, url = site
    error = error_of(post(limited, chat(*[f"{url}/1000.png"] * 11)))
    assert (error["code"], error["param"]) == ("too_many_media",
                                               "messages[0].content[11].image_url.url")
    assert counter.requests == 0
    assert fake.seen == []


def test_media_over_the_total_are_refused(limited: str, site, fake: FakeGemini) -> None:
    _, url = site
    error = error_of(post(limited, chat(*[f"{url}/100000.png"] * 3)))
    assert error["code"] == "media_too_large"
    assert error["param"] in {f"messages[0].content[{i}].image_url.url" for i in (1, 2, 3)}
    assert "250000 bytes" in error["message"]
    assert fake.seen == []


# --- malformed URLs: a 400 naming the parameter, before any connection ----------------------------

MALFORMED = [
    "http://[::1/", "http://example.com/" + "a" * 70_000, "http://:80/",
    "http://example.com:99999/", "http://\x00/", "http://exa mple.com/a b",
    "http://user:pw@example.com/", "http://[fe80::1%25eth0]/", "http://xn--a.com/",
    "http://1.2.3.4.5/", "http://a..b/", "http://" + "a" * 64 + ".example/",
    "http://\u2488.example/", "http://[v1.x]/", "http://%31%32%37.0.0.1/",
]


def bodies(url: str) -> dict[str, tuple[str, dict[str, Any], str]]:
    """The places a client can put a media URL: (path, body, the parameter named)."""
    def responses(part: dict[str, Any]) -> dict[str, Any]:
        return {"model": MODEL, "input": [{"role": "user", "content": [part]}]}

    return {
        "chat image_url": ("/v1/chat/completions", chat(url),
                           "messages[0].content[1].image_url.url"),
        "chat file": ("/v1/chat/completions", {"model": MODEL, "messages": [
            {"role": "user", "content": [{"type": "file", "file": {"file_url": url}}]}]},
            "messages[0].content[0].file.file_url"),
        "responses input_image": ("/v1/responses", responses(
            {"type": "input_image", "image_url": url}), "image_url"),
        "responses input_file": ("/v1/responses", responses(
            {"type": "input_file", "file_url": url}), "file_url"),
    }


@pytest.mark.parametrize("where", list(bodies("")))
@pytest.mark.parametrize("url", MALFORMED, ids=lambda url: repr(url[:40]))
def test_malformed_urls_are_400s_naming_the_parameter(adapter_url: str, fake: FakeGemini,
                                                      url: str, where: str) -> None:
    path, body, param = bodies(url)[where]
    error = error_of(post(adapter_url, body, path))
    assert error["code"] == "invalid_url"
    assert param in error["param"]
    assert fake.seen == []


def loopback_spellings(port: int) -> list[str]:
    return [f"http://{host}:{port}/1000.png" for host in (
        "0177.0.0.1", "0177.0.0.01", "0x7f.0.0.1", "2130706433", "127.1", "[::ffff:7f00:1]",
        "\uff10\uff11\uff17\uff17.0.0.1")]


def test_loopback_in_any_spelling_is_refused_before_any_connection(adapter_url: str, site,
                                                                   fake: FakeGemini) -> None:
    counter, url = site
    for spelled in loopback_spellings(int(url.rsplit(":", 1)[1])):
        for where, (path, body, param) in bodies(spelled).items():
            error = error_of(post(adapter_url, body, path))
            assert error["code"] == "url_not_allowed", (spelled, where)
            assert param in error["param"]
    assert counter.requests == 0
    assert fake.seen == []


def test_an_allowed_loopback_is_read_the_same_way(limited: str, site, fake: FakeGemini) -> None:
    counter, url = site
    spellings = loopback_spellings(int(url.rsplit(":", 1)[1]))
    assert post(limited, chat(*spellings)).status_code == 200
    assert counter.requests == len(spellings)  # every spelling is 127.0.0.1, as resolvers read it


def test_a_user_name_is_refused_before_any_connection(limited: str, site,
                                                      fake: FakeGemini) -> None:
    counter, url = site
    error = error_of(post(limited, chat(url.replace("//", "//user:pw@") + "/1000.png")))
    assert (error["code"], error["param"]) == ("invalid_url",
                                               "messages[0].content[1].image_url.url")
    assert counter.requests == 0
