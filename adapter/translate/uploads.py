"""A file of a multipart form (image edits, transcriptions), as the route read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Upload:
    """One uploaded file, read into memory."""

    data: bytes
    content_type: str | None  # as the client declared it, if it did
    filename: str | None = None
