"""The media fetcher's limits per request and its address guard, against a site in the loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from adapter.media import MediaFetcher
from adapter.translate.content import FETCH
from adapter.translate.errors import InvalidRequest
from adapter.transport import FastTransport

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100


class Site:
    """An image site on 127.0.0.1: `/<size>.png` answers that many bytes (chunked when the path
    starts with `/chunked`), `/hang` never answers, anything else is a 404."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.hung_up = asyncio.Event()  # the client closed a /hang connection
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            self.requests.append(path)
            if path == "/hang":
                await reader.read()  # until the client hangs up
                self.hung_up.set()
                return
            writer.write(self._answer(path))
            await writer.drain()
        finally:
            writer.close()

    def _answer(self, path: str) -> bytes:
        if path.startswith("/hop/"):
            return b"HTTP/1.1 302 Found\r\nLocation: %s\r\nConnection: close\r\n\r\n" % (
                path.removeprefix("/hop/").encode())
        name = path.rsplit("/", 1)[1].removesuffix(".png")
        if not name.isdigit():
            return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        body = PNG + b"\0" * (int(name) - len(PNG))
        if path.startswith("/chunked/"):
            chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 10_000]), body[i:i + 10_000])
                              for i in range(0, len(body), 10_000))
            return (b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
        return b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n%s" % (
            len(body), body)


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    site = Site()
    server = await asyncio.start_server(site.handle, "127.0.0.1", 0)
    site.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        yield site


def placeholders(*urls: str) -> list[dict]:
    return [{FETCH: {"url": url, "param": f"messages[0].content[{i}].image_url.url",
                     "kind": "image"}} for i, url in enumerate(urls)]


async def refusal(fetcher: MediaFetcher, parts: list[dict]) -> InvalidRequest:
    try:
        with pytest.raises(InvalidRequest) as caught:
            await fetcher.resolve(parts)
    finally:
        await fetcher.aclose()
    return caught.value


def only_loopback(address: str) -> bool:
    return address == "127.0.0.1"


async def test_one_url_over_the_count_is_refused_before_any_download(site: Site) -> None:
    parts = placeholders(*[f"{site.url}/200.png"] * 4)
    error = await refusal(MediaFetcher(1000, 5, guard=only_loopback, max_count=3), parts)
    assert (error.code, error.param) == ("too_many_media", "messages[0].content[3].image_url.url")
    assert "at most 3" in error.message
    assert site.requests == []


async def test_a_refused_literal_address_is_refused_before_any_download(site: Site) -> None:
    port = site.url.rsplit(":", 1)[1]
    parts = placeholders(f"{site.url}/200.png", f"http://127.0.0.2:{port}/200.png")
    fetcher = MediaFetcher(1000, 5, guard=only_loopback)
    started: list[str] = []
    fetch = fetcher.fetch

    async def recorded(url: str, *args: object) -> dict[str, str]:
        started.append(url)
        return await fetch(url, *args)  # type: ignore[arg-type]

    fetcher.fetch = recorded  # type: ignore[method-assign]
    error = await refusal(fetcher, parts)
    assert (error.code, error.param) == ("url_not_allowed", "messages[0].content[1].image_url.url")
    assert started == []


@pytest.mark.parametrize("prefix", ["", "/chunked"])  # refused by Content-Length, or as it comes
async def test_the_part_that_crosses_the_total_is_named(site: Site, prefix: str) -> None:
    parts = placeholders(*[f"{site.url}{prefix}/100000.png"] * 4)
    fetcher = MediaFetcher(200_000, 5, guard=only_loopback, max_total_bytes=250_000,
                           concurrency=1)
    error = await refusal(fetcher, parts)
    assert (error.code, error.param) == ("media_too_large", "messages[0].content[2].image_url.url")
    assert "250000 bytes" in error.message
    assert len(site.requests) == 3  # the fourth never started


async def test_the_total_counts_downloads_running_at_once(site: Site) -> None:
    parts = placeholders(*[f"{site.url}/chunked/100000.png"] * 4)
    fetcher = MediaFetcher(200_000, 5, guard=only_loopback, max_total_bytes=250_000,
                           concurrency=4)
    assert (await refusal(fetcher, parts)).code == "media_too_large"


async def test_the_first_failure_cancels_the_other_downloads(site: Site) -> None:
    parts = placeholders(f"{site.url}/hang", f"{site.url}/missing.png")
    fetcher = MediaFetcher(1000, 60, guard=only_loopback)
    try:
        with pytest.raises(InvalidRequest) as caught:
            await fetcher.resolve(parts)
        assert caught.value.param == "messages[0].content[1].image_url.url"
        # The fetcher stays open, as it does in the server: the hanging download must end by
        # itself, not wait out the 60 s fetch timeout.
        await asyncio.wait_for(site.hung_up.wait(), 10)
    finally:
        await fetcher.aclose()


async def test_redirects_are_read_the_same_strict_way(site: Site) -> None:
    port = site.url.rsplit(":", 1)[1]
    fetcher = MediaFetcher(1000, 5, guard=only_loopback)
    try:
        number = await fetcher.fetch(f"{site.url}/hop/http://2130706433:{port}/200.png", "p")
        assert number["mimeType"] == "image/png"  # 2130706433 is 127.0.0.1, as resolvers read it
        for target in (f"http://user@127.0.0.1:{port}/200.png", "http://1.2.3.4.5/"):
            with pytest.raises(InvalidRequest) as caught:
                await fetcher.fetch(f"{site.url}/hop/{target}", "p")
            assert (caught.value.code, caught.value.param) == ("invalid_url", "p")
            assert "redirects to a URL that is not valid" in caught.value.message
        with pytest.raises(InvalidRequest) as caught:  # one httpx cannot read: refused too
            await fetcher.fetch(f"{site.url}/hop/http://[::1/x.png", "p")
        assert caught.value.param == "p"
    finally:
        await fetcher.aclose()
    assert len(site.requests) == 5  # the redirects, and the one fetch that was allowed


@pytest.mark.parametrize("url", ["http://[::1/", "http://0177.0.0.1:99999/", "http://a..b/"])
async def test_fetch_refuses_malformed_urls_itself(url: str) -> None:
    fetcher = MediaFetcher(1000, 5)
    try:
        with pytest.raises(InvalidRequest) as caught:
            await fetcher.fetch(url, "p")
    finally:
        await fetcher.aclose()
    assert caught.value.code == "invalid_url"


@pytest.mark.parametrize("host", ["a" * 64 + ".example", "a..example"])
async def test_guarded_transport_turns_an_unencodable_name_into_a_connect_error(host: str) -> None:
    async with httpx.AsyncClient(transport=FastTransport(address_guard=only_loopback)) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://{host}/")
