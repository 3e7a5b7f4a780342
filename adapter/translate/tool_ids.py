"""Tool call ids that carry Gemini's call id and thought signature through OpenAI clients.

Gemini 3 rejects a follow-up whose function calls lack the `thoughtSignature` they came with.
OpenAI clients (the SDK, LangChain, LiteLLM) keep a tool call's id, name and arguments and
nothing else, and the follow-up may reach another worker or replica. So what Gemini needs back
travels inside the id itself, and no server-side state is needed:

    call_<hex24>                 no Gemini id, no signature
    call_<gemini id>__g          Gemini's functionCall.id
    ...__ts_<signature>          plus the signature, base64url without padding
    ...__tt_<text>               a signature that is not base64 (a placeholder), its UTF-8
                                 text in base64url

Only `[A-Za-z0-9_-]` is used. The trade-off: an id with a signature is a few hundred characters
long, longer than the 40 that OpenAI's own API has enforced on `tool_calls[].id`, so a history
carried over to an OpenAI model may need its ids shortened there. Ids without one stay short.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid

_ID = re.compile(r"call_(?P<id>[A-Za-z0-9-]+?)(?P<gemini>__g)?"
                 r"(?:__(?P<kind>ts|tt)_(?P<sig>[A-Za-z0-9_-]+))?")


def new_call_id(seed: str | None = None) -> str:
    """A fresh id; the same for the same `seed` (a replayed answer gets the ids it had)."""
    digest = hashlib.sha256(seed.encode()).hexdigest() if seed else uuid.uuid4().hex
    return f"call_{digest[:24]}"


def encode(gemini_id: str | None, signature: str | None, seed: str | None = None) -> str:
    """The OpenAI tool call id for a Gemini call id (or None) and its signature (or None);
    without a Gemini id, made from `seed` when given."""
    if gemini_id and re.fullmatch(r"[A-Za-z0-9-]+", gemini_id):
        call_id = f"call_{gemini_id}__g"
    else:
        call_id = new_call_id(seed)
    if not signature:
        return call_id
    kind = "ts"
    try:
        raw = base64.b64decode(signature, validate=True)
        if base64.b64encode(raw).decode() != signature:
            raise ValueError("not canonical base64")
    except (binascii.Error, ValueError):
        kind, raw = "tt", signature.encode()
    return f"{call_id}__{kind}_{base64.urlsafe_b64encode(raw).decode().rstrip('=')}"


def decode(tool_call_id: str) -> tuple[str | None, str | None]:
    """(Gemini call id or None, thought signature or None) that an OpenAI tool call id carries.

    Ids made elsewhere (by OpenAI, another model, an application) carry neither.
    """
    match = _ID.fullmatch(tool_call_id)
    if match is None:
        return None, None
    gemini_id = match["id"] if match["gemini"] else None
    signature = None
    if encoded := match["sig"]:
        try:
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            signature = base64.b64encode(raw).decode() if match["kind"] == "ts" \
                else raw.decode()
        except (binascii.Error, ValueError):
            return None, None
    return gemini_id, signature
