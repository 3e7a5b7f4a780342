"""SSEDecoder and JSONArrayDecoder on every recorded Gemini stream, however the bytes are split."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import orjson
import pytest

from adapter.sse import DONE, JSONArrayDecoder, SSEDecoder, encode_event, encode_typed

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gemini"
SSE_FILES = sorted([*FIXTURES.glob("stream-sse-*.txt"),
                    *FIXTURES.glob("vercel-chunks/derived-sse/*.sse.txt")])
ARRAY_FILES = sorted(FIXTURES.glob("stream-json-array-*.txt"))
VERCEL_CHUNKS = sorted(FIXTURES.glob("vercel-chunks/*.chunks.txt"))


def _name(path: Path) -> str:
    return str(path.relative_to(FIXTURES))


def feed_in_pieces(decoder: SSEDecoder | JSONArrayDecoder, data: bytes,
                   cuts: list[int]) -> list[bytes]:
    """Everything `decoder` yields when `data` arrives split at the offsets in `cuts`."""
    bounds = [0, *cuts, len(data)]
    out: list[bytes] = []
    for start, end in pairwise(bounds):
        out += decoder.feed(data[start:end])
    return out


def sse_whole(data: bytes) -> tuple[list[bytes], bytes]:
    decoder = SSEDecoder()
    return decoder.feed(data), decoder.pending


def data_lines(raw: bytes) -> list[bytes]:
    """The `data: ` payload of every line, found without the decoder (one line per event here)."""
    return [line[6:] for line in raw.splitlines() if line.startswith(b"data: ")]


def test_fixture_sets_are_not_empty() -> None:
    assert len(SSE_FILES) >= 20
    assert len(ARRAY_FILES) >= 3
    assert VERCEL_CHUNKS


# --- SSEDecoder on the recordings ---------------------------------------------------------------

@pytest.mark.parametrize("path", SSE_FILES, ids=_name)
def test_sse_whole_file_yields_each_complete_event(path: Path) -> None:
    raw = path.read_bytes()
    payloads, pending = sse_whole(raw)
    lines = data_lines(raw)
    if raw.endswith((b"\r\n\r\n", b"\n\n")):
        assert payloads == lines
        assert pending == b""
    else:  # the recording lost the blank line after its last event: that event is not complete
        assert payloads == lines[:-1]
        assert pending.strip() == b"data: " + lines[-1]
    for payload in payloads:
        assert isinstance(orjson.loads(payload), dict)


@pytest.mark.parametrize("path", SSE_FILES, ids=_name)
def test_sse_byte_at_a_time_matches_whole(path: Path) -> None:
    raw = path.read_bytes()
    decoder = SSEDecoder()
    assert feed_in_pieces(decoder, raw, list(range(1, len(raw)))) == sse_whole(raw)[0]
    assert decoder.pending == sse_whole(raw)[1]


@pytest.mark.parametrize("name", ["stream-sse-text.txt",  # CRLF
                                  "stream-sse-final-event-without-parts.txt"])  # LF, truncated
def test_sse_split_at_every_position(name: str) -> None:
    raw = (FIXTURES / name).read_bytes()
    expected = sse_whole(raw)
    assert expected[0]
    for cut in range(len(raw) + 1):
        decoder = SSEDecoder()
        assert feed_in_pieces(decoder, raw, [cut]) == expected[0], cut
        assert decoder.pending == expected[1], cut


@pytest.mark.parametrize("path", VERCEL_CHUNKS, ids=_name)
def test_sse_derived_files_carry_the_recorded_chunks(path: Path) -> None:
    derived = path.parent / "derived-sse" / path.name.replace(".chunks.txt", ".sse.txt")
    payloads, pending = sse_whole(derived.read_bytes())
    assert payloads == [line for line in path.read_bytes().splitlines() if line.strip()]
    assert pending == b""


def test_sse_truncated_recordings_complete_with_a_blank_line() -> None:
    raw = (FIXTURES / "stream-sse-prompt-blocked-safety.txt").read_bytes()
    decoder = SSEDecoder()
    assert decoder.feed(raw) == []
    assert decoder.pending.startswith(b"data: {")
    [payload] = decoder.feed(b"\r\n")
    assert "promptFeedback" in orjson.loads(payload)
    assert decoder.pending == b""


# --- SSEDecoder on synthetic input --------------------------------------------------------------

EVENTS = [b'{"a": 1}', b'{"b": "x y"}', b'{"c": "\\u00e9"}']


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
def test_sse_lf_and_crlf_give_the_same_payloads(newline: bytes) -> None:
    raw = b"".join(b"data: " + event + newline + newline for event in EVENTS)
    for cut in range(len(raw) + 1):
        decoder = SSEDecoder()
        assert feed_in_pieces(decoder, raw, [cut]) == EVENTS
        assert decoder.pending == b""


def test_sse_mixed_line_endings() -> None:
    raw = b"data: " + EVENTS[0] + b"\r\n\n" + b"data: " + EVENTS[1] + b"\n\r\n"
    assert SSEDecoder().feed(raw) == EVENTS[:2]


def test_sse_multi_line_data_is_joined_with_newlines() -> None:
    raw = b"data: first\r\ndata: second\r\ndata:third\r\n\r\n"
    assert SSEDecoder().feed(raw) == [b"first\nsecond\nthird"]


def test_sse_data_without_space_and_with_two_spaces() -> None:
    assert SSEDecoder().feed(b"data:x\n\ndata:  y\n\n") == [b"x", b" y"]


def test_sse_other_fields_and_comments_are_ignored() -> None:
    raw = b": keep-alive\n\nevent: message\nid: 7\nretry: 10\ndata: x\n\n"
    assert SSEDecoder().feed(raw) == [b"x"]


def test_sse_extra_blank_lines_yield_nothing_extra() -> None:
    assert SSEDecoder().feed(b"\n\ndata: a\n\n\n\ndata: b\n\n\n") == [b"a", b"b"]


def test_sse_pending_holds_an_unfinished_event() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a": 1}\n\ndata: {"b"') == [b'{"a": 1}']
    assert decoder.pending == b'data: {"b"'
    assert decoder.feed(b": 2}\r\n") == []
    assert decoder.pending == b'data: {"b": 2}\n'
    assert decoder.feed(b"\r\n") == [b'{"b": 2}']
    assert decoder.pending == b""


def test_encode_event_round_trips_through_the_decoder() -> None:
    payload = {"text": "line\nbreak", "n": [1, 2], "é": None}
    encoded = encode_event(payload)
    assert encoded.startswith(b"data: ")
    assert encoded.endswith(b"\n\n")
    assert encoded.count(b"\n") == 2
    [decoded] = SSEDecoder().feed(encoded)
    assert orjson.loads(decoded) == payload
    assert SSEDecoder().feed(DONE) == [b"[DONE]"]


def test_encode_typed_names_each_event_and_round_trips() -> None:
    events = [{"type": "response.created", "sequence_number": 0, "response": {"id": "r"}},
              {"type": "response.output_text.delta", "sequence_number": 1, "delta": "a\n\nb"},
              {"type": "response.created", "sequence_number": 2, "response": {"id": "r"}}]
    encoded = encode_typed(events)
    blocks = encoded.split(b"\n\n")
    assert blocks[-1] == b""  # every event ends with its blank line, the last one too
    assert [block.split(b"\n")[0] for block in blocks[:-1]] == \
        [b"event: response.created", b"event: response.output_text.delta",
         b"event: response.created"]
    assert [orjson.loads(data) for data in SSEDecoder().feed(encoded)] == events


def test_encode_typed_passes_pre_encoded_json_on_as_it_is() -> None:
    text = orjson.Fragment(orjson.dumps("already\nencoded"))
    encoded = encode_typed([{"type": "t", "text": text}])
    assert encoded == b'event: t\ndata: {"type":"t","text":"already\\nencoded"}\n\n'


def test_encode_typed_of_no_events_is_nothing() -> None:
    assert encode_typed([]) == b""


# --- JSONArrayDecoder -----------------------------------------------------------------------------

def array_whole(data: bytes) -> list[bytes]:
    return JSONArrayDecoder().feed(data)


@pytest.mark.parametrize("path", ARRAY_FILES, ids=_name)
def test_array_whole_file_matches_json_parse(path: Path) -> None:
    raw = path.read_bytes()
    decoder = JSONArrayDecoder()
    objects = decoder.feed(raw)
    assert [orjson.loads(obj) for obj in objects] == orjson.loads(raw)
    assert all(obj.startswith(b"{") and obj.endswith(b"}") for obj in objects)
    assert decoder.pending == b""


@pytest.mark.parametrize("path", ARRAY_FILES, ids=_name)
def test_array_byte_at_a_time_matches_whole(path: Path) -> None:
    raw = path.read_bytes()
    decoder = JSONArrayDecoder()
    assert feed_in_pieces(decoder, raw, list(range(1, len(raw)))) == array_whole(raw)
    assert decoder.pending == b""


def test_array_split_at_every_position() -> None:
    raw = min((path.read_bytes() for path in ARRAY_FILES), key=len)
    expected = array_whole(raw)
    for cut in range(len(raw) + 1):
        assert feed_in_pieces(JSONArrayDecoder(), raw, [cut]) == expected, cut


TRICKY = [
    {"text": "braces } { ]} [{ inside", "n": 1},
    {"quote": 'say "hi" }', "nested": {"deep": [{"x": "}"}, "{"]}},
    {"backslash": "C:\\dir\\", "after": "\\\"}"},
    {"only": "\\\\", "unicode": "°é€ and \\u"},
    {},
]


def test_array_strings_with_braces_quotes_and_backslashes_split_at_every_byte() -> None:
    raw = b"[" + b",\r\n".join(orjson.dumps(obj) for obj in TRICKY) + b"]"
    assert [orjson.loads(obj) for obj in array_whole(raw)] == TRICKY
    for cut in range(len(raw) + 1):
        decoder = JSONArrayDecoder()
        assert [orjson.loads(obj) for obj in feed_in_pieces(decoder, raw, [cut])] == TRICKY, cut
        assert decoder.pending == b""
    assert [orjson.loads(obj) for obj in
            feed_in_pieces(JSONArrayDecoder(), raw, list(range(1, len(raw))))] == TRICKY


def test_array_escaped_backslash_before_closing_quote() -> None:
    raw = b'[{"a": "x\\\\"}, {"b": "\\\\\\""}]'  # "x\\" then "\\\"": the quote after \\ ends it
    for cut in range(len(raw) + 1):
        objects = feed_in_pieces(JSONArrayDecoder(), raw, [cut])
        assert [orjson.loads(obj) for obj in objects] == [{"a": "x\\"}, {"b": '\\"'}], cut


def test_array_yields_each_object_as_soon_as_it_closes() -> None:
    decoder = JSONArrayDecoder()
    assert decoder.feed(b'[{"a": {"b": 1}') == []
    assert decoder.pending == b'{"a": {"b": 1}'
    assert decoder.feed(b"}\n,") == [b'{"a": {"b": 1}}']
    assert decoder.pending == b""
    assert decoder.feed(b'\r\n{"c": "}"') == []
    assert decoder.pending == b'{"c": "}"'
    assert decoder.feed(b"}]") == [b'{"c": "}"}']
    assert decoder.pending == b""


def test_array_pending_for_a_truncated_stream() -> None:
    raw = (FIXTURES / "stream-json-array-thinking.txt").read_bytes()
    decoder = JSONArrayDecoder()
    objects = decoder.feed(raw[: len(raw) // 2])
    assert len(objects) < len(orjson.loads(raw))
    assert decoder.pending.startswith(b"{")
    assert decoder.pending in raw[: len(raw) // 2]
