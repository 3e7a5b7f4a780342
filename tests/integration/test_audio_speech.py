"""POST /v1/audio/speech through the OpenAI SDK: the recorded Gemini TTS answer (24 kHz PCM,
split over two events) comes back in each response_format, decoded here with PyAV to check the
container, the codec and the duration against the PCM the fake sent."""

from __future__ import annotations

import base64
import io
import json

import av
import httpx
import openai
import pytest

from ..fake_gemini import FakeGemini, Reply, fixture_json

TTS = fixture_json("tts-generate-content-pcm.json")
TEXT = fixture_json("tts-generate-content-request.json")["contents"][0]["parts"][0]["text"]
PART = TTS["candidates"][0]["content"]["parts"][0]["inlineData"]
PCM = base64.b64decode(PART["data"])
SECONDS = len(PCM) / 2 / 24_000


def _events() -> Reply:
    half = len(PCM) // 2 + 1  # an odd cut: half a sample waits for the next event
    first = {"candidates": [{"content": {"role": "model", "parts": [{"inlineData": {
        **PART, "data": base64.b64encode(PCM[:half]).decode()}}]}, "index": 0}]}
    rest = {**TTS, "candidates": [{**TTS["candidates"][0], "content": {"role": "model", "parts": [
        {"inlineData": {**PART, "data": base64.b64encode(PCM[half:]).decode()}}]}}]}
    return Reply.events(first, rest)


# response_format -> (content type, container, codec, tolerance in seconds: encoder padding)
FORMATS = {
    "mp3": ("audio/mpeg", "mp3", ("mp3", "mp3float"), 0.1),
    "opus": ("audio/ogg", "ogg", ("opus",), 0.01),
    "aac": ("audio/aac", "aac", ("aac",), 0.1),
    "flac": ("audio/flac", "flac", ("flac",), 0.001),
    "wav": ("audio/wav", "wav", ("pcm_s16le",), 0.001),
}


def _decoded(data: bytes) -> tuple[str, str, float]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return container.format.name, stream.codec_context.name, samples / stream.rate


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_each_format_decodes_to_the_pcm_s_length(client: openai.OpenAI, fake: FakeGemini,
                                                 fmt: str) -> None:
    content_type, container, codecs, tolerance = FORMATS[fmt]
    fake.queue(_events())
    with client.audio.speech.with_streaming_response.create(
            model="tts-1", voice="alloy", input=TEXT, response_format=fmt) as response:
        assert response.headers["content-type"] == content_type
        data = b"".join(response.iter_bytes())
    sent = fake.seen[-1]
    assert sent.path.endswith("/gemini-2.5-flash-preview-tts:streamGenerateContent")
    voice = sent.body["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]
    assert voice == {"voiceName": "Sulafat"}
    assert sent.body["contents"][0]["parts"][0]["text"] == TEXT
    name, codec, seconds = _decoded(data)
    assert container in name.split(",") and codec in codecs
    assert abs(seconds - SECONDS) <= tolerance, (seconds, SECONDS)
    if fmt == "wav":
        assert data[4:8] == b"\xff\xff\xff\xff" and data[44:] == PCM


def test_pcm_is_the_samples_gemini_sent(client: openai.OpenAI, fake: FakeGemini) -> None:
    fake.queue(_events())
    audio = client.audio.speech.create(model="gemini-2.5-pro-preview-tts", voice="Kore",
                                       input=TEXT, response_format="pcm",
                                       instructions="Say cheerfully")
    assert audio.response.headers["content-type"] == "audio/pcm"
    assert audio.content == PCM
    sent = fake.seen[-1]
    assert sent.path.endswith("/gemini-2.5-pro-preview-tts:streamGenerateContent")
    assert sent.body["contents"][0]["parts"][0]["text"] == f"Say cheerfully:\n{TEXT}"


def test_sse_gives_audio_deltas_then_usage(adapter_url: str, fake: FakeGemini) -> None:
    fake.queue(_events())
    with httpx.stream("POST", f"{adapter_url}/v1/audio/speech", json={
            "model": "gpt-4o-mini-tts", "voice": "coral", "input": TEXT,
            "response_format": "pcm", "stream_format": "sse"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[6:]) for line in response.iter_lines()
                  if line.startswith("data: ")]
    assert [e["type"] for e in events[:-1]] == ["speech.audio.delta"] * (len(events) - 1)
    assert b"".join(base64.b64decode(e["audio"]) for e in events[:-1]) == PCM
    usage = TTS["usageMetadata"]
    assert events[-1] == {"type": "speech.audio.done", "usage": {
        "input_tokens": usage["promptTokenCount"], "output_tokens": usage["candidatesTokenCount"],
        "total_tokens": usage["totalTokenCount"]}}


@pytest.mark.parametrize(("change", "param"), [
    ({"voice": "nobody"}, "voice"),
    ({"voice": {"id": "voice_123"}}, "voice"),
    ({"response_format": "ogg"}, "response_format"),
    ({"stream_format": "chunks"}, "stream_format"),
    ({"input": "x" * 4097}, "input"),
    ({"input": ""}, "input"),
    ({"speed": 1.5}, "speed"),
    ({"speed": 9}, "speed"),
    ({"model": "no such model"}, "model"),
])
def test_bad_requests_are_400s_naming_the_parameter(client: openai.OpenAI, fake: FakeGemini,
                                                    change: dict[str, object],
                                                    param: str) -> None:
    before = len(fake.seen)
    request = {"model": "tts-1", "voice": "alloy", "input": TEXT, **change}
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(**request)  # type: ignore[arg-type]
    assert caught.value.param == param
    assert len(fake.seen) == before  # nothing went upstream


def test_speed_one_is_accepted(client: openai.OpenAI, fake: FakeGemini) -> None:
    fake.queue(_events())
    audio = client.audio.speech.create(model="tts-1-hd", voice="onyx", input=TEXT, speed=1.0,
                                       response_format="pcm")
    assert audio.content == PCM
