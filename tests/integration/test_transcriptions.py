"""POST /v1/audio/transcriptions and /v1/audio/translations with the OpenAI SDK, over the fake
generateContent and streamGenerateContent.

The sample audio is generated here with the stdlib `wave` module (a 440 Hz tone, 2 s, 16 kHz
mono 16-bit; repeated to 15 MiB for the Files API): nothing is recorded. Gemini's answers follow
the shape of the recorded
`fixtures/gemini/generate-content-structured-output.json` (the JSON answer as one text part,
usageMetadata with per-modality prompt tokens), with the transcript made up for the test.
"""

from __future__ import annotations

import base64
import itertools
import math
import re
import struct
import time
from typing import Any

import openai
import orjson
import pytest

from adapter.translate.audio_output import wav

from ..fake_gemini import FakeGemini, Reply
from .conftest import SERVER_KEY

MODEL = "gemini-2.5-flash"
SECONDS = 2.0


def tone(seconds: float = SECONDS, rate: int = 16000) -> bytes:
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                      for i in range(int(seconds * rate)))
    return wav(frames, rate)


WAV = tone()
USAGE = {"promptTokenCount": 70, "candidatesTokenCount": 12, "totalTokenCount": 82,
         "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 20},
                                 {"modality": "AUDIO", "tokenCount": 50}]}
TIMED = {"language": "English", "segments": [
    {"start": 1.0, "end": 1.9, "text": "World --> again."},  # out of order, arrow
    {"start": 0.0, "end": 1.2, "text": "Hello there."},  # overlaps the next one
    {"start": 0.5, "end": 0.6, "text": "  "},  # empty: dropped
    {"start": 1.5, "end": 9.0, "text": "Past the end."},  # clamped to 2 s
], "words": [{"word": "Hello", "start": 0.0, "end": 0.4},
             {"word": "there", "start": 0.3, "end": 0.8}]}


def answer(text: str) -> Reply:
    return Reply.body({"candidates": [{"content": {"parts": [{"text": text}], "role": "model"},
                                       "finishReason": "STOP", "index": 0}],
                       "usageMetadata": USAGE, "modelVersion": MODEL})


def create(client: openai.OpenAI, **kw: Any) -> Any:
    return client.audio.transcriptions.create(
        model=kw.pop("model", "whisper-1"), file=("tone.wav", WAV, "audio/wav"), **kw)


def sent(fake: FakeGemini) -> dict[str, Any]:
    body: dict[str, Any] = fake.seen[-1].body
    return body


def test_json_sends_the_audio_inline_to_the_configured_model(client: openai.OpenAI,
                                                              fake: FakeGemini) -> None:
    fake.queue(answer("Hello there. "))
    result = create(client, model="gpt-4o-transcribe", language="en", prompt="Names: Ada",
                    temperature=0.2)
    assert result.text == "Hello there."
    assert result.usage.type == "tokens" and result.usage.input_tokens == 70
    assert result.usage.input_token_details.audio_tokens == 50
    assert fake.seen[-1].path == f"/v1beta/models/{MODEL}:generateContent"
    body = sent(fake)
    audio, instruction = body["contents"][0]["parts"]
    assert audio["inlineData"] == {"mimeType": "audio/wav",
                                   "data": base64.b64encode(WAV).decode()}
    assert "'en'" in instruction["text"] and "Ada" in instruction["text"]
    assert body["generationConfig"] == {"temperature": 0.2,
                                        "thinkingConfig": {"thinkingBudget": 0}}


def test_text(client: openai.OpenAI, fake: FakeGemini) -> None:
    fake.queue(answer("Hello there."))
    assert create(client, response_format="text").strip() == "Hello there."


def _timed(fake: FakeGemini) -> None:
    fake.queue(answer(orjson.dumps(TIMED).decode()))


def test_srt_segments_are_ordered_non_overlapping_and_parse(client: openai.OpenAI,
                                                            fake: FakeGemini) -> None:
    _timed(fake)
    srt = create(client, response_format="srt")
    config = sent(fake)["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert "words" not in config["responseSchema"]["properties"]
    cues = [block.split("\n") for block in srt.strip().split("\n\n")]
    pattern = re.compile(r"(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})")
    times = []
    for index, (number, timing, *text) in enumerate(cues, 1):
        assert number == str(index)
        match = pattern.fullmatch(timing)
        assert match and text
        g = [int(x) for x in match.groups()]
        times.append((g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000,
                      g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000))
    assert [c[2] for c in cues] == ["Hello there.", "World -> again.", "Past the end."]
    assert times == [(0.0, 1.2), (1.2, 1.9), (1.9, 2.0)]
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(times))


