"""Spoken answers: `modalities: ["audio"]` and `audio` -> responseModalities and speechConfig;
Gemini's audio parts (a recorded TTS answer) -> `message.audio` / `delta.audio`, not `images`."""

from __future__ import annotations

import base64
import io
import wave
from typing import Any

import orjson
import pytest

from adapter.translate.errors import InvalidRequest
from adapter.translate.request import chat_request
from adapter.translate.response import CompletionBuilder
from adapter.translate.stream import StreamTranslator

from .helpers import CREATED, FIXTURES, MODEL

TTS = orjson.loads((FIXTURES / "tts-generate-content-pcm.json").read_bytes())
TTS_REQUEST = orjson.loads((FIXTURES / "tts-generate-content-request.json").read_bytes())
PCM = base64.b64decode(TTS["candidates"][0]["content"]["parts"][0]["inlineData"]["data"])
SAY = [{"role": "user", "content": TTS_REQUEST["contents"][0]["parts"][0]["text"]}]


def gemini(**body: Any) -> dict[str, Any]:
    return chat_request({"model": "gemini-2.5-flash-preview-tts", "messages": SAY,
                         **body}).gemini


def rejects(**body: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        gemini(**body)
    return caught.value


def split(answer: dict[str, Any], pieces: int) -> list[dict[str, Any]]:
    """The recorded answer as a stream: its audio in `pieces` events (odd sizes, as a stream
    may cut anywhere), the finish reason and usage on the last."""
    step = len(PCM) // pieces + 1
    events = []
    for i in range(0, len(PCM), step):
        data = base64.b64encode(PCM[i:i + step]).decode()
        part = {"inlineData": {"mimeType": "audio/L16;codec=pcm;rate=24000", "data": data}}
        events.append({"candidates": [{"content": {"parts": [part], "role": "model"},
                                       "index": 0}], "responseId": answer["responseId"]})
    events[-1]["candidates"][0]["finishReason"] = "STOP"
    events[-1]["usageMetadata"] = answer["usageMetadata"]
    return events


def translate(events: list[dict[str, Any]], fmt: str) -> tuple[list[Any], dict[str, Any]]:
    translator = StreamTranslator(MODEL, CREATED, audio_format=fmt)
    chunks = [chunk for event in events if (chunk := translator.translate(event)) is not None]
    builder = CompletionBuilder(translator)
    for chunk in chunks:
        builder.add(chunk)
    translator.finish()
    return chunks, dict(builder.build())


def test_the_recorded_tts_request_is_what_an_openai_audio_request_becomes() -> None:
    body = gemini(modalities=["text", "audio"], audio={"voice": "Kore", "format": "wav"})
    assert body["generationConfig"] == TTS_REQUEST["generationConfig"]


@pytest.mark.parametrize(("voice", "name"), [
    ("alloy", "Sulafat"), ("onyx", "Charon"), ("Kore", "Kore"), ("puck", "Puck"),
    ("ZEPHYR", "Zephyr"), ("cedar", "Orus")])
def test_voices(voice: str, name: str) -> None:
    config = gemini(modalities=["audio"], audio={"voice": voice, "format": "pcm16"})
    assert config["generationConfig"]["speechConfig"] == {
        "voiceConfig": {"prebuiltVoiceConfig": {"voiceName": name}}}


def test_no_voice_leaves_gemini_its_default() -> None:
    assert gemini(modalities=["audio"])["generationConfig"] == {"responseModalities": ["AUDIO"]}


@pytest.mark.parametrize(("audio", "param"), [
    ({"voice": "robot", "format": "wav"}, "audio.voice"),
    ({"voice": {"id": "voice_1234"}, "format": "wav"}, "audio.voice"),
    ({"voice": 3, "format": "wav"}, "audio.voice"),
    ({"voice": "alloy", "format": "mp3"}, "audio.format"),
    ({"voice": "alloy", "format": "opus"}, "audio.format"),
    ({"voice": "alloy", "format": "ogg"}, "audio.format"),
    ("alloy", "audio"),
])
def test_bad_audio_options_are_a_400_naming_them(audio: Any, param: str) -> None:
    assert rejects(modalities=["text", "audio"], audio=audio).param == param


def test_pcm16_is_the_recorded_samples_in_message_audio_not_images() -> None:
    _, completion = translate([TTS], "pcm16")
    message = completion["choices"][0]["message"]
    assert "images" not in message
    assert message["content"] is None
    audio = message["audio"]
    assert audio["id"].startswith("audio_")
    assert base64.b64decode(audio["data"]) == PCM
    assert audio["transcript"] == ""
    assert audio["expires_at"] == CREATED
    assert completion["choices"][0]["finish_reason"] == "stop"


def test_wav_is_the_recorded_samples_with_a_header() -> None:
    _, completion = translate([TTS], "wav")
    data = base64.b64decode(completion["choices"][0]["message"]["audio"]["data"])
    with wave.open(io.BytesIO(data)) as file:
        assert (file.getnchannels(), file.getsampwidth(), file.getframerate()) == (1, 2, 24_000)
        assert file.getnframes() == len(PCM) // 2 == 106_823
        assert file.readframes(file.getnframes()) == PCM


def test_streamed_pcm16_comes_in_pieces_of_whole_samples() -> None:
    chunks, completion = translate(split(TTS, 7), "pcm16")
    pieces = [c["choices"][0]["delta"]["audio"] for c in chunks if c["choices"]
              and "audio" in c["choices"][0]["delta"]]
    assert len(pieces) == 7
    assert "id" in pieces[0] and all("id" not in piece for piece in pieces[1:])
    assert pieces[-1]["expires_at"] == CREATED
    for piece in pieces[:-1]:
        assert len(base64.b64decode(piece["data"])) % 6 == 0  # samples whole, no base64 padding
    assert base64.b64decode("".join(p["data"] for p in pieces)) == PCM
    assert base64.b64decode(completion["choices"][0]["message"]["audio"]["data"]) == PCM


def test_streamed_wav_comes_whole_at_the_end() -> None:
    chunks, _ = translate(split(TTS, 4), "wav")
    pieces = [c["choices"][0]["delta"]["audio"] for c in chunks if c["choices"]
              and "audio" in c["choices"][0]["delta"]]
    [piece] = pieces
    assert chunks[-1]["choices"][0]["delta"]["audio"] is piece
    assert base64.b64decode(piece["data"]).startswith(b"RIFF")
