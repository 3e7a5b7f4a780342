"""tool_ids: Gemini call ids and thought signatures carried inside OpenAI tool call ids."""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

import pytest

from adapter.translate import tool_ids

from .helpers import FIXTURES, GENERATE, STREAMS, recorded_calls, recording

OPENAI_ID_CHARS = re.compile(r"[A-Za-z0-9_-]+")
_SIGNATURE = re.compile(r'"thoughtSignature":\s*"([^"\\]+)"')


def _fixture_signatures() -> list[str]:
    """Every thoughtSignature recorded in the Gemini fixtures, in a stable order."""
    found: dict[str, None] = {}
    for path in sorted([*FIXTURES.rglob("*.txt"), *FIXTURES.rglob("*.json")]):
        for match in _SIGNATURE.finditer(path.read_text(encoding="utf-8")):
            found[match.group(1)] = None
    return list(found)


def _fixture_gemini_ids() -> list[str]:
    ids = {call["id"] for path in [*STREAMS, *GENERATE] for call in recorded_calls(recording(path))
           if call.get("id")}
    return sorted(ids)


SIGNATURES = _fixture_signatures()
GEMINI_IDS = _fixture_gemini_ids()
SIG_IDS = [f"sig{i}-{len(s)}" for i, s in enumerate(SIGNATURES)]


def _is_canonical_base64(text: str) -> bool:
    try:
        return base64.b64encode(base64.b64decode(text, validate=True)).decode() == text
    except (binascii.Error, ValueError):
        return False


def test_fixtures_hold_real_signatures_and_ids() -> None:
    assert len(SIGNATURES) >= 20
    assert all(_is_canonical_base64(s) for s in SIGNATURES)
    assert any("+" in s or "/" in s for s in SIGNATURES)  # not URL-safe as they stand
    assert any(s.endswith("=") for s in SIGNATURES)
    assert max(map(len, SIGNATURES)) > 2000
    assert {"8hd01vsf", "k0srpqrc", "g1bmv6il"} <= set(GEMINI_IDS)


def _check_shape(call_id: str) -> None:
    assert call_id.startswith("call_")
    assert OPENAI_ID_CHARS.fullmatch(call_id), call_id


# --- round trips ----------------------------------------------------------------------------------

@pytest.mark.parametrize("signature", SIGNATURES, ids=SIG_IDS)
@pytest.mark.parametrize("gemini_id", [None, *GEMINI_IDS])
def test_round_trip_with_a_real_signature(gemini_id: str | None, signature: str) -> None:
    call_id = tool_ids.encode(gemini_id, signature)
    _check_shape(call_id)
    assert "__ts_" in call_id
    assert tool_ids.decode(call_id) == (gemini_id, signature)


@pytest.mark.parametrize("gemini_id", [None, "", *GEMINI_IDS, "a", "A-9-z", "0123456789"])
@pytest.mark.parametrize("signature", [None, ""])
def test_round_trip_without_a_signature(gemini_id: str | None, signature: str | None) -> None:
    call_id = tool_ids.encode(gemini_id, signature)
    _check_shape(call_id)
    assert "__ts_" not in call_id
    assert len(call_id) <= 40
    assert tool_ids.decode(call_id) == (gemini_id or None, None)


@pytest.mark.parametrize("gemini_id", GEMINI_IDS)
def test_gemini_id_is_kept_readable(gemini_id: str) -> None:
    assert tool_ids.encode(gemini_id, None) == f"call_{gemini_id}__g"
    assert tool_ids.encode(gemini_id, SIGNATURES[0]).startswith(f"call_{gemini_id}__g__ts_")


@pytest.mark.parametrize("signature", [*SIGNATURES[:3], None], ids=[*SIG_IDS[:3], "none"])
@pytest.mark.parametrize("gemini_id", ["has_underscore", "has space", "a/b", "é"])
def test_gemini_id_that_does_not_fit_is_left_out_but_the_id_stays_valid(
        gemini_id: str, signature: str | None) -> None:
    call_id = tool_ids.encode(gemini_id, signature)
    _check_shape(call_id)
    assert tool_ids.decode(call_id) == (None, signature)


@pytest.mark.parametrize("raw", [b"", b"\x00", b"\xff\xfe", bytes(range(256)), b"a" * 1000,
                                 b"\xfb\xff\xbf" * 7, b"?>?>"])
def test_round_trip_of_any_bytes(raw: bytes) -> None:
    signature = base64.b64encode(raw).decode()
    for gemini_id in (None, "abc123de"):
        call_id = tool_ids.encode(gemini_id, signature)
        _check_shape(call_id)
        assert tool_ids.decode(call_id) == (gemini_id, signature or None)