def test_vtt_parses(client: openai.OpenAI, fake: FakeGemini) -> None:
    _timed(fake)
    vtt = create(client, response_format="vtt")
    assert vtt.startswith("WEBVTT\n\n")
    cues = vtt.split("\n\n")[1:-1]
    assert cues[0] == "00:00:00.000 --> 00:00:01.200\nHello there."
    assert len(cues) == 3
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}\n.+", c)
               for c in cues)


def test_verbose_json_with_words(client: openai.OpenAI, fake: FakeGemini) -> None:
    _timed(fake)
    result = create(client, response_format="verbose_json",
                    timestamp_granularities=["word", "segment"])
    assert sent(fake)["generationConfig"]["responseSchema"]["properties"]["words"]
    assert result.language == "english"
    assert result.duration == pytest.approx(SECONDS)
    assert result.text == "Hello there. World --> again. Past the end."  # only cues change it
    assert [(s.start, s.end) for s in result.segments] == [(0.0, 1.2), (1.2, 1.9), (1.9, 2.0)]
    assert [(w.word, w.start, w.end) for w in result.words] == [
        ("Hello", 0.0, 0.4), ("there", 0.4, 0.8)]
    assert result.usage.type == "duration" and result.usage.seconds == 2


def test_streamed_transcription(client: openai.OpenAI, fake: FakeGemini) -> None:
    chunk = {"candidates": [{"content": {"parts": [{"text": "Hello "}], "role": "model"}}]}
    last = {"candidates": [{"content": {"parts": [{"text": "there."}], "role": "model"},
                            "finishReason": "STOP"}], "usageMetadata": USAGE}
    fake.queue(Reply.events(chunk, last))
    events = list(create(client, model="gpt-4o-mini-transcribe", stream=True))
    assert fake.seen[-1].path == f"/v1beta/models/{MODEL}:streamGenerateContent"
    assert [e.type for e in events] == ["transcript.text.delta", "transcript.text.delta",
                                        "transcript.text.done"]
    assert [e.delta for e in events[:2]] == ["Hello ", "there."]
    assert events[-1].text == "Hello there."
    assert events[-1].usage.input_tokens == 70


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")  # the SDK's, on whisper-1
def test_translation_gives_english(client: openai.OpenAI, fake: FakeGemini) -> None:
    fake.queue(answer("Good morning."))
    result = client.audio.translations.create(model="whisper-1",
                                              file=("tone.wav", WAV, "audio/wav"))
    assert result.text == "Good morning."
    assert "into English" in sent(fake)["contents"][0]["parts"][1]["text"]
    _timed(fake)
    srt = client.audio.translations.create(model="whisper-1", response_format="srt",
                                           file=("tone.wav", WAV, "audio/wav"))
    assert srt.startswith("1\n00:00:00,000 --> 00:00:01,200\n")


@pytest.mark.parametrize(("kw", "param"), [
    ({"response_format": "xml"}, "response_format"),
    ({"response_format": "json", "timestamp_granularities": ["word"]},
     "timestamp_granularities[]"),
    ({"response_format": "srt", "stream": True}, "stream"),
    ({"language": "English"}, "language"),
    ({"temperature": 3}, "temperature"),
])
def test_bad_requests_name_the_parameter(client: openai.OpenAI, fake: FakeGemini,
                                         kw: dict[str, Any], param: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        create(client, **kw)
    assert caught.value.body["param"] == param  # type: ignore[index]
    assert not fake.seen


def test_a_file_over_the_limit_is_a_413(start_adapter: Any, fake: FakeGemini) -> None:
    url = start_adapter(GEMINI_API_KEY="k", ADAPTER_TRANSCRIBE_MAX_BYTES="1000")
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="c", max_retries=0)
    with pytest.raises(openai.APIStatusError) as caught:
        create(client)
    assert caught.value.status_code == 413
    assert "ADAPTER_TRANSCRIBE_MAX_BYTES" in str(caught.value)
    assert not fake.seen


