"""Property-based fuzzing of the speech request translator (speech.speech_request), as
test_fuzz.py fuzzes the others: whatever JSON a client sends in whatever field of a
`/v1/audio/speech` body, translating it gives a Gemini TTS body that can be sent, or an
InvalidRequest (400) naming the parameter; never another exception."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapter.translate.audio_output import GEMINI_VOICES
from adapter.translate.errors import InvalidRequest
from adapter.translate.speech import CONTENT_TYPES, speech_request

from . import fuzz_strategies as fuzz
from .test_fuzz import plausible_model, sendable, translated, wire

SPEECH_BODIES: tuple[dict[str, Any], ...] = (
    {"model": "tts-1", "input": "Hello", "voice": "alloy"},
    {"model": "gemini-2.5-flash-preview-tts", "input": "Hello there.", "voice": "Kore",
     "instructions": "Say cheerfully", "response_format": "wav", "speed": 1.0,
     "stream_format": "sse"},
    {"model": "gpt-4o-mini-tts", "input": "Read this.", "voice": {"id": "voice_1"},
     "response_format": "pcm", "stream_format": "audio"},
)

_ALIASES = {"speaker": "gemini-2.5-pro-preview-tts", "cheap": "tts-1"}


def _speech(body: Any) -> Any:
    return speech_request(body, aliases=_ALIASES)


def check_speech(body: Any) -> None:
    if (plan := translated(_speech, body)) is not None:
        plausible_model(plan.model)
        sendable(plan.body)
        [part] = plan.body["contents"][0]["parts"]
        assert isinstance(part["text"], str) and part["text"].strip()
        config = plan.body["generationConfig"]
        voice = config["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"]
        assert voice in GEMINI_VOICES
        assert plan.response_format in CONTENT_TYPES and isinstance(plan.sse, bool)


@pytest.mark.parametrize("body", SPEECH_BODIES)
def test_every_field_removed_or_of_every_other_type(body: dict[str, Any]) -> None:
    for change, variant in fuzz.variants(body):
        try:
            check_speech(variant)
        except Exception as error:
            error.add_note(f"with {change}")
            raise


@settings(max_examples=1000)
@given(st.one_of(fuzz.mutations(SPEECH_BODIES), fuzz.arbitrary_bodies()))
def test_speech_translation_never_crashes(body: Any) -> None:
    check_speech(body)


@pytest.mark.parametrize("body", SPEECH_BODIES[:2])
def test_the_seed_bodies_are_valid_requests(body: dict[str, Any]) -> None:
    _speech(wire(body))


def test_the_custom_voice_seed_is_refused_naming_voice() -> None:
    """The third seed reaches the voice check and stops there; with a voice it translates."""
    with pytest.raises(InvalidRequest) as raised:
        _speech(wire(SPEECH_BODIES[2]))
    assert raised.value.param == "voice"
    _speech(wire({**SPEECH_BODIES[2], "voice": "echo"}))
