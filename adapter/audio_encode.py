"""Gemini's 16-bit mono PCM -> the audio formats of OpenAI's speech API, piece by piece, so the
audio goes to the client as Gemini produces it.

`mp3` (LAME), `opus` (libopus, in Ogg), `aac` (FFmpeg's encoder, in ADTS) and `flac` are
encoded with PyAV (FFmpeg, whose codecs ship in its wheel); nothing here encodes audio by hand.
`pcm` is the samples as Gemini sent them. `wav` is a WAV header followed by the samples; its
length is not known when it is sent, so its RIFF and data sizes are 0xFFFFFFFF, as OpenAI's own
streamed WAV has them (players read to the end of the stream). A FLAC stream's STREAMINFO cannot
be rewritten once sent, so it gives no total length; decoders read it to the end as well.

Each `feed` returns the bytes ready so far (possibly none: encoders and the Ogg muxer hold data
until a frame or page is full); `finish` flushes the rest.
"""

from __future__ import annotations

import contextlib
import struct
from typing import Any

import av

# response_format -> (container, codec) for PyAV
_CODECS = {"mp3": ("mp3", "libmp3lame"), "opus": ("ogg", "libopus"), "aac": ("adts", "aac"),
           "flac": ("flac", "flac")}
FORMATS = (*_CODECS, "wav", "pcm")
UNKNOWN_SIZE = 0xFFFFFFFF


def wav_header(rate: int) -> bytes:
    """A 16-bit mono WAV header for a stream of unknown length."""
    return (b"RIFF" + struct.pack("<I", UNKNOWN_SIZE) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
            + b"data" + struct.pack("<I", UNKNOWN_SIZE))


class _Sink:
    """Where the muxer writes: bytes are taken out as soon as they are written. No `seek`, so
    muxers write for a stream that cannot be rewound."""

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)

    def take(self) -> bytes:
        out = bytes(self.data)
        self.data.clear()
        return out


class Encoder:
    """One answer's audio in one format: `feed(pcm)` as the samples come, then `finish()`."""

    __slots__ = ("_container", "_format", "_odd", "_pts", "_rate", "_sink", "_started",
                 "_stream")

    def __init__(self, fmt: str, rate: int) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown audio format {fmt!r}")
        self._format = fmt
        self._rate = rate
        self._odd = b""  # half a sample held for the next piece
        self._pts = 0
        self._started = False
        self._sink = _Sink()
        self._container: Any = None
        self._stream: Any = None
        if fmt in _CODECS:
            container, codec = _CODECS[fmt]
            self._container = av.open(self._sink, "w", format=container)
            self._stream = self._container.add_stream(codec, rate=rate, layout="mono")

    @property
    def heavy(self) -> bool:
        """Whether feeding it takes real CPU (worth a worker thread)."""
        return self._container is not None

    def feed(self, pcm: bytes) -> bytes:
        pcm = self._odd + pcm
        whole = len(pcm) // 2 * 2
        pcm, self._odd = pcm[:whole], pcm[whole:]
        if self._container is None:
            head = b""
            if self._format == "wav" and not self._started:
                head = wav_header(self._rate)
            self._started = True
            return head + pcm
        if pcm:
            samples = len(pcm) // 2
            frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
            frame.planes[0].update(pcm)
            frame.sample_rate = self._rate
            frame.pts = self._pts
            self._pts += samples
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        return self._sink.take()

    def finish(self) -> bytes:
        """The rest of the audio (a WAV header even when there were no samples)."""
        if self._container is None:
            return self.feed(b"") if not self._started else b""
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
        finally:
            self._container.close()
        return self._sink.take()

    def close(self) -> None:
        """Free the encoder when the answer is abandoned (nothing more is written)."""
        if self._container is not None:
            with contextlib.suppress(Exception):  # the output is dropped anyway
                self._container.close()
