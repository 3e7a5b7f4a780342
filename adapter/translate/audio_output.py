"""Spoken answers: `modalities: ["audio"]` and `audio: {"voice", "format"}` -> Gemini's
`responseModalities: ["AUDIO"]` and `speechConfig`, and the `inlineData` audio parts of an answer
-> the message's `audio` (`delta.audio` when streamed), as OpenAI's audio output has it.

Gemini speaks with its TTS models (`gemini-2.5-flash-preview-tts`, ...), which answer with
audio alone (they refuse TEXT beside AUDIO), as 24 kHz 16-bit little-endian mono PCM
(`audio/L16;codec=pcm;rate=24000`), the very samples of OpenAI's `pcm16`. So `pcm16` goes as
Gemini sent it and `wav` gets a WAV header; `mp3`, `opus`, `flac` and `aac` would need an
encoder and are refused with a 400 naming `audio.format`. A streamed answer sends the samples
as they come (in pieces whose base64 joins into one valid string), in `pcm16` as OpenAI
streams; a streamed `wav` comes whole in one piece at the end, as a WAV header needs the length.

Voices: Gemini's own names (`Kore`, `Puck`, ...) are taken as they are, in any case; OpenAI's
are given the Gemini voice of the nearest character (`VOICES`). A custom voice (`{"id": ...}`)
has no Gemini counterpart: a 400.

Nothing is kept: the audio `id` names no stored audio, and `expires_at` is the answer's
`created` time. An assistant message that brings `audio: {"id"}` back in history is sent as its
`transcript` (messages.py), since Gemini cannot fetch OpenAI's stored audio.
"""

from __future__ import annotations

import base64
import io
import re
import uuid
import wave
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from . import validate
from .errors import InvalidRequest
from .wire import AudioDelta, Blob

GEMINI_VOICES = (
    "Achernar", "Achird", "Algenib", "Algieba", "Alnilam", "Aoede", "Autonoe", "Callirrhoe",
    "Charon", "Despina", "Enceladus", "Erinome", "Fenrir", "Gacrux", "Iapetus", "Kore",
    "Laomedeia", "Leda", "Orus", "Puck", "Pulcherrima", "Rasalgethi", "Sadachbia", "Sadaltager",
    "Schedar", "Sulafat", "Umbriel", "Vindemiatrix", "Zephyr", "Zubenelgenubi")
# OpenAI's voices -> the Gemini voice whose character (Google's one-word description) is nearest.
VOICES: Mapping[str, str] = MappingProxyType({
    "alloy": "Sulafat",  # warm
    "ash": "Alnilam",  # firm
    "ballad": "Vindemiatrix",  # gentle
    "coral": "Laomedeia",  # upbeat
    "echo": "Schedar",  # even
    "fable": "Rasalgethi",  # informative (a narrator)
    "nova": "Erinome",  # clear
    "onyx": "Charon",  # informative, low
    "sage": "Achernar",  # soft
    "shimmer": "Zephyr",  # bright
    "verse": "Puck",  # upbeat
    "marin": "Aoede",  # breezy
    "cedar": "Orus",  # firm, low
})
_BY_LOWER = {name.lower(): name for name in GEMINI_VOICES}
FORMATS = ("pcm16", "wav")  # what Gemini's PCM becomes without an encoder
_ENCODED = ("mp3", "opus", "flac", "aac")
_PCM = re.compile(r"audio/(?:L16|pcm)\b", re.IGNORECASE)
_RATE = re.compile(r"rate=(\d+)")
_PCM_RATE = 24_000  # Hz, when Gemini does not say
_PIECE = 6  # bytes: whole 16-bit samples whose base64 has no padding


def asks_for_audio(body: dict[str, Any]) -> bool:
    """Whether a request asks for a spoken answer (`modalities` holds "audio")."""
    modalities = body.get("modalities")
    return isinstance(modalities, list) and "audio" in modalities


_CHOICES = f"use one of {', '.join(VOICES)} or a Gemini voice ({', '.join(GEMINI_VOICES)})"


def voice_name(voice: Any, param: str = "audio.voice") -> str:
    """The Gemini voice for an OpenAI voice (`audio.voice`, or the speech API's `voice`)."""
    if isinstance(voice, dict):
        raise InvalidRequest(
            f"'{param}': custom voices have no Gemini counterpart; {_CHOICES}.", param)
    voice = validate.string(voice, param)
    name = VOICES.get(voice.lower()) or _BY_LOWER.get(voice.lower())
    if name is None:
        raise InvalidRequest(f"'{param}' {voice!r} is not a voice: {_CHOICES}.", param)
    return name


def audio_format(body: dict[str, Any]) -> str:
    """The format a spoken answer is given in (`audio.format`; `wav` when not given)."""
    audio = body.get("audio")
    if audio is None:
        return "wav"
    fmt = validate.mapping(audio, "audio").get("format")
    if fmt is None:
        return "wav"
    fmt = validate.string(fmt, "audio.format")
    if fmt in _ENCODED:
        raise InvalidRequest(f"'audio.format' {fmt!r} needs an audio encoder this adapter does "
                             f"not have; Gemini speaks PCM: use {' or '.join(FORMATS)}.",
                             "audio.format")
    if fmt not in FORMATS:
        raise InvalidRequest(f"'audio.format' must be one of {', '.join(FORMATS)}, not {fmt!r}.",
                             "audio.format")
    return fmt


def speech_config(body: dict[str, Any]) -> dict[str, Any] | None:
    """Gemini's `speechConfig` for `audio.voice` (None without one: Gemini's default voice)."""
    audio = body.get("audio")
    if audio is None or (voice := validate.mapping(audio, "audio").get("voice")) is None:
        return None
    return {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": voice_name(voice)}}}


def is_audio(blob: Blob) -> bool:
    return (blob.get("mimeType") or "").lower().startswith("audio/")


def wav(pcm: bytes, rate: int) -> bytes:
    """16-bit mono PCM in a WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(pcm)
    return out.getvalue()


class AudioAnswer:
    """The audio of one choice, as Gemini's parts bring it: `add` each part, then `delta` gives
    what the next chunk carries (`finished` on the choice's last chunk)."""

    __slots__ = ("_format", "_id", "_pending", "_rate", "_sent", "expires_at")

    def __init__(self, fmt: str, expires_at: int) -> None:
        self._format = fmt
        self._id = f"audio_{uuid.uuid4().hex}"
        self._pending = bytearray()
        self._rate = _PCM_RATE
        self._sent = False
        self.expires_at = expires_at

    def add(self, blob: Blob) -> None:
        mime = blob.get("mimeType") or ""
        if not _PCM.match(mime):
            self._format = "encoded"  # not Gemini's PCM: passed on whole, as it came
        elif rate := _RATE.search(mime):
            self._rate = int(rate[1])
        self._pending += base64.b64decode(blob.get("data") or "")

    def delta(self, finished: bool) -> AudioDelta | None:
        if self._format == "pcm16":
            size = len(self._pending) if finished else len(self._pending) // _PIECE * _PIECE
        else:
            size = len(self._pending) if finished else 0
        piece: AudioDelta = {}
        if size:
            data = bytes(self._pending[:size])
            del self._pending[:size]
            if self._format == "wav":
                data = wav(data, self._rate)
            piece["data"] = base64.b64encode(data).decode()
        if piece and not self._sent:
            piece = {"id": self._id, **piece, "transcript": ""}
            self._sent = True
        if finished and self._sent:
            piece["expires_at"] = self.expires_at
        return piece or None
