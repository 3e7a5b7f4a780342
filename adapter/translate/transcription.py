"""OpenAI speech to text (`/v1/audio/transcriptions`, `/v1/audio/translations`) -> a Gemini
`generateContent` body with the audio inline (or, over INLINE_MAX_BYTES, as a `fileData` part
once the route has uploaded it through Gemini's Files API), and Gemini's answer back into
OpenAI's json, text, srt, vtt or verbose_json.

`json` and `text` ask Gemini for plain text (which can stream). `srt`, `vtt` and `verbose_json`
need timestamps: Gemini is asked for them through structured output (segments with start and end
seconds, words when `timestamp_granularities[]` has `word`), and what it answers is checked and
mended before it is rendered: segments sorted, overlaps cut, empty ones dropped, times kept
within the audio's duration when it is known.
"""

from __future__ import annotations

import base64
import io
import math
import re
import wave
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from . import validate
from .capabilities import capabilities
from .content import file_id_part
from .errors import AdapterError, FileTooLarge, InvalidRequest
from .request import NO_ALIASES, model_id
from .uploads import Upload

# The speech-to-text models OpenAI names: each stands for ADAPTER_TRANSCRIBE_MODEL.
OPENAI_MODELS = frozenset({"whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"})
FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
TIMED_FORMATS = frozenset({"srt", "vtt", "verbose_json"})
# Gemini takes at most 20 MB of request inline; base64 makes the audio 4/3 as large.
INLINE_MAX_BYTES = 14 * 1024 * 1024
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_INTEGER_FIELDS: tuple[str, ...] = ()
_MIME_BY_SUFFIX = {"wav": "audio/wav", "mp3": "audio/mp3", "mpga": "audio/mp3",
                   "mpeg": "audio/mpeg", "m4a": "audio/mp4", "mp4": "audio/mp4",
                   "flac": "audio/flac", "ogg": "audio/ogg", "oga": "audio/ogg",
                   "opus": "audio/ogg", "webm": "audio/webm", "aac": "audio/aac",
                   "aiff": "audio/aiff", "aif": "audio/aiff"}
_KNOWN_FIELDS = frozenset({"file", "file_id", "model", "language", "prompt", "response_format",
                           "temperature", "timestamp_granularities[]",
                           "timestamp_granularities", "stream", "include[]", "include",
                           "chunking_strategy"})
_POLICY_REASONS = frozenset({"SAFETY", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "RECITATION"})


@dataclass(slots=True)
class TranscriptionRequest:
    """What the HTTP shell needs: the Gemini call and how to answer."""

    model: str  # Gemini model id
    body: dict[str, Any]  # the GenerateContentRequest
    requested_model: str  # the client's `model`, for the usage shape
    response_format: str
    stream: bool
    translate: bool
    words: bool  # word timestamps asked for
    segments: bool  # segment timestamps asked for (verbose_json)
    temperature: float
    duration: float | None  # seconds, when the file's header tells (WAV)
    granularities: list[str] = field(default_factory=list)
    upload: Upload | None = None  # audio over INLINE_MAX_BYTES: sent through the Files API
    mime: str = "audio/wav"  # the audio's mime type


def audio_mime(upload: Upload) -> str:
    """The audio's mime type: declared `audio/*`, else from the file name, else sniffed."""
    declared = (upload.content_type or "").split(";")[0].strip().lower()
    if declared.startswith("audio/") or declared in ("video/mp4", "video/webm"):
        return declared.replace("video/", "audio/")
    suffix = (upload.filename or "").rsplit(".", 1)[-1].lower() if upload.filename else ""
    if suffix in _MIME_BY_SUFFIX:
        return _MIME_BY_SUFFIX[suffix]
    data = upload.data
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[:4] == b"fLaC":
        return "audio/flac"
    if data[:4] == b"OggS":
        return "audio/ogg"
    if data[:3] == b"ID3" or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mp3"
    raise InvalidRequest("'file' is not an audio file this endpoint reads (flac, m4a, mp3, "
                         "mp4, mpeg, mpga, oga, ogg, wav or webm).", "file",
                         code="invalid_file_format")


