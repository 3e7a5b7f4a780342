"""Gemini `groundingMetadata` -> OpenAI `url_citation` annotations."""

from __future__ import annotations

from .wire import Annotation, GroundingMetadata


def url_citations(metadata: GroundingMetadata, text: str) -> list[Annotation]:
    """One `url_citation` per source of each grounded segment of `text`.

    Gemini gives segment offsets in UTF-8 bytes; OpenAI's are in characters.
    """
    chunks = metadata.get("groundingChunks") or []
    supports = metadata.get("groundingSupports") or []
    if not chunks or not supports:
        return []
    encoded = text.encode()
    annotations: list[Annotation] = []
    for support in supports:
        segment = support.get("segment") or {}
        start = len(encoded[:segment.get("startIndex", 0)].decode(errors="ignore"))
        end = len(encoded[:segment.get("endIndex", 0)].decode(errors="ignore"))
        for index in support.get("groundingChunkIndices") or ():
            if not 0 <= index < len(chunks):
                continue
            source = chunks[index].get("web") or chunks[index].get("retrievedContext") or {}
            if not source.get("uri"):
                continue
            annotations.append({"type": "url_citation", "url_citation": {
                "start_index": start, "end_index": end,
                "url": source["uri"], "title": source.get("title") or source["uri"]}})
    return annotations
