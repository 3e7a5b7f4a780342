"""Who may call the adapter (ADAPTER_API_KEYS), and which Gemini key a request uses upstream."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from .config import Settings
from .keys import KeyPool
from .replies import plain_error
from .translate.errors import AdapterError


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if any."""
    value = headers.get("authorization")
    if value and value[:7].lower() == "bearer ":
        token = value[7:].strip()
        return token or None
    return None


# Prefixed to the key before hashing, so an owner hash is no plain SHA-256 of a key that might
# be looked up elsewhere.
_OWNER_DOMAIN = b"gemini-openai-adapter/response-owner\x00"


def identity(request: Request) -> str | None:
    """Who the caller is, for the responses it stores: a one-way hash (never the key itself)
    of the key it presented (its bearer token, else its `x-goog-api-key`). That is its adapter
    key when ADAPTER_API_KEYS is set (ClientKeyCheck has checked it), else its Gemini key, or,
    on a gateway with GEMINI_API_KEY set and no ADAPTER_API_KEYS, whatever token it sent.
    None when it presented none."""
    token = bearer_token(request.headers) or request.headers.get("x-goog-api-key")
    if not token:
        return None
    return hashlib.sha256(_OWNER_DOMAIN + token.encode()).hexdigest()


def require_identity(request: Request) -> str:
    """`identity`, or a 401 when the request presented no key."""
    owner = identity(request)
    if owner is None:
        raise AdapterError(
            "No API key. Stored responses belong to the key that created them: send your key "
            "as 'Authorization: Bearer <key>'.", 401, code="missing_api_key")
    return owner


class ClientKeyCheck:
    """ASGI middleware: when ADAPTER_API_KEYS is set, every `/v1/*` request must present one."""

    def __init__(self, app: ASGIApp, keys: frozenset[str]) -> None:
        self.app = app
        self.keys = tuple(key.encode() for key in keys)

    def _allowed(self, token: str | None) -> bool:
        if token is None:
            return False
        presented = token.encode()
        # Compare against every key so the time taken says nothing about which one matched.
        return sum(hmac.compare_digest(presented, key) for key in self.keys) > 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1"):
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]
                       if k == b"authorization"}
            if not self._allowed(bearer_token(headers)):
                response = plain_error(
                    "Incorrect or missing API key. Send one of the adapter's keys as "
                    "'Authorization: Bearer <key>'.", 401, code="invalid_api_key")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class UpstreamKeys:
    """Chooses the Gemini key for a request: the server's keys in turn, else the client's."""

    def __init__(self, settings: Settings) -> None:
        self.pool = KeyPool(settings.gemini_api_keys) if settings.gemini_api_keys else None
        self._replay = settings.upstream == "replay"
        # With ADAPTER_API_KEYS the client's token is the adapter's key, never a Gemini one
        # (Settings refuses that set-up without GEMINI_API_KEY unless replaying offline).
        self._pass_through = not settings.adapter_api_keys

    def for_request(self, request: Request) -> str:
        if self.pool is not None:
            return self.pool.next()
        return self._clients(request)

    def for_owner(self, request: Request, owner: str) -> str:
        """The key for the caller's files and batches: a file lives in the Gemini project of
        the key that uploaded it, so a pool gives each owner (`identity`) always the same key,
        on every replica with the same GEMINI_API_KEY."""
        if self.pool is not None:
            return self.pool.keys[int(owner[:8], 16) % len(self.pool.keys)]
        return self._clients(request)

    def _clients(self, request: Request) -> str:
        token = bearer_token(request.headers) or request.headers.get("x-goog-api-key")
        if token and self._pass_through:
            return token
        if self._replay:
            return "replay"
        raise AdapterError(
            "No API key. Send your Gemini API key as 'Authorization: Bearer <key>', or set "
            "GEMINI_API_KEY on the server.", 401, code="missing_api_key")