@pytest.mark.parametrize("signature", [
    "skip_thought_signature_validator", "context_engineering_is_the_way_to_go",
])
def test_round_trip_of_a_signature_that_is_not_base64(signature: str) -> None:
    # Gemini documents these placeholder values for a thoughtSignature; encode() accepts text
    # that is not base64, so decode() must give back that same text.
    call_id = tool_ids.encode("abc123de", signature)
    _check_shape(call_id)
    assert tool_ids.decode(call_id) == ("abc123de", signature)


def test_signature_in_the_id_is_base64url_without_padding() -> None:
    for signature in SIGNATURES:
        encoded = tool_ids.encode(None, signature).split("__ts_", 1)[1]
        assert "=" not in encoded
        assert base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)) == \
            base64.b64decode(signature)


# --- generated ids --------------------------------------------------------------------------------

def test_generated_ids_are_unique_and_short() -> None:
    ids = [tool_ids.encode(None, None) for _ in range(2000)]
    ids += [tool_ids.new_call_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for call_id in ids:
        assert re.fullmatch(r"call_[0-9a-f]{24}", call_id)
        assert len(call_id) <= 40


def test_ids_for_the_same_signature_without_a_gemini_id_are_unique() -> None:
    ids = {tool_ids.encode(None, SIGNATURES[0]) for _ in range(500)}
    assert len(ids) == 500
    assert {tool_ids.decode(i) for i in ids} == {(None, SIGNATURES[0])}


def test_different_signatures_give_different_ids() -> None:
    ids = {tool_ids.encode("samegid1", s) for s in SIGNATURES}
    assert len(ids) == len(SIGNATURES)


# --- ids made elsewhere ---------------------------------------------------------------------------

FOREIGN = [
    "call_abc123",
    "call_DdmO9UHuFqzWe5Pih3y3AE1N",  # OpenAI
    "call_9c2e4d6f-1b3a-4c5d-8e7f-0a1b2c3d4e5f",
    "toolu_01A09q90qw90lq917835lq9",  # Anthropic
    "toolu_vrtx_01VwgPGDpdR5Bv6B4rJ8Wn7E",
    "functions.get_weather:0",  # Kimi / Moonshot
    "chatcmpl-tool-8a3b6c1e2f",  # vLLM
    "fc_68a9d2b2e4c48191",  # OpenAI Responses API item id
    "call_abc__thought__c2lnbmF0dXJl",  # LiteLLM
    "tool_call_0", "call_0", "0", "D681PevKs", "1234-5678",
    "", " ", "\n", "call_", "call__g", "call___ts_", "call_abc__ts_", "__g", "__ts_c2ln",
    "CALL_abc__g", "call-abc__g", " call_abc__g", "call_abc__g ", "call_abc__g\n",
    "call_é", "call_abc/def", "call_a+b", "call_abc=",
    "x" * 10_000, "call_" + "a" * 10_000 + "_",
]


@pytest.mark.parametrize("call_id", FOREIGN, ids=[f"foreign{i}" for i in range(len(FOREIGN))])
def test_foreign_ids_carry_nothing(call_id: str) -> None:
    assert tool_ids.decode(call_id) == (None, None)


@pytest.mark.parametrize("call_id", [
    "call_1__ts_a", "call_x__ts_A", "call_abc__g__ts_abcde", "call_abc__ts_" + "A" * 401,
])
def test_corrupt_signature_part_never_raises(call_id: str) -> None:
    # A length of 4n+1 cannot be base64: such an id was not made here, so it carries nothing.
    _, signature = tool_ids.decode(call_id)
    assert signature is None


def test_decode_of_an_id_from_a_path_other_than_encode() -> None:
    # What a client could send back after building the id itself from the documented format.
    sig = SIGNATURES[0]
    encoded = base64.urlsafe_b64encode(base64.b64decode(sig)).decode().rstrip("=")
    assert tool_ids.decode(f"call_zz9__g__ts_{encoded}") == ("zz9", sig)
    assert tool_ids.decode(f"call_0a1b2c3d4e5f60718293a4b5__ts_{encoded}") == (None, sig)


def test_signature_paths_are_collected_from_text_and_json_fixtures() -> None:
    kinds = {Path(p).suffix for p in [*FIXTURES.rglob("*.txt"), *FIXTURES.rglob("*.json")]
             if _SIGNATURE.search(Path(p).read_text(encoding="utf-8"))}
    assert kinds == {".txt", ".json"}


def test_ids_without_a_gemini_id_follow_their_seed() -> None:
    """A replayed answer gets the ids it had; two calls of one answer never share one."""
    assert tool_ids.encode(None, None, "chatcmpl-x/0/0") == tool_ids.encode(None, None,
                                                                            "chatcmpl-x/0/0")
    assert tool_ids.encode(None, None, "chatcmpl-x/0/0") != tool_ids.encode(None, None,
                                                                            "chatcmpl-x/0/1")
    assert tool_ids.encode(None, None) != tool_ids.encode(None, None)
    assert tool_ids.decode(tool_ids.encode(None, "c2ln", "seed")) == (None, "c2ln")
