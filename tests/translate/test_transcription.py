"""Speech to text (transcription.py): the form -> a Gemini body (models and aliases, the least
thinking, 400s naming each field), the timestamps Gemini gives mended (sorted, overlaps cut,
empty and malformed dropped, clamped to the duration), SRT and VTT, verbose_json checked with
the openai SDK's own types, and usage."""

from __future__ import annotations

import io
import wave
from typing import Any

import orjson
import pytest
from openai.types.audio import Transcription, TranscriptionVerbose

from adapter.translate.errors import AdapterError, InvalidRequest
from adapter.translate.transcription import (
    INLINE_MAX_BYTES,
    OPENAI_MODELS,
    Transcript,
    clean_timeline,
    read_transcript,
    render,
    srt,
    thinking,
    transcription_request,
    usage,
    vtt,
)
from adapter.translate.uploads import Upload


def tone(seconds: float = 2.0, rate: int = 8000) -> bytes:
    """A silent mono 16-bit WAV of `seconds` (made here, with the stdlib `wave` module)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(b"\x00\x00" * int(seconds * rate))
    return out.getvalue()


WAV = tone()
DEFAULT = "gemini-2.5-flash"


def form(*extra: tuple[str, str], model: str = "whisper-1",
         upload: Upload | None = None) -> list[tuple[str, str | Upload]]:
    return [("file", upload or Upload(WAV, "audio/wav", "a.wav")), ("model", model), *extra]


def plan(*extra: tuple[str, str], translate: bool = False, **kwargs: Any) -> Any:
    kwargs.setdefault("default_model", DEFAULT)
    kwargs.setdefault("max_bytes", 25 * 1024 * 1024)
    return transcription_request(form(*extra, model=kwargs.pop("model", "whisper-1")),
                                 translate=translate, **kwargs)


# The request


@pytest.mark.parametrize("model", sorted(OPENAI_MODELS))
def test_openai_models_stand_for_the_configured_model(model: str) -> None:
    assert plan(model=model, default_model="gemini-x").model == "gemini-x"


def test_gemini_ids_and_aliases() -> None:
    assert plan(model="models/gemini-2.5-pro").model == "gemini-2.5-pro"
    assert plan(model="whisper-1", aliases={"whisper-1": "gemini-3-flash-preview"}).model == \
        "gemini-3-flash-preview"


def test_json_asks_for_plain_text_with_the_audio_inline() -> None:
    request = plan(("language", "de"), ("prompt", "Names: Ada"), ("temperature", "0.2"))
    audio, instruction = request.body["contents"][0]["parts"]
    assert audio["inlineData"]["mimeType"] == "audio/wav"
    assert "'de'" in instruction["text"] and "Ada" in instruction["text"]
    assert request.body["generationConfig"] == {
        "temperature": 0.2, "thinkingConfig": {"thinkingBudget": 0}}
    assert request.duration == 2.0 and request.response_format == "json"


def test_timed_formats_ask_for_structured_output_words_when_asked() -> None:
    config = plan(("response_format", "verbose_json"),
                  ("timestamp_granularities[]", "word")).body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert "words" in config["responseSchema"]["properties"]
    config = plan(("response_format", "srt")).body["generationConfig"]
    assert "words" not in config["responseSchema"]["properties"]


def test_translations_ask_for_english() -> None:
    instruction = plan(translate=True).body["contents"][0]["parts"][1]["text"]
    assert "into English" in instruction


@pytest.mark.parametrize(("model", "config"), [
    ("gemini-2.5-flash", {"thinkingBudget": 0}),
    ("gemini-2.5-flash-lite", {"thinkingBudget": 0}),
    ("gemini-flash-latest", {"thinkingBudget": 0}),
    ("gemini-2.5-pro", {"thinkingBudget": 128}),  # Pro cannot switch thinking off
    ("gemini-3-pro-preview", {"thinkingLevel": "low"}),
    ("gemini-3-flash-preview", {"thinkingLevel": "low"}),
    ("gemini-2.0-flash", None),
    ("gemini-1.5-pro", None),
    ("gemma-3-27b-it", None),
    ("gemini-2.5-flash-preview-tts", None),
])
def test_transcripts_spend_the_least_on_thinking(model: str, config: Any) -> None:
    assert thinking(model) == config
    sent = plan(model=model).body["generationConfig"]
    assert sent.get("thinkingConfig") == config


@pytest.mark.parametrize(("fields", "param"), [
    ((("response_format", "docx"),), "response_format"),
    ((("response_format", "diarized_json"),), "response_format"),
    ((("stream", "maybe"),), "stream"),
    ((("stream", "true"), ("response_format", "srt")), "stream"),
    ((("timestamp_granularities[]", "char"),), "timestamp_granularities[]"),
    ((("timestamp_granularities[]", "word"),), "timestamp_granularities[]"),  # not verbose
    ((("language", "English"),), "language"),
    ((("temperature", "hot"),), "temperature"),
    ((("temperature", "1.5"),), "temperature"),
    ((("temperature", "nan"),), "temperature"),
    ((("speed", "2"),), "speed"),
    ((("model", ""),), "model"),
])
def test_bad_fields_are_400s_naming_them(fields: tuple[tuple[str, str], ...], param: str
                                         ) -> None:
    with pytest.raises(InvalidRequest) as raised:
        plan(*fields)
    assert raised.value.param == param


def test_streaming_a_translation_is_refused() -> None:
    with pytest.raises(InvalidRequest) as raised:
        plan(("stream", "true"), translate=True)
    assert raised.value.param == "stream"


@pytest.mark.parametrize("fields", [
    [("model", "whisper-1")],
    [("file", "text"), ("model", "whisper-1")],
    form(upload=Upload(b"", "audio/wav", "a.wav")),
    form(upload=Upload(b"not audio", "text/plain", "a.txt")),
    [*form(), ("file", Upload(WAV, "audio/wav", "b.wav"))],
    [*form(), ("other", Upload(WAV, "audio/wav", "b.wav"))],
])
def test_file_problems_name_the_file(fields: list[tuple[str, Any]]) -> None:
    with pytest.raises(InvalidRequest) as raised:
        transcription_request(fields, translate=False, default_model=DEFAULT,
                              max_bytes=10**9)
    assert raised.value.param in ("file", "other")


def test_a_file_over_the_limit_is_a_413() -> None:
    with pytest.raises(AdapterError) as raised:
        plan(max_bytes=len(WAV) - 1)
    assert (raised.value.status, raised.value.param) == (413, "file")
    assert INLINE_MAX_BYTES < 20 * 1024 * 1024


# Timestamps


def test_the_timeline_is_sorted_and_overlaps_cut() -> None:
    items = [{"start": 2.0, "end": 3.0, "text": "b"}, {"start": 0.0, "end": 2.5, "text": "a"},
             {"start": 2.9, "end": 2.8, "text": "c"}]
    assert clean_timeline(items, "text", None) == [
        {"start": 0.0, "end": 2.5, "text": "a"}, {"start": 2.5, "end": 3.0, "text": "b"},
        {"start": 3.0, "end": 3.0, "text": "c"}]


def test_empty_and_malformed_items_are_dropped() -> None:
    items = [{"start": 0, "end": 1, "text": "  "}, {"start": "0", "end": 1, "text": "x"},
             {"start": -1, "end": 1, "text": "x"}, {"start": True, "end": 1, "text": "x"},
             {"start": 1, "end": 2, "text": 5}, "junk", None,
             {"start": 1, "end": "2", "text": " kept "}]
    assert clean_timeline(items, "text", None) == [{"start": 1.0, "end": 1.0, "text": "kept"}]
    assert clean_timeline("not a list", "text", None) == []


def test_times_are_clamped_to_the_duration() -> None:
    items = [{"start": 0.5, "end": 9.0, "word": "a"}, {"start": 5.0, "end": 6.0, "word": "b"}]
    assert clean_timeline(items, "word", 2.0) == [{"start": 0.5, "end": 2.0, "word": "a"}]
    # the first item is kept even when it starts after the end (clamped to it)
    assert clean_timeline([{"start": 5.0, "end": 6.0, "word": "a"}], "word", 2.0) == [
        {"start": 2.0, "end": 2.0, "word": "a"}]


# Rendering

SEGMENTS = [{"start": 0.0, "end": 1.5, "text": "Hello <there> & you"},
            {"start": 3661.25, "end": 3662.0, "text": "a --> b\n\n  c"}]


def test_srt() -> None:
    assert srt(SEGMENTS) == (
        "1\n00:00:00,000 --> 00:00:01,500\nHello <there> & you\n\n"
        "2\n01:01:01,250 --> 01:01:02,000\na -> b\nc\n\n")


def test_vtt() -> None:
    assert vtt(SEGMENTS) == (
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:01.500\nHello &lt;there> &amp; you\n\n"
        "01:01:01.250 --> 01:01:02.000\na -> b\nc\n\n")


TIMED = {"language": "English ", "segments": [
    {"start": 1.0, "end": 1.8, "text": "world."}, {"start": 0.0, "end": 1.2, "text": "Hello"}],
    "words": [{"word": "Hello", "start": 0.0, "end": 0.5},
              {"word": "world", "start": 1.0, "end": 1.8}]}


def answer(text: str) -> dict[str, Any]:
    return {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                            "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 70, "candidatesTokenCount": 12,
                              "thoughtsTokenCount": 3, "totalTokenCount": 85,
                              "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": 50},
                                                      {"modality": "TEXT", "tokenCount": 20}]}}


@pytest.mark.parametrize("model", ["whisper-1", "gpt-4o-transcribe"])
@pytest.mark.parametrize("granularities", [(), ("word",), ("segment", "word")])
def test_verbose_json_is_openais_shape(model: str, granularities: tuple[str, ...]) -> None:
    request = plan(("response_format", "verbose_json"),
                   *(("timestamp_granularities[]", g) for g in granularities), model=model)
    answers = [answer(orjson.dumps(TIMED).decode())]
    transcript = read_transcript(request, answers[0])
    body, content_type = render(request, transcript, answers)
    assert content_type == "application/json"
    verbose = TranscriptionVerbose.model_validate(body)
    assert verbose.language == "english" and verbose.duration == 2.0
    assert verbose.text == "Hello world."
    assert isinstance(body, dict)
    if granularities == ("word",):
        assert "segments" not in body
    else:
        assert [(s.start, s.end) for s in verbose.segments or ()] == [(0.0, 1.2), (1.2, 1.8)]
        assert [s.id for s in verbose.segments or ()] == [0, 1]
    if "word" in granularities:
        assert [(w.word, w.end) for w in verbose.words or ()] == [("Hello", 0.5),
                                                                 ("world", 1.8)]
    else:
        assert "words" not in body


def test_a_timed_answer_that_is_not_json_is_a_502() -> None:
    request = plan(("response_format", "srt"))
    with pytest.raises(AdapterError) as raised:
        read_transcript(request, answer("Hello"))
    assert raised.value.status == 502


def test_a_translation_says_english() -> None:
    request = plan(("response_format", "verbose_json"), translate=True)
    transcript = read_transcript(request, answer(orjson.dumps({**TIMED, "language": "de"})
                                                 .decode()))
    body, _ = render(request, transcript, [])
    assert TranscriptionVerbose.model_validate(body).language == "english"
    assert isinstance(body, dict) and body["task"] == "translate"


def test_usage_is_seconds_for_whisper_and_tokens_otherwise() -> None:
    answers = [answer("Hi")]
    assert usage(plan(), answers, 1.2) == {"type": "duration", "seconds": 2}
    tokens = usage(plan(model="gpt-4o-transcribe"), answers, 1.2)
    assert tokens == {"type": "tokens", "input_tokens": 70,
                      "input_token_details": {"audio_tokens": 50, "text_tokens": 20},
                      "output_tokens": 15, "total_tokens": 85}
    body, _ = render(plan(model="gpt-4o-transcribe"), Transcript("Hi"), answers)
    parsed = Transcription.model_validate(body)
    assert parsed.text == "Hi" and parsed.usage is not None and parsed.usage.type == "tokens"
    # whisper-1 with no duration known: tokens
    assert usage(plan(), answers, None)["type"] == "tokens"


def test_text_srt_and_vtt_content_types() -> None:
    transcript = Transcript("Hi", segments=[{"start": 0.0, "end": 1.0, "text": "Hi"}])
    assert render(plan(("response_format", "text")), transcript, [])[0] == "Hi\n"
    assert render(plan(("response_format", "srt")), transcript, [])[1].startswith("text/plain")
    assert render(plan(("response_format", "vtt")), transcript, [])[1].startswith("text/vtt")
