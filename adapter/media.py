"""Fetching the media a request links to (`image_url` with an http(s) URL), safely.

The translation leaves a placeholder part for each such URL (already checked and made canonical
by `translate.urls.checked_url`); `MediaFetcher.resolve` replaces it with the bytes as
`inlineData`. Guarded against server-side request forgery: only http(s), every address the host
resolves to must be public (no loopback, private, link-local or metadata addresses) unless the
operator allows private ones, the connection goes to the checked address, and every redirect is
checked again. Size, time and content type are limited.

A request's cost is bounded too: at most `max_count` URLs and `max_total_bytes` fetched in all
(both refused with a 400 before anything more is downloaded), `concurrency` downloads at a time,
and the first failure cancels the other downloads.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import httpx

from .translate.errors import InvalidRequest
from .translate.urls import checked_url
from .translate.wire import FETCH, Blob, FetchSpec, Part
from .transport import BlockedAddress, FastTransport

_MAX_REDIRECTS = 5
_ACCEPTED = {"image": ("image/",), "file": ("image/", "audio/", "video/", "application/pdf",
                                            "text/")}


def is_public(address: str) -> bool:
    """Whether an IP address is on the public internet (not loopback, private, link-local,
    shared, reserved or multicast; IPv4-mapped IPv6 judged as IPv4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class _Budget:
    """The bytes one request may still fetch, shared by its downloads."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0

    def fits(self, size: int) -> bool:
        return self.used + size <= self.total

    def take(self, size: int, param: str) -> None:
        """Count `size` more bytes; InvalidRequest naming `param` once the total is crossed."""
        self.used += size
        if self.used > self.total:
            raise self.exceeded(param)

    def exceeded(self, param: str) -> InvalidRequest:
        return InvalidRequest(
            f"The media this request links to come to more than the {self.total} bytes allowed "
            f"for one request; '{param}' crossed that total.", param, code="media_too_large")


class MediaFetcher:
    """Downloads linked media for requests, with its own connection pool and guard."""

    def __init__(self, max_bytes: int, timeout: float,
                 guard: Callable[[str], bool] | None = is_public, *, max_count: int = 32,
                 max_total_bytes: int = 64 * 1024 * 1024, concurrency: int = 4,
                 fetched: Callable[[int], None] | None = None) -> None:
        """`fetched` is told how many bytes each request's downloads came to."""
        self._fetched = fetched
        """`guard` decides which addresses may be reached; None allows all. `max_bytes` bounds
        one download; `max_count`, `max_total_bytes` and `concurrency` bound one request."""
        self.max_bytes = max_bytes
        self.max_count = max_count
        self.max_total_bytes = max_total_bytes
        self.concurrency = concurrency
        self._guard = guard
        self._http = httpx.AsyncClient(
            transport=FastTransport(address_guard=guard),
            timeout=timeout, follow_redirects=False,
            headers={"accept": "image/*,*/*;q=0.5", "user-agent": "gemini-openai-adapter"})

    async def resolve(self, parts: list[Part]) -> None:
        """Replace every placeholder part with the fetched media. The count and literal
        addresses are checked before the first download; the first failure cancels the rest."""
        if len(parts) > self.max_count:
            param = parts[self.max_count][FETCH]["param"]
            raise InvalidRequest(
                f"A request may link at most {self.max_count} media URLs; '{param}' is one more.",
                param, code="too_many_media")
        for part in parts:
            self._check_literal_address(part[FETCH])
        budget = _Budget(self.max_total_bytes)
        gate = asyncio.Semaphore(self.concurrency)

        async def replace(part: Part) -> None:
            spec = part[FETCH]
            async with gate:
                media = await self.fetch(spec["url"], spec["param"], spec["kind"], budget)
            del part[FETCH]
            part["inlineData"] = media

        try:
            async with asyncio.TaskGroup() as group:
                for part in parts:
                    group.create_task(replace(part))
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None
        finally:
            if self._fetched is not None:
                self._fetched(budget.used)

    def _check_literal_address(self, spec: FetchSpec) -> None:
        """Refuse a URL whose host is an IP address the guard refuses (names wait for DNS)."""
        host = urlsplit(spec["url"]).hostname or ""
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return
        if self._guard is not None and not self._guard(host):
            raise _not_allowed(spec["param"])

    async def fetch(self, url: str, param: str, kind: str = "image",
                    budget: _Budget | None = None) -> Blob:
        """`inlineData` for the media at `url`; InvalidRequest (400) naming `param` if not.
        `budget` is the request's total, shared with its other downloads."""
        budget = budget or _Budget(self.max_total_bytes)
        url = checked_url(url, param)
        for _ in range(_MAX_REDIRECTS + 1):
            try:
                async with self._http.stream("GET", url) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = _redirect(url, response.headers["location"], param)
                        continue
                    return await self._read(response, param, kind, budget)
            except BlockedAddress:
                raise _not_allowed(param) from None
            except httpx.InvalidURL:
                raise InvalidRequest(f"'{param}' is not a URL that can be fetched.", param,
                                     code="invalid_url") from None
            except httpx.TimeoutException:
                raise InvalidRequest(f"Fetching '{param}' timed out.", param,
                                     code="url_fetch_failed") from None
            except httpx.HTTPError as exc:
                raise InvalidRequest(f"'{param}' could not be fetched: {type(exc).__name__}.",
                                     param, code="url_fetch_failed") from None
        raise InvalidRequest(f"'{param}' redirects more than {_MAX_REDIRECTS} times.", param,
                             code="url_fetch_failed")

    async def _read(self, response: httpx.Response, param: str, kind: str,
                    budget: _Budget) -> Blob:
        if response.status_code != 200:
            raise InvalidRequest(f"Fetching '{param}' failed with HTTP {response.status_code}.",
                                 param, code="url_fetch_failed")
        mime = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if not mime.startswith(_ACCEPTED[kind]):
            raise InvalidRequest(f"'{param}' is not {'an image' if kind == 'image' else 'media'} "
                                 f"(content type {mime or 'missing'!r}).", param,
                                 code="invalid_media")
        declared = response.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit():
            if len(declared) > 18 or int(declared) > self.max_bytes:
                raise self._too_large(param)
            if not budget.fits(int(declared)):
                raise budget.exceeded(param)
        data = bytearray()
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > self.max_bytes:
                raise self._too_large(param)
            budget.take(len(chunk), param)
        encoded = base64.b64encode(data)
        data.clear()  # not needed once encoded: the request then holds its media once
        return {"mimeType": mime, "data": encoded.decode("ascii")}

    def _too_large(self, param: str) -> InvalidRequest:
        return InvalidRequest(f"'{param}' is larger than the {self.max_bytes} bytes allowed.",
                              param, code="media_too_large")

    async def aclose(self) -> None:
        await self._http.aclose()


def _not_allowed(param: str) -> InvalidRequest:
    return InvalidRequest(
        f"'{param}' points to a loopback, private, link-local or metadata address; "
        "the adapter does not fetch those.", param, code="url_not_allowed")


def _redirect(url: str, location: str, param: str) -> str:
    """The checked, canonical URL a redirect from `url` leads to."""
    try:
        target = urljoin(url, location)
    except ValueError:
        target = location
    if not target.lower().startswith(("http://", "https://")):
        raise InvalidRequest(f"'{param}' leads to {target[:200]!r}, which is not http(s).", param)
    try:
        return checked_url(target, param)
    except InvalidRequest as exc:
        raise InvalidRequest(f"'{param}' redirects to a URL that is not valid: {exc.message}",
                             param, code="invalid_url") from None