def wav_duration(data: bytes) -> float | None:
    """The length of WAV audio in seconds, from its header; None for anything else."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    try:
        with wave.open(io.BytesIO(data)) as reader:
            rate = reader.getframerate()
            return reader.getnframes() / rate if rate else None
    except (wave.Error, EOFError):
        return None


def _schema(words: bool) -> dict[str, Any]:
    timed = {"start": {"type": "NUMBER", "description": "start time in seconds from the "
                       "beginning of the audio"},
             "end": {"type": "NUMBER", "description": "end time in seconds"}}
    segment = {"type": "OBJECT",
               "properties": {**timed, "text": {"type": "STRING"}},
               "required": ["start", "end", "text"],
               "propertyOrdering": ["start", "end", "text"]}
    properties: dict[str, Any] = {
        "language": {"type": "STRING", "description": "the spoken language's name in English, "
                     "lower case (for example 'english', 'german')"},
        "segments": {"type": "ARRAY", "items": segment,
                     "description": "consecutive phrases or sentences, in order, not overlapping"},
    }
    order = ["language", "segments"]
    if words:
        properties["words"] = {
            "type": "ARRAY", "description": "every word, in order",
            "items": {"type": "OBJECT", "properties": {"word": {"type": "STRING"}, **timed},
                      "required": ["word", "start", "end"],
                      "propertyOrdering": ["word", "start", "end"]}}
        order.append("words")
    return {"type": "OBJECT", "properties": properties, "required": order,
            "propertyOrdering": order}


def _instruction(translate: bool, language: str | None, timed: bool, words: bool,
                 prompt: str | None) -> str:
    if translate:
        task = ("Translate the speech in this audio into English. Answer with the English "
                "translation only.")
    else:
        task = "Transcribe the speech in this audio verbatim, in the language it is spoken in."
        if language:
            task += f" The audio is in the language with ISO-639-1 code '{language}'."
    if timed:
        task += (" Give the text as segments (phrases or sentences) with their start and end "
                 "times in seconds from the beginning of the audio, in order and not "
                 "overlapping.")
        if words:
            task += " Also give every word with its start and end times in seconds."
    else:
        task += " Answer with the text only, with no timestamps, labels or commentary."
    if prompt:
        task += ("\nText that comes before this audio, or names and spellings to use (not to be "
                 f"transcribed):\n{prompt}")
    return task


# Models that do not think (and may refuse thinkingConfig): Gemini 1.x and 2.0.
_NO_THINKING = re.compile(r"gemini-(?:1\.|2\.0)")
# The least thinking level every Gemini 3 model takes: "minimal" is refused by some
# ("Thinking level MINIMAL is not supported for this model", fixtures/gemini).
LEAST_LEVEL = "low"
LEAST_BUDGET = 128  # tokens, for a model whose thinking cannot be switched off (2.5 Pro)


def thinking(model: str) -> dict[str, Any] | None:
    """The `thinkingConfig` that spends the fewest tokens thinking on a transcript: a budget of
    0 where capabilities.py says thinking can be switched off, the least level on a model
    thinking by level (Gemini 3), the least budget otherwise; None for a model that does not
    think (Gemma, Gemini 1.x and 2.0, the TTS models)."""
    caps = capabilities(model)
    if caps.family != "gemini" or caps.audio_output or _NO_THINKING.match(model):
        return None
    if caps.thinking == "level":
        return {"thinkingLevel": LEAST_LEVEL}
    return {"thinkingBudget": 0 if caps.thinking_off else LEAST_BUDGET}


def _form_bool(value: str, name: str) -> bool:
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise InvalidRequest(f"'{name}' must be true or false, got {value!r}.", name)


def transcription_request(fields: list[tuple[str, str | Upload]], *, translate: bool,
                          default_model: str, max_bytes: int,
                          aliases: Mapping[str, str] = NO_ALIASES) -> TranscriptionRequest:
    """Translate the fields of a transcription (or translation) form, in order. Raises
    InvalidRequest (400) on bad input and AdapterError 413 for a file over the limits."""
    values: dict[str, str] = {}
    granularities: list[str] = []
    files: list[Upload] = []
    for name, value in fields:
        if isinstance(value, Upload):
            if name != "file":
                raise InvalidRequest(f"'{name}' is not a file this endpoint takes; send the "
                                     "audio as 'file'.", name)
            files.append(value)
        elif name in ("timestamp_granularities[]", "timestamp_granularities"):
            granularities.append(value)
        elif name == "file":
            raise InvalidRequest("'file' must be a file upload.", "file")
        else:
            values[name] = value
    if not files and values.get("file_id"):  # audio uploaded before, to POST /v1/files
        upload = None
    elif len(files) != 1:
        raise InvalidRequest("'file' is required, once: send the audio as a file upload (or "
                             "'file_id', a file uploaded to /v1/files).", "file")
    else:
        upload = files[0]
        _check_size(upload, max_bytes)
    requested = values.get("model")
    if not requested:
        raise InvalidRequest("'model' is required (for example 'whisper-1').", "model")
    if requested in OPENAI_MODELS and requested not in aliases:
        model = default_model
    else:
        model = model_id(requested, aliases=aliases)
    response_format = values.get("response_format") or "json"
    if response_format not in FORMATS:
        raise InvalidRequest(f"'response_format' must be one of {', '.join(FORMATS)}, got "
                             f"{response_format!r}.", "response_format")
    stream = _form_bool(values["stream"], "stream") if values.get("stream") else False
    if stream and translate:
        raise InvalidRequest("Streaming is not supported for translations.", "stream",
                             code="unsupported_value")
    if stream and response_format in TIMED_FORMATS:
        raise InvalidRequest(f"'stream' is supported with response_format json or text, not "
                             f"{response_format!r}.", "stream", code="unsupported_value")
    for value in granularities:
        if value not in ("word", "segment"):
            raise InvalidRequest(f"'timestamp_granularities[]' values must be 'word' or "
                                 f"'segment', got {value!r}.", "timestamp_granularities[]")
    if granularities and response_format != "verbose_json":
        raise InvalidRequest("'timestamp_granularities[]' requires response_format "
                             "'verbose_json'.", "timestamp_granularities[]")
    words = "word" in granularities
    segments = not granularities or "segment" in granularities
    language = values.get("language") or None
    if language is not None and not _LANGUAGE.fullmatch(language):
        raise InvalidRequest(f"'language' must be an ISO-639-1 code such as 'en', got "
                             f"{language!r}.", "language")
    temperature = 0.0
    if values.get("temperature"):
        try:
            temperature = float(values["temperature"])
        except ValueError:
            temperature = math.nan
        if not 0.0 <= temperature <= 1.0:
            raise InvalidRequest("'temperature' must be a number from 0 to 1.", "temperature")
    prompt = values.get("prompt") or None
    for name in values:
        if name not in _KNOWN_FIELDS:
            raise InvalidRequest(f"Unrecognized request argument supplied: {name}.", name)
    timed = response_format in TIMED_FORMATS
    config: dict[str, Any] = {"temperature": temperature}
    if (least := thinking(model)) is not None:
        config["thinkingConfig"] = least
    if timed:
        config["responseMimeType"] = "application/json"
        config["responseSchema"] = _schema(words)
    instruction = {"text": _instruction(translate, language, timed, words, prompt)}
    parts: list[Any] = [instruction]
    to_upload = None
    if upload is None:  # the shell resolves the placeholder to the file's `fileData`
        mime = "audio/wav"
        parts.insert(0, file_id_part(values["file_id"], "file_id"))
    elif len(upload.data) > INLINE_MAX_BYTES:
        mime = audio_mime(upload)
        to_upload = upload  # the route uploads it and puts its `fileData` first
    else:
        mime = audio_mime(upload)
        parts.insert(0, {"inlineData": {"mimeType": mime,
                                        "data": base64.b64encode(upload.data).decode("ascii")}})
    body = {"contents": [{"role": "user", "parts": parts}], "generationConfig": config}
    validate.nesting(body)
    duration = wav_duration(upload.data) if upload is not None else None
    return TranscriptionRequest(model, body, requested, response_format, stream, translate,
                                words, segments, temperature, duration, granularities,
                                to_upload, mime)


def _check_size(upload: Upload, max_bytes: int) -> None:
    if not upload.data:
        raise InvalidRequest("'file' is an empty file.", "file")
    if len(upload.data) > max_bytes:
        raise FileTooLarge(max_bytes, "ADAPTER_TRANSCRIBE_MAX_BYTES")


def with_file(plan: TranscriptionRequest, file: Mapping[str, Any]) -> dict[str, Any]:
    """The plan's body with the audio Gemini's Files API holds (`file`, the File resource)
    as a `fileData` part before the instruction."""
    content = plan.body["contents"][0]
    audio = {"fileData": {"mimeType": file.get("mimeType") or plan.mime,
                          "fileUri": file["uri"]}}
    return {**plan.body, "contents": [{**content, "parts": [audio, *content["parts"]]}]}


# Gemini's answer back


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def answer_text(answer: Any) -> str:
    """The text of one generateContent answer (thoughts left out); raises the error for an
    answer without one: a refusal is a 400, anything else a 502."""
    answer = _dict(answer)
    feedback = _dict(answer.get("promptFeedback"))
    if blocked := feedback.get("blockReason"):
        raise AdapterError(f"Gemini blocked the audio ({blocked}).", 400,
                           code="content_policy_violation")
    candidates = answer.get("candidates")
    candidate = _dict(candidates[0]) if isinstance(candidates, list) and candidates else {}
    parts = _dict(candidate.get("content")).get("parts")
    text = "".join(part["text"] for part in parts if isinstance(part, dict)
                   and not part.get("thought") and isinstance(part.get("text"), str)
                   ) if isinstance(parts, list) else ""
    reason = str(candidate.get("finishReason") or "")
    if reason in _POLICY_REASONS:
        raise AdapterError(f"Gemini stopped the transcript ({reason}).", 400,
                           code="content_policy_violation")
    return text


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) and value >= 0 else None


def clean_timeline(items: Any, key: str, duration: float | None) -> list[dict[str, Any]]:
    """Timed items (`key` holds their text) in order, non-overlapping and within `duration`:
    malformed or empty ones dropped, a start before the previous end moved to it, an end
    before its start moved to it."""
    timed: list[tuple[float, float, str]] = []
    for item in items if isinstance(items, list) else ():
        item = _dict(item)
        start, end, text = _seconds(item.get("start")), _seconds(item.get("end")), item.get(key)
        if start is None or not isinstance(text, str) or not text.strip():
            continue
        timed.append((start, end if end is not None else start, text.strip()))
    timed.sort(key=lambda entry: entry[0])
    cleaned: list[dict[str, Any]] = []
    previous = 0.0
    for start, end, text in timed:
        if duration is not None:
            if start >= duration and cleaned:
                continue  # beyond the audio
            start, end = min(start, duration), min(end, duration)
        start = max(start, previous)
        end = max(end, start)
        cleaned.append({"start": round(start, 3), "end": round(end, 3), key: text})
        previous = end
    return cleaned


@dataclass(slots=True)
class Transcript:
    """A transcript, whatever Gemini answered: the text, and the timed parts when asked."""

    text: str
    language: str | None = None
    segments: list[dict[str, Any]] = field(default_factory=list)
    words: list[dict[str, Any]] = field(default_factory=list)
    duration: float | None = None


def read_transcript(plan: TranscriptionRequest, answer: Any) -> Transcript:
    """Gemini's answer as a Transcript: plain text, or the structured answer checked."""
    raw = answer_text(answer)
    if plan.response_format not in TIMED_FORMATS:
        return Transcript(raw.strip())
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise AdapterError("Gemini's timed transcript is not the JSON object it was asked for.",
                           502, code="upstream_bad_response")
    segments = clean_timeline(parsed.get("segments"), "text", plan.duration)
    words = clean_timeline(parsed.get("words"), "word", plan.duration) if plan.words else []
    if not segments and words:  # one segment for all the words
        segments = [{"start": words[0]["start"], "end": words[-1]["end"],
                     "text": " ".join(w["word"] for w in words)}]
    duration = plan.duration
    if duration is None:
        duration = max([s["end"] for s in segments] + [w["end"] for w in words] + [0.0])
    language = parsed.get("language")
    language = language.strip().lower() if isinstance(language, str) and language.strip() \
        else None
    if plan.translate:
        language = "english"
    text = " ".join(segment["text"] for segment in segments)
    return Transcript(text, language, segments, words, duration)