# Over the inline limit: Gemini's Files API (the fake answers it from the recorded upload)

LARGE = tone(1.0)[:44] + tone(1.0)[44:] * 492  # 15.0 MiB of WAV (the header says 1 s)


def _large(client: openai.OpenAI, **kw: Any) -> Any:
    return client.audio.transcriptions.create(model="whisper-1",
                                              file=("long.wav", LARGE, "audio/wav"), **kw)


def _uploads(fake: FakeGemini) -> int:
    """How many of the requests Gemini saw were the upload (its start, then its pieces)."""
    return sum(seen.path == "/upload/v1beta/files" for seen in fake.seen)


def _after_upload(fake: FakeGemini) -> list[Any]:
    return fake.seen[_uploads(fake):]


def _check_upload(fake: FakeGemini) -> None:
    start, *pieces = fake.seen[:_uploads(fake)]
    assert (start.method, start.path) == ("POST", "/upload/v1beta/files")
    assert start.headers["x-goog-upload-protocol"] == "resumable"
    assert start.headers["x-goog-upload-command"] == "start"
    assert start.headers["x-goog-upload-header-content-type"] == "audio/wav"
    assert start.body == {"file": {"display_name": "long.wav"}}
    assert [piece.headers["x-goog-upload-command"] for piece in pieces] == [
        "upload"] * (len(pieces) - 1) + ["upload, finalize"]
    offsets = [0]
    for piece in pieces[:-1]:
        offsets.append(offsets[-1] + len(piece.body))
    assert [int(piece.headers["x-goog-upload-offset"]) for piece in pieces] == offsets
    assert all(piece.query.startswith("upload_id=") for piece in pieces)
    assert b"".join(piece.body for piece in pieces) == LARGE
    for seen in fake.seen:
        assert seen.headers["x-goog-api-key"] == SERVER_KEY
        assert SERVER_KEY not in seen.path + seen.query
    delete = fake.seen[-1]
    uploaded = fake.files.uploaded[-1]  # the File the fake made of this upload
    assert (uploaded["displayName"], uploaded["sizeBytes"]) == ("long.wav", str(len(LARGE)))
    assert (delete.method, delete.path) == ("DELETE", f"/v1beta/{uploaded['name']}")


def test_a_large_file_goes_through_the_files_api(client: openai.OpenAI,
                                                 fake: FakeGemini) -> None:
    assert len(LARGE) > 15 * 1024 * 1024 - 1000
    fake.queue(answer("Hello there."))
    assert _large(client).text == "Hello there."
    assert [(s.method, s.path) for s in _after_upload(fake)] == [
        ("POST", f"/v1beta/models/{MODEL}:generateContent"),
        ("DELETE", f"/v1beta/{fake.files.uploaded[-1]['name']}")]
    _check_upload(fake)
    audio, instruction = _after_upload(fake)[0].body["contents"][0]["parts"]
    uri = fake.files.uploaded[-1]["uri"]
    assert audio == {"fileData": {"mimeType": "audio/wav", "fileUri": uri}}
    assert "Transcribe" in instruction["text"]


def test_the_file_is_deleted_when_generate_content_fails(client: openai.OpenAI,
                                                         fake: FakeGemini) -> None:
    fake.queue(Reply.error("error-400-invalid-argument.json", 400))
    with pytest.raises(openai.BadRequestError):
        _large(client)
    assert _after_upload(fake)[0].path == f"/v1beta/models/{MODEL}:generateContent"
    assert len(_after_upload(fake)) == 2
    _check_upload(fake)


def test_a_streamed_large_file_is_deleted_when_the_stream_ends(client: openai.OpenAI,
                                                               fake: FakeGemini) -> None:
    last = {"candidates": [{"content": {"parts": [{"text": "Hello."}], "role": "model"},
                            "finishReason": "STOP"}], "usageMetadata": USAGE}
    fake.queue(Reply.events(last))
    events = list(_large(client, stream=True))
    assert events[-1].text == "Hello."
    assert _after_upload(fake)[0].path == f"/v1beta/models/{MODEL}:streamGenerateContent"
    assert "fileData" in _after_upload(fake)[0].body["contents"][0]["parts"][0]
    for _ in range(50):  # the deletion runs as the response closes
        if len(_after_upload(fake)) == 2:
            break
        time.sleep(0.05)
    _check_upload(fake)
