"""`POST /v1/audio/speech` -> a Gemini TTS body (speech.speech_request): models and aliases,
voices (audio_output's mapping), the style prompt before the text, and 400s naming each
parameter; Gemini's audio events -> PCM and OpenAI's usage (SpeechAnswer)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from adapter.translate.audio_output import VOICES
from adapter.translate.errors import AdapterError, InvalidRequest
from adapter.translate.speech import (
    CONTENT_TYPES,
    MAX_INPUT,
    OPENAI_MODELS,
    SpeechAnswer,
    prompt,
    speech_request,
)

DEFAULT = "gemini-2.5-flash-preview-tts"


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "tts-1", "input": "Hello there.", "voice": "alloy", **fields}


def refused(request: Any, **kwargs: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as raised:
        speech_request(request, **kwargs)
    assert raised.value.status == 400
    return raised.value


@pytest.mark.parametrize("model", OPENAI_MODELS)
def test_openai_models_stand_for_the_configured_tts_model(model: str) -> None:
    assert speech_request(body(model=model), default_model="gemini-x-tts").model == \
        "gemini-x-tts"


def test_a_gemini_model_id_is_used_as_it_is() -> None:
    assert speech_request(body(model="models/gemini-2.5-pro-preview-tts")).model == \
        "gemini-2.5-pro-preview-tts"


def test_an_alias_is_resolved_and_an_alias_of_an_openai_name_is_the_default() -> None:
    plan = speech_request(body(model="voice"), aliases={"voice": "gemini-2.5-pro-preview-tts"})
    assert plan.model == "gemini-2.5-pro-preview-tts"
    plan = speech_request(body(model="cheap"), aliases={"cheap": "tts-1"})
    assert plan.model == DEFAULT


def test_the_gemini_body_speaks_the_input_in_the_mapped_voice() -> None:
    plan = speech_request(body())
    assert plan.body == {
        "contents": [{"role": "user", "parts": [{"text": "Hello there."}]}],
        "generationConfig": {
            "responseModalities": ["AUDIO"],
            "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Sulafat"}}}},
    }
    assert (plan.response_format, plan.sse) == ("mp3", False)


@pytest.mark.parametrize(("voice", "gemini"), [*VOICES.items(), ("ALLOY", "Sulafat"),
                                               ("Kore", "Kore"), ("puck", "Puck")])
def test_voices(voice: str, gemini: str) -> None:
    config = speech_request(body(voice=voice)).body["generationConfig"]
    assert config["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"] == gemini


def test_instructions_go_before_the_text_as_a_style_prompt() -> None:
    plan = speech_request(body(instructions="Say cheerfully:  "))
    assert plan.body["contents"][0]["parts"] == [{"text": "Say cheerfully:\nHello there."}]
    assert prompt("Hi", "   ") == "Hi"
    assert prompt("Hi", "Whisper") == "Whisper:\nHi"


@pytest.mark.parametrize("fmt", CONTENT_TYPES)
def test_formats(fmt: str) -> None:
    assert speech_request(body(response_format=fmt)).response_format == fmt


def test_content_types() -> None:
    assert dict(CONTENT_TYPES) == {"mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac",
                                   "flac": "audio/flac", "wav": "audio/wav", "pcm": "audio/pcm"}


def test_stream_format_sse() -> None:
    assert speech_request(body(stream_format="sse")).sse
    assert not speech_request(body(stream_format="audio")).sse


@pytest.mark.parametrize("speed", [1, 1.0, None])
def test_speed_one_is_accepted(speed: Any) -> None:
    speech_request(body(speed=speed))


@pytest.mark.parametrize(("fields", "param"), [
    ({"model": None}, "model"),
    ({"model": ""}, "model"),
    ({"model": "no such/model"}, "model"),
    ({"input": None}, "input"),
    ({"input": "   "}, "input"),
    ({"input": 5}, "input"),
    ({"input": "x" * (MAX_INPUT + 1)}, "input"),
    ({"instructions": ["x"]}, "instructions"),
    ({"instructions": "x" * 4097}, "instructions"),
    ({"voice": None}, "voice"),
    ({"voice": "nobody"}, "voice"),
    ({"voice": {"id": "voice_123"}}, "voice"),
    ({"voice": 3}, "voice"),
    ({"response_format": "ogg"}, "response_format"),
    ({"response_format": 1}, "response_format"),
    ({"stream_format": "chunks"}, "stream_format"),
    ({"speed": 1.5}, "speed"),
    ({"speed": 0.1}, "speed"),
    ({"speed": "fast"}, "speed"),
    ({"speed": True}, "speed"),
])
def test_bad_fields_are_400s_naming_the_parameter(fields: dict[str, Any], param: str) -> None:
    assert refused(body(**fields)).param == param


def test_the_input_limit_is_a_max_length_code() -> None:
    assert refused(body(input="x" * (MAX_INPUT + 1))).code == "string_above_max_length"


def test_speed_other_than_one_says_why() -> None:
    error = refused(body(speed=1.25))
    assert error.code == "unsupported_value" and "instructions" in str(error.message)


@pytest.mark.parametrize("request_body", [None, [], "x", 1])
def test_a_body_that_is_not_an_object(request_body: Any) -> None:
    assert refused(request_body).param is None


def _event(pcm: bytes, mime: str = "audio/L16;codec=pcm;rate=24000", **more: Any
           ) -> dict[str, Any]:
    return {"candidates": [{"content": {"role": "model", "parts": [
        {"inlineData": {"mimeType": mime, "data": base64.b64encode(pcm).decode()}}]}, **more}]}


def test_the_answer_gives_the_pcm_its_rate_and_usage() -> None:
    answer = SpeechAnswer()
    assert answer.pcm(_event(b"\x01\x00\x02\x00", "audio/L16;codec=pcm;rate=16000")) == \
        b"\x01\x00\x02\x00"
    last = _event(b"\x03\x00", finishReason="STOP")
    last["usageMetadata"] = {"promptTokenCount": 7, "candidatesTokenCount": 30,
                             "totalTokenCount": 37}
    assert answer.pcm(last) == b"\x03\x00"
    answer.check_end()
    assert (answer.rate, answer.spoken) == (16000, 6)
    assert answer.usage == {"input_tokens": 7, "output_tokens": 30, "total_tokens": 37}


def test_audio_that_is_not_pcm_is_a_502() -> None:
    with pytest.raises(AdapterError) as raised:
        SpeechAnswer().pcm(_event(b"x", "audio/mpeg"))
    assert raised.value.status == 502


def test_no_audio_for_a_blocked_input_is_a_400_naming_input() -> None:
    answer = SpeechAnswer()
    answer.pcm({"promptFeedback": {"blockReason": "SAFETY"}})
    with pytest.raises(InvalidRequest) as raised:
        answer.check_end()
    assert (raised.value.param, raised.value.code) == ("input", "content_policy_violation")


def test_no_audio_otherwise_is_a_502() -> None:
    answer = SpeechAnswer()
    answer.pcm({"candidates": [{"finishReason": "MAX_TOKENS"}]})
    with pytest.raises(AdapterError) as raised:
        answer.check_end()
    assert raised.value.status == 502