def usage(plan: TranscriptionRequest, answers: list[dict[str, Any]],
          duration: float | None) -> dict[str, Any]:
    """OpenAI's usage: seconds of audio for whisper-1 when known, else tokens."""
    if plan.requested_model == "whisper-1" and duration is not None:
        return {"type": "duration", "seconds": math.ceil(duration)}
    inputs = outputs = audio = 0
    for answer in answers:
        meta = _dict(answer.get("usageMetadata"))
        inputs += _count(meta.get("promptTokenCount"))
        outputs += _count(meta.get("candidatesTokenCount")) + _count(meta.get("thoughtsTokenCount"))
        details = meta.get("promptTokensDetails")
        audio += sum(_count(d.get("tokenCount")) for d in details if isinstance(d, dict)
                     and d.get("modality") == "AUDIO") if isinstance(details, list) else 0
    return {"type": "tokens", "input_tokens": inputs,
            "input_token_details": {"audio_tokens": audio,
                                    "text_tokens": max(0, inputs - audio)},
            "output_tokens": outputs, "total_tokens": inputs + outputs}


def _clock(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _cue_text(text: str) -> str:
    """Cue text with no blank line in it (a blank line ends a cue) and no arrow."""
    lines = [line.strip() for line in text.replace("\r", "\n").split("\n")]
    return "\n".join(line for line in lines if line).replace("-->", "->")


def srt(segments: list[dict[str, Any]]) -> str:
    return "".join(f"{index}\n{_clock(s['start'], ',')} --> {_clock(s['end'], ',')}\n"
                   f"{_cue_text(s['text'])}\n\n" for index, s in enumerate(segments, 1))


def vtt(segments: list[dict[str, Any]]) -> str:
    cues = "".join(f"{_clock(s['start'], '.')} --> {_clock(s['end'], '.')}\n"
                   f"{_cue_text(s['text']).replace('&', '&amp;').replace('<', '&lt;')}\n\n"
                   for s in segments)
    return f"WEBVTT\n\n{cues}"


def render(plan: TranscriptionRequest, transcript: Transcript,
           answers: list[dict[str, Any]]) -> tuple[str | dict[str, Any], str]:
    """The OpenAI answer for the transcript: a JSON object, or text and its content type."""
    if plan.response_format == "text":
        return transcript.text + "\n", "text/plain; charset=utf-8"
    if plan.response_format == "srt":
        return srt(transcript.segments), "text/plain; charset=utf-8"
    if plan.response_format == "vtt":
        return vtt(transcript.segments), "text/vtt; charset=utf-8"
    if plan.response_format == "json":
        spent = usage(plan, answers, plan.duration)
        return {"text": transcript.text, "usage": spent}, "application/json"
    result: dict[str, Any] = {
        "task": "translate" if plan.translate else "transcribe",
        "language": transcript.language or "unknown",
        "duration": transcript.duration or 0.0,
        "text": transcript.text,
    }
    if plan.segments:
        result["segments"] = [
            {"id": index, "seek": 0, "start": s["start"], "end": s["end"], "text": s["text"],
             "tokens": [], "temperature": plan.temperature, "avg_logprob": 0.0,
             "compression_ratio": 0.0, "no_speech_prob": 0.0}
            for index, s in enumerate(transcript.segments)]
    if plan.words:
        result["words"] = transcript.words
    # OpenAI's verbose_json (TranscriptionVerbose) has only the duration usage: its duration
    # is always known here (the WAV header, else the last timestamp).
    result["usage"] = {"type": "duration", "seconds": math.ceil(result["duration"])}
    return result, "application/json"


def delta_event(text: str) -> dict[str, Any]:
    return {"type": "transcript.text.delta", "delta": text}


def done_event(text: str, spent: dict[str, Any]) -> dict[str, Any]:
    return {"type": "transcript.text.done", "text": text, "usage": spent}
