"""Gemini `groundingMetadata` -> OpenAI `url_citation` annotations, whole and streamed."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from adapter.translate.grounding import url_citations

from .helpers import (
    FIXTURES,
    build,
    candidate,
    event,
    expected_citations,
    only_message,
    recording,
    run,
    stream,
)

GENERATED = FIXTURES / "generate-content-grounding-google-search.json"
STREAMED = "stream-sse-grounding-google-search.txt"


def generated() -> tuple[dict[str, Any], str]:
    """(groundingMetadata, answer text) of the recorded generateContent answer."""
    [cand] = orjson.loads(GENERATED.read_bytes())["candidates"]
    return cand["groundingMetadata"], "".join(p["text"] for p in cand["content"]["parts"])


def sliced(annotations: list[dict[str, Any]], text: str) -> list[tuple[str, str, str]]:
    return [(text[a["url_citation"]["start_index"]:a["url_citation"]["end_index"]],
             a["url_citation"]["url"], a["url_citation"]["title"]) for a in annotations]


def check_shape(annotations: list[dict[str, Any]]) -> None:
    for annotation in annotations:
        assert set(annotation) == {"type", "url_citation"}
        assert annotation["type"] == "url_citation"
        citation = annotation["url_citation"]
        assert set(citation) == {"start_index", "end_index", "url", "title"}
        assert isinstance(citation["start_index"], int)
        assert 0 <= citation["start_index"] < citation["end_index"]


# --- url_citations on the recorded answer ---------------------------------------------------------

def test_recording_has_non_ascii_before_some_segments() -> None:
    metadata, text = generated()
    assert "°" in text
    assert len(text.encode()) > len(text)
    assert len(metadata["groundingSupports"]) == 6


def test_recorded_citations_slice_the_segment_texts() -> None:
    metadata, text = generated()
    annotations = url_citations(metadata, text)
    check_shape(annotations)
    assert sliced(annotations, text) == expected_citations(metadata)


def test_offsets_after_a_multibyte_character_are_in_characters() -> None:
    metadata, text = generated()
    annotations = url_citations(metadata, text)
    supports = metadata["groundingSupports"]
    # The first segment ends with "69°F.": "°" is 2 bytes, so everything after shifts by one.
    assert supports[0]["segment"]["endIndex"] == 216
    assert annotations[0]["url_citation"]["end_index"] == 215
    assert supports[1]["segment"]["startIndex"] == 217
    assert annotations[1]["url_citation"]["start_index"] == 216
    # Before the "°" byte and character offsets agree.
    assert annotations[0]["url_citation"]["start_index"] == supports[0]["segment"]["startIndex"]


def test_titles_and_urls_come_from_the_grounding_chunks() -> None:
    metadata, text = generated()
    annotations = url_citations(metadata, text)
    assert [a["url_citation"]["title"] for a in annotations] == [
        "Weather information for San Francisco, CA, US", "Weather information for San Francisco, "
        "CA, US", "weather.gov", "wunderground.com", "weather.gov",
        "Weather information for San Francisco, CA, US"]
    assert annotations[2]["url_citation"]["url"].startswith(
        "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AUZIYQF_uqo2")


def test_input_metadata_is_not_modified() -> None:
    metadata, text = generated()
    before = copy.deepcopy(metadata)
    url_citations(metadata, text)
    assert metadata == before


# --- url_citations, synthetic ---------------------------------------------------------------------

def web(uri: str, title: str | None = None) -> dict[str, Any]:
    source = {"uri": uri}
    if title is not None:
        source["title"] = title
    return {"web": source}


def support(start: int | None, end: int, *indices: int) -> dict[str, Any]:
    segment: dict[str, Any] = {"endIndex": end}
    if start is not None:
        segment["startIndex"] = start
    return {"segment": segment, "groundingChunkIndices": list(indices)}


def spans(annotations: list[dict[str, Any]]) -> list[tuple[int, int, str]]:
    return [(a["url_citation"]["start_index"], a["url_citation"]["end_index"],
             a["url_citation"]["url"]) for a in annotations]


def test_one_annotation_per_chunk_index_in_order() -> None:
    metadata = {"groundingChunks": [web("https://a", "A"), web("https://b", "B"),
                                    web("https://c", "C")],
                "groundingSupports": [support(0, 5, 2, 0, 1), support(6, 11, 1)]}
    assert spans(url_citations(metadata, "Hello world")) == [
        (0, 5, "https://c"), (0, 5, "https://a"), (0, 5, "https://b"), (6, 11, "https://b")]


@pytest.mark.parametrize("indices", [(3,), (-1,), (99, 0), (0, 3, -2)])
def test_out_of_range_chunk_indexes_are_ignored(indices: tuple[int, ...]) -> None:
    metadata = {"groundingChunks": [web("https://a", "A"), web("https://b", "B"),
                                    web("https://c", "C")],
                "groundingSupports": [support(0, 5, *indices)]}
    expected = [(0, 5, "https://a")] if 0 in indices else []
    assert spans(url_citations(metadata, "Hello world")) == expected


@pytest.mark.parametrize("metadata", [
    {},
    {"groundingChunks": []},
    {"groundingSupports": [support(0, 5, 0)]},
    {"groundingChunks": [web("https://a")]},
    {"groundingChunks": [web("https://a")], "groundingSupports": []},
    {"groundingChunks": None, "groundingSupports": None},
    {"webSearchQueries": ["weather"], "searchEntryPoint": {"renderedContent": "<div/>"}},
])
def test_metadata_without_chunks_or_supports_gives_nothing(metadata: dict[str, Any]) -> None:
    assert url_citations(metadata, "Hello world") == []


def test_missing_start_index_means_zero() -> None:
    # Proto3 JSON leaves out zero values, so a segment at the start has no startIndex.
    metadata = {"groundingChunks": [web("https://a", "A")], "groundingSupports": [support(None, 5,
                                                                                           0)]}
    assert spans(url_citations(metadata, "Hello world")) == [(0, 5, "https://a")]


def test_support_without_chunk_indices_cites_nothing() -> None:
    metadata = {"groundingChunks": [web("https://a", "A")],
                "groundingSupports": [{"segment": {"startIndex": 0, "endIndex": 5}},
                                      {"segment": {"startIndex": 0, "endIndex": 5},
                                       "groundingChunkIndices": []},
                                      support(0, 5, 0)]}
    assert spans(url_citations(metadata, "Hello")) == [(0, 5, "https://a")]


def test_title_falls_back_to_the_url() -> None:
    metadata = {"groundingChunks": [web("https://a.example/x"), web("https://b", "")],
                "groundingSupports": [support(0, 2, 0, 1)]}
    assert [a["url_citation"]["title"] for a in url_citations(metadata, "Hi")] == [
        "https://a.example/x", "https://b"]


def test_retrieved_context_chunks_are_sources_too() -> None:
    metadata = {"groundingChunks": [{"retrievedContext": {"uri": "gs://b/doc.pdf",
                                                          "title": "Doc"}}],
                "groundingSupports": [support(0, 2, 0)]}
    assert url_citations(metadata, "Hi") == [{"type": "url_citation", "url_citation": {
        "start_index": 0, "end_index": 2, "url": "gs://b/doc.pdf", "title": "Doc"}}]


@pytest.mark.parametrize("chunk", [{"web": {"title": "no uri"}}, {"web": {"uri": ""}}, {},
                                   {"maps": {"uri": "https://maps"}}])
def test_chunks_without_a_url_are_skipped(chunk: dict[str, Any]) -> None:
    metadata = {"groundingChunks": [chunk, web("https://b", "B")],
                "groundingSupports": [support(0, 2, 0, 1)]}
    assert spans(url_citations(metadata, "Hi")) == [(0, 2, "https://b")]


@pytest.mark.parametrize("text", [
    "Zürich ist schön. Köln auch.",
    "日本の首都は東京です。大阪も大きい。",
    "Emoji 🌦️ weather 🌡️ today. Then rain.",
    "plain ascii. second.",
])
def test_byte_offsets_become_character_offsets(text: str) -> None:
    first, second = text.split(". ", 1) if ". " in text else text.split("。", 1)
    second_start = text.index(second)
    encoded = text.encode()
    to_bytes = len(text[:second_start].encode())
    metadata = {"groundingChunks": [web("https://a", "A"), web("https://b", "B")],
                "groundingSupports": [support(0, len(first.encode()), 0),
                                      support(to_bytes, len(encoded), 1)]}
    annotations = url_citations(metadata, text)
    assert [text[s:e] for s, e, _ in spans(annotations)] == [first, second]


# --- through StreamTranslator and CompletionBuilder -----------------------------------------------

def test_non_streamed_message_has_the_annotations() -> None:
    events = recording(GENERATED)
    message = only_message(build(events))
    metadata, text = generated()
    assert message["content"] == text
    annotations = message["annotations"]
    check_shape(annotations)
    assert annotations == url_citations(metadata, text)
    assert sliced(annotations, message["content"]) == expected_citations(metadata)


def test_message_without_grounding_has_no_annotations() -> None:
    message = only_message(build(recording(FIXTURES / "generate-content-text.json")))
    assert "annotations" not in message


def streamed() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    events = stream(STREAMED)
    _, chunks = run(events)
    [metadata] = [c["groundingMetadata"] for e in events for c in e.get("candidates") or ()
                  if c.get("groundingMetadata")]
    return events, chunks, metadata


def test_stream_recording_has_empty_then_full_metadata() -> None:
    events = stream(STREAMED)
    metas = [c.get("groundingMetadata") for e in events for c in e.get("candidates") or ()]
    assert {} in metas[:-1]
    assert metas[-1] and metas[-1]["groundingSupports"]


def test_stream_annotations_arrive_once_on_the_event_that_carries_them() -> None:
    events, chunks, _ = streamed()
    assert len(chunks) == len(events)  # every event here makes one chunk
    carrying = [i for i, chunk in enumerate(chunks)
                if any("annotations" in c["delta"] for c in chunk["choices"])]
    holders = [i for i, e in enumerate(events)
               if any(c.get("groundingMetadata") for c in e.get("candidates") or ())]
    assert carrying == holders == [len(events) - 1]


def test_stream_annotations_slice_the_accumulated_content() -> None:
    _, chunks, metadata = streamed()
    content = "".join(c["delta"].get("content") or "" for ch in chunks for c in ch["choices"])
    annotations = [a for ch in chunks for c in ch["choices"] for a in c["delta"].get(
        "annotations", ())]
    check_shape(annotations)
    assert len(annotations) == sum(len(s["groundingChunkIndices"])
                                   for s in metadata["groundingSupports"])
    assert sliced(annotations, content) == expected_citations(metadata)
    assert any("°" in text for text, _, _ in expected_citations(metadata))


def test_streamed_then_built_message_has_the_annotations_once() -> None:
    events, _, metadata = streamed()
    message = only_message(build(events))
    assert sliced(message["annotations"], message["content"]) == expected_citations(metadata)


def test_repeated_metadata_is_not_annotated_twice() -> None:
    metadata = {"groundingChunks": [web("https://a", "A")], "groundingSupports": [
        support(0, 5, 0)]}
    events = [
        event(candidate({"text": "Hello"}, groundingMetadata=metadata)),
        event(candidate({"text": " world"}, groundingMetadata=metadata)),
        event(candidate(finishReason="STOP", groundingMetadata=metadata)),
    ]
    _, chunks = run(events)
    per_chunk = [c["delta"].get("annotations") for ch in chunks for c in ch["choices"]]
    assert per_chunk[0] == url_citations(metadata, "Hello")
    assert per_chunk[1:] == [None, None]


def test_growing_metadata_sends_only_the_new_annotations() -> None:
    chunks_meta = [web("https://a", "A"), web("https://b", "B")]
    first = {"groundingChunks": chunks_meta, "groundingSupports": [support(0, 5, 0)]}
    both = {"groundingChunks": chunks_meta,
            "groundingSupports": [support(0, 5, 0), support(6, 11, 1)]}
    events = [event(candidate({"text": "Hello"}, groundingMetadata=first)),
              event(candidate({"text": " world"}, finishReason="STOP", groundingMetadata=both))]
    _, chunks = run(events)
    deltas = [c["delta"] for ch in chunks for c in ch["choices"]]
    assert spans(deltas[0]["annotations"]) == [(0, 5, "https://a")]
    assert spans(deltas[1]["annotations"]) == [(6, 11, "https://b")]


def test_thought_text_does_not_shift_stream_offsets() -> None:
    metadata = {"groundingChunks": [web("https://a", "A")], "groundingSupports": [
        support(6, 11, 0)]}
    events = [event(candidate({"text": "thinking about it", "thought": True})),
              event(candidate({"text": "Hello world"}, finishReason="STOP",
                              groundingMetadata=metadata))]
    message = only_message(build(events))
    [annotation] = message["annotations"]
    citation = annotation["url_citation"]
    assert message["content"][citation["start_index"]:citation["end_index"]] == "world"


def test_annotations_are_per_choice() -> None:
    meta_a = {"groundingChunks": [web("https://a", "A")], "groundingSupports": [support(0, 3, 0)]}
    meta_b = {"groundingChunks": [web("https://b", "B")], "groundingSupports": [support(4, 7, 0)]}
    events = [event(candidate({"text": "abc def"}, index=0, finishReason="STOP",
                              groundingMetadata=meta_a),
                    candidate({"text": "xyz uvw"}, index=1, finishReason="STOP",
                              groundingMetadata=meta_b))]
    completion = build(events)
    [first, second] = [c["message"] for c in completion["choices"]]
    assert spans(first["annotations"]) == [(0, 3, "https://a")]
    assert spans(second["annotations"]) == [(4, 7, "https://b")]
