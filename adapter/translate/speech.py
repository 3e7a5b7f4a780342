"""`POST /v1/audio/speech` -> a Gemini TTS `streamGenerateContent` body, and Gemini's audio
events -> the PCM they carry and OpenAI's usage.

Gemini speaks with its TTS models, which answer with 24 kHz 16-bit mono PCM alone. OpenAI's
model names (`tts-1`, `tts-1-hd`, `gpt-4o-mini-tts`) stand for one configured Gemini TTS model
(ADAPTER_TTS_MODEL); a Gemini model id is used as it is. `input` is the text; `instructions`,
the style prompt, goes before it in natural language, as Gemini's TTS guide has it ("Say
cheerfully: ..."). `voice` is mapped as audio_output.py maps chat audio's voice (one home for
the rule). `speed` other than 1 has no Gemini counterpart: a 400 naming it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from . import validate
from .audio_output import voice_name
from .errors import AdapterError, InvalidRequest
from .request import NO_ALIASES, model_id
from .wire import GenerateContentResponse

OPENAI_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")  # aliases of ADAPTER_TTS_MODEL
MAX_INPUT = 4096  # characters: OpenAI's limit on `input`
MAX_INSTRUCTIONS = 4096  # characters
# response_format -> the Content-Type of the answer (opus comes in an Ogg container)
CONTENT_TYPES: Mapping[str, str] = MappingProxyType({
    "mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac",
    "wav": "audio/wav", "pcm": "audio/pcm"})
STREAM_FORMATS = ("audio", "sse")
PCM_RATE = 24_000  # Hz, when Gemini does not say
_RATE = re.compile(r"rate=(\d+)")
_PCM = re.compile(r"audio/(?:L16|pcm)\b", re.IGNORECASE)
_BLOCKED = frozenset({"SAFETY", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "RECITATION",
                      "OTHER"})


@dataclass(frozen=True, slots=True)
class SpeechRequest:
    """What the route needs: the Gemini call, and how to give its audio back."""

    model: str  # Gemini model id
    body: dict[str, Any]  # the GenerateContentRequest
    response_format: str  # a key of CONTENT_TYPES
    sse: bool  # stream_format "sse": speech.audio.delta / speech.audio.done events


def _model(value: Any, aliases: Mapping[str, str], default: str) -> str:
    if isinstance(value, str) and aliases.get(value, value) in OPENAI_MODELS:
        return default
    return model_id(value, aliases=aliases)


def _choice(body: dict[str, Any], param: str, options: tuple[str, ...], default: str) -> str:
    value = body.get(param)
    if value is None:
        return default
    value = validate.string(value, param)
    if value not in options:
        raise InvalidRequest(f"'{param}' must be one of {', '.join(options)}, not {value!r}.",
                             param)
    return value


def _text(body: dict[str, Any], param: str, limit: int, required: bool) -> str:
    value = body.get(param)
    if value is None and not required:
        return ""
    if value is None:
        raise InvalidRequest(f"'{param}' is a required property.", param)
    value = validate.string(value, param)
    if required and not value.strip():
        raise InvalidRequest(f"'{param}' must not be empty.", param)
    if len(value) > limit:
        raise InvalidRequest(f"'{param}' is {len(value)} characters long; the most is {limit}.",
                             param, code="string_above_max_length")
    return value


def prompt(text: str, instructions: str) -> str:
    """The text Gemini speaks: the style prompt first, as Gemini's TTS guide writes it."""
    style = instructions.strip().rstrip(":").strip()
    return f"{style}:\n{text}" if style else text


def speech_request(body: Any, aliases: Mapping[str, str] = NO_ALIASES,
                   default_model: str = "gemini-2.5-flash-preview-tts") -> SpeechRequest:
    """Translate a parsed `/v1/audio/speech` body. Raises InvalidRequest on bad input."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    model = _model(body.get("model"), aliases, default_model)
    text = _text(body, "input", MAX_INPUT, required=True)
    instructions = _text(body, "instructions", MAX_INSTRUCTIONS, required=False)
    if body.get("voice") is None:
        raise InvalidRequest("'voice' is a required property.", "voice")
    voice = voice_name(body["voice"], "voice")
    fmt = _choice(body, "response_format", tuple(CONTENT_TYPES), "mp3")
    sse = _choice(body, "stream_format", STREAM_FORMATS, "audio") == "sse"
    if (speed := body.get("speed")) is not None:
        speed = validate.number(speed, "speed", 0.25, 4.0)
        if speed != 1:
            raise InvalidRequest(
                f"'speed' {speed} cannot be honoured: Gemini's TTS models have no speaking-rate "
                "setting. Leave it out (or 1.0), or ask for a pace in 'instructions' "
                "(\"Speak slowly\").", "speed", code="unsupported_value")
    gemini = {
        "contents": [{"role": "user", "parts": [{"text": prompt(text, instructions)}]}],
        "generationConfig": {
            "responseModalities": ["AUDIO"],
            "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": voice}}}},
    }
    return SpeechRequest(model, gemini, fmt, sse)


class SpeechAnswer:
    """Reads Gemini's events: `pcm(event)` gives the samples each carries; `usage` OpenAI's
    usage once the last came; `check_end()` raises when Gemini answered without audio."""

    __slots__ = ("_reason", "rate", "spoken", "usage")

    def __init__(self) -> None:
        self.rate: int | None = None  # from the first audio part's mime type
        self.spoken = 0  # PCM bytes seen
        self.usage: dict[str, int] = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
        self._reason: str | None = None

    def pcm(self, event: GenerateContentResponse) -> bytes:
        if meta := event.get("usageMetadata"):
            prompt_tokens = meta.get("promptTokenCount", 0)
            output = meta.get("candidatesTokenCount", 0) + meta.get("thoughtsTokenCount", 0)
            self.usage = {"input_tokens": prompt_tokens, "output_tokens": output,
                          "total_tokens": meta.get("totalTokenCount", prompt_tokens + output)}
        if feedback := event.get("promptFeedback"):
            self._reason = feedback.get("blockReason") or self._reason
        data = bytearray()
        for candidate in event.get("candidates") or ():
            self._reason = candidate.get("finishReason") or self._reason
            content = candidate.get("content")
            for part in (content.get("parts") or ()) if content else ():
                blob = part.get("inlineData")
                if not blob:
                    continue
                mime = blob.get("mimeType") or ""
                if not _PCM.match(mime):
                    raise AdapterError(f"Gemini answered with {mime!r} audio, not PCM.", 502,
                                       code="upstream_bad_response")
                if self.rate is None:
                    rate = _RATE.search(mime)
                    self.rate = int(rate[1]) if rate else PCM_RATE
                data += base64.b64decode(blob.get("data") or "")
        self.spoken += len(data)
        return bytes(data)

    def check_end(self) -> None:
        """Raise when the answer ended with no audio at all."""
        if self.spoken:
            return
        reason = self._reason or "no reason given"
        if reason in _BLOCKED:
            raise InvalidRequest(f"Gemini would not speak this input ({reason}).", "input",
                                 code="content_policy_violation")
        raise AdapterError(f"Gemini's answer held no audio ({reason}).", 502,
                           code="upstream_bad_response")
