"""A spoken answer through the OpenAI SDK: a recorded Gemini TTS answer becomes `message.audio`
(WAV, or pcm16 streamed in `delta.audio`), asked for as OpenAI's audio output is."""

from __future__ import annotations

import base64
import io
import wave

import openai

from ..fake_gemini import FakeGemini, Reply, fixture_json

MODEL = "gemini-2.5-flash-preview-tts"
TTS = fixture_json("tts-generate-content-pcm.json")
TTS_REQUEST = fixture_json("tts-generate-content-request.json")
PCM = base64.b64decode(TTS["candidates"][0]["content"]["parts"][0]["inlineData"]["data"])
SAY = [{"role": "user", "content": TTS_REQUEST["contents"][0]["parts"][0]["text"]}]


def test_a_spoken_answer_is_message_audio(client: openai.OpenAI, fake: FakeGemini) -> None:
    fake.queue(Reply.events(TTS))
    completion = client.chat.completions.create(
        model=MODEL, messages=SAY, modalities=["text", "audio"],
        audio={"voice": "Kore", "format": "wav"})
    assert fake.seen[-1].body["generationConfig"] == TTS_REQUEST["generationConfig"]
    message = completion.choices[0].message
    assert message.audio is not None
    assert not (message.model_extra or {}).get("images")
    with wave.open(io.BytesIO(base64.b64decode(message.audio.data))) as file:
        assert file.getframerate() == 24_000
        assert file.readframes(file.getnframes()) == PCM


def test_a_streamed_spoken_answer_is_delta_audio(client: openai.OpenAI,
                                                 fake: FakeGemini) -> None:
    part = TTS["candidates"][0]["content"]["parts"][0]
    half = len(PCM) // 2 + 1  # an odd cut: the adapter sends whole samples
    first = {"candidates": [{"content": {"role": "model", "parts": [{"inlineData": {
        **part["inlineData"], "data": base64.b64encode(PCM[:half]).decode()}}]}, "index": 0}]}
    rest = {**TTS, "candidates": [{**TTS["candidates"][0], "content": {"role": "model", "parts": [
        {"inlineData": {**part["inlineData"], "data": base64.b64encode(PCM[half:]).decode()}}]}}]}
    fake.queue(Reply.events(first, rest))
    with client.chat.completions.stream(model=MODEL, messages=SAY, modalities=["audio"],
                                        audio={"voice": "alloy", "format": "pcm16"}) as events:
        completion = events.get_final_completion()
    speech = fake.seen[-1].body["generationConfig"]["speechConfig"]
    assert speech["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"] == "Sulafat"
    audio = completion.choices[0].message.audio
    assert audio is not None and audio.id.startswith("audio_")
    assert base64.b64decode(audio.data) == PCM
