"""Gemini stream events as the upstream client reads them: error events raise, keys masked."""

from __future__ import annotations

import orjson
import pytest

from adapter.translate.errors import AdapterError
from adapter.upstream import stream_event

KEY = "AIzaSyD-this-is-the-requests-own-key-0001"
OTHER = "server-pool-key-secret"


def test_an_event_is_parsed() -> None:
    assert stream_event(b'{"candidates": []}', ()) == {"candidates": []}


@pytest.mark.parametrize("status", [400, 429, 500, 503])
def test_error_event_raises_with_its_status(status: int) -> None:
    error = {"error": {"code": status, "message": "went wrong", "status": "SOME_STATUS"}}
    with pytest.raises(AdapterError) as caught:
        stream_event(orjson.dumps(error), ())
    assert caught.value.status == status
    assert caught.value.message == "went wrong"
    assert caught.value.code == "some_status"


@pytest.mark.parametrize("error", [{"message": "boom"}, {"code": "x", "message": "boom"},
                                   {"code": 99999}, "just text", None, [1, 2]])
def test_error_event_without_a_usable_code_is_a_500(error: object) -> None:
    with pytest.raises(AdapterError) as caught:
        stream_event(orjson.dumps({"error": error}), ())
    assert caught.value.status == 500


def test_error_event_masks_the_key_in_message_and_code() -> None:
    error = {"error": {"code": 400, "status": f"BAD {KEY}",
                       "message": f"API key {KEY} and {OTHER} not valid"}}
    with pytest.raises(AdapterError) as caught:
        stream_event(orjson.dumps(error), (KEY, OTHER))
    text = orjson.dumps(caught.value.body()).decode()
    assert KEY not in text and OTHER not in text
    assert caught.value.code == "upstream_400"


def test_a_google_key_nobody_named_is_masked_too() -> None:
    stray = "AIza" + "B" * 35
    with pytest.raises(AdapterError) as caught:
        stream_event(orjson.dumps({"error": {"code": 403, "message": f"key {stray} blocked"}}),
                     ())
    assert stray not in caught.value.message


@pytest.mark.parametrize("payload", [b"[1, 2]", b'"text"', b"not json", b"null"])
def test_an_event_that_is_not_an_object_is_a_502(payload: bytes) -> None:
    with pytest.raises(AdapterError) as caught:
        stream_event(payload, ())
    assert caught.value.status == 502
