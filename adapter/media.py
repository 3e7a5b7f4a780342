"""Fetching the media a request links to (`image_url` with an http(s) URL), safely.

The translation leaves a placeholder part for each such URL; `MediaFetcher.resolve` replaces it
with the bytes as `inlineData`. Guarded against server-side request forgery: only http(s), every
address the host resolves to must be public (no loopback, private, link-local or metadata
addresses) unless the operator allows private ones, the connection goes to the checked address,
and every redirect is checked again. Size, time and content type are limited.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from .translate.content import FETCH
from .translate.errors import InvalidRequest
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


class MediaFetcher:
    """Downloads linked media for requests, with its own connection pool and guard."""

    def __init__(self, max_bytes: int, timeout: float,
                 guard: Callable[[str], bool] | None = is_public) -> None:
        """`guard` decides which addresses may be reached; None allows all."""
        self.max_bytes = max_bytes
        self._http = httpx.AsyncClient(
            transport=FastTransport(address_guard=guard),
            timeout=timeout, follow_redirects=False,
            headers={"accept": "image/*,*/*;q=0.5", "user-agent": "gemini-openai-adapter"})

    async def resolve(self, parts: list[dict[str, Any]]) -> None:
        """Replace every placeholder part with the fetched media, concurrently."""
        async def replace(part: dict[str, Any]) -> None:
            spec = part.pop(FETCH)
            part["inlineData"] = await self.fetch(spec["url"], spec["param"], spec["kind"])

        await asyncio.gather(*(replace(part) for part in parts))

    async def fetch(self, url: str, param: str, kind: str = "image") -> dict[str, str]:
        """`inlineData` for the media at `url`; InvalidRequest (400) naming `param` if not."""
        for _ in range(_MAX_REDIRECTS + 1):
            if urlsplit(url).scheme not in ("http", "https"):
                raise InvalidRequest(f"'{param}' leads to {url!r}, which is not http(s).", param)
            try:
                async with self._http.stream("GET", url) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    return await self._read(response, param, kind)
            except BlockedAddress:
                raise InvalidRequest(
                    f"'{param}' points to a loopback, private, link-local or metadata address; "
                    "the adapter does not fetch those.", param, code="url_not_allowed") from None
            except httpx.TimeoutException:
                raise InvalidRequest(f"Fetching '{param}' timed out.", param,
                                     code="url_fetch_failed") from None
            except httpx.HTTPError as exc:
                raise InvalidRequest(f"'{param}' could not be fetched: {type(exc).__name__}.",
                                     param, code="url_fetch_failed") from None
        raise InvalidRequest(f"'{param}' redirects more than {_MAX_REDIRECTS} times.", param,
                             code="url_fetch_failed")

    async def _read(self, response: httpx.Response, param: str, kind: str) -> dict[str, str]:
        if response.status_code != 200:
            raise InvalidRequest(f"Fetching '{param}' failed with HTTP {response.status_code}.",
                                 param, code="url_fetch_failed")
        mime = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if not mime.startswith(_ACCEPTED[kind]):
            raise InvalidRequest(f"'{param}' is not {'an image' if kind == 'image' else 'media'} "
                                 f"(content type {mime or 'missing'!r}).", param,
                                 code="invalid_media")
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise self._too_large(param)
        data = bytearray()
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > self.max_bytes:
                raise self._too_large(param)
        return {"mimeType": mime, "data": base64.b64encode(data).decode()}

    def _too_large(self, param: str) -> InvalidRequest:
        return InvalidRequest(f"'{param}' is larger than the {self.max_bytes} bytes allowed.",
                              param, code="media_too_large")

    async def aclose(self) -> None:
        await self._http.aclose()
