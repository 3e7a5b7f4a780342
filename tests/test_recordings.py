"""The recording format and its matching rules, and the replay transport's choices."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import orjson
import pytest

from adapter import recordings
from adapter.config import FIXTURE_RECORDINGS
from adapter.replay import ReplayTransport, differences
from adapter.translate.errors import AdapterError

PATH = "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
BODY = {"contents": [{"role": "model", "parts": [
    {"functionCall": {"name": "f", "args": {"a": 1, "b": 2}, "id": "abc"},
     "thoughtSignature": "c2ln"}]}], "generationConfig": {"temperature": 0.5}}


def test_key_ignores_key_order_ids_signatures_and_the_api_key() -> None:
    same = {"generationConfig": {"temperature": 0.5}, "contents": [{"parts": [
        {"thoughtSignature": "b3RoZXI=", "functionCall": {"id": "xyz", "args": {"b": 2, "a": 1},
                                                          "name": "f"}}], "role": "model"}]}
    assert recordings.match_key("POST", PATH, "alt=sse", BODY) == \
        recordings.match_key("POST", PATH, "key=secret&alt=sse", same)


@pytest.mark.parametrize("change", [
    lambda b: b["generationConfig"].update(temperature=0.7),
    lambda b: b["contents"][0]["parts"][0]["functionCall"]["args"].update(a=3),
    lambda b: b["contents"][0]["parts"].append({"text": "more"}),
])
def test_key_changes_with_meaning(change) -> None:
    other = orjson.loads(orjson.dumps(BODY))
    change(other)
    assert recordings.match_key("POST", PATH, "alt=sse", BODY) != \
        recordings.match_key("POST", PATH, "alt=sse", other)


def test_key_depends_on_method_path_and_query() -> None:
    keys = {recordings.match_key("POST", PATH, "alt=sse", BODY),
            recordings.match_key("POST", PATH.replace("2.5-flash", "2.5-pro"), "alt=sse", BODY),
            recordings.match_key("POST", PATH, "", BODY),
            recordings.match_key("GET", PATH, "alt=sse", BODY)}
    assert len(keys) == 4


def test_names_sort_by_time_and_say_what_they_hold() -> None:
    first = recordings.file_name(1_700_000_000.001, "gemini-2.5-flash", "streamGenerateContent",
                                 "0123456789abcdef")
    later = recordings.file_name(1_700_000_000.5, "gemini-2.5-flash", "generateContent", "ff")
    assert first == "20231114-221320.001_gemini-2.5-flash_streamGenerateContent_01234567.json"
    assert sorted([later, first]) == [first, later]
    assert recordings.describe("/v1beta/models") == ("models", "list")
    assert recordings.describe("/v1beta/models/gemini-2.5-flash") == ("gemini-2.5-flash", "get")
    assert recordings.describe(PATH) == ("gemini-2.5-flash", "streamGenerateContent")


def test_chunks_keep_their_bytes() -> None:
    for data in (b"data: {\"text\": \"caf\xc3\xa9\"}\r\n\r\n", b"\xff\xfe half a character \xc3"):
        entry = recordings.chunk_entry(5, data)
        assert recordings.chunk_bytes(orjson.loads(orjson.dumps(entry))) == data
    assert "text" in recordings.chunk_entry(0, b"plain")
    assert "base64" in recordings.chunk_entry(0, b"\xc3")


def test_differences_name_paths() -> None:
    asked = orjson.loads(orjson.dumps(BODY))
    asked["generationConfig"]["temperature"] = 1
    asked["contents"][0]["parts"][0]["functionCall"]["args"]["c"] = 0
    assert differences(BODY, asked) == [
        "contents[0].parts[0].functionCall.args.c", "generationConfig.temperature"]
    assert differences([1], [1, 2]) == ["(the whole body)"]


def request(method: str, path: str, body: dict | None = None) -> httpx.Request:
    return httpx.Request(method, f"http://gemini.test{path}", content=orjson.dumps(body)
                         if body is not None else b"")


def answer(transport: ReplayTransport, req: httpx.Request) -> tuple[int, bytes]:
    async def go() -> tuple[int, bytes]:
        response = await transport.handle_async_request(req)
        body = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
        return response.status_code, body
    return asyncio.run(go())


def test_fixture_recordings_answer_by_the_shape_of_the_request() -> None:
    replay = ReplayTransport(FIXTURE_RECORDINGS)
    hello = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    tools = {**hello, "tools": [{"functionDeclarations": [{"name": "weather"}]}]}
    after = {"contents": [*hello["contents"], {"role": "user", "parts": [
        {"functionResponse": {"name": "weather", "response": {}}}]}], **{"tools": tools["tools"]}}
    _, text = answer(replay, request("POST", PATH + "?alt=sse", hello))
    _, call = answer(replay, request("POST", PATH + "?alt=sse", tools))
    _, follow_up = answer(replay, request("POST", PATH + "?alt=sse", after))
    assert b"Paris" in text and b"functionCall" in call and b"40 C" in follow_up
    status, model = answer(replay, request("GET", "/v1beta/models/gemini-2.5-flash"))
    assert status == 200 and orjson.loads(model)["name"] == "models/gemini-2.5-flash"
    status, _ = answer(replay, request("GET", "/v1beta/models/no-such-model"))
    assert status == 404
    status, vectors = answer(replay, request(
        "POST", "/v1beta/models/gemini-embedding-001:batchEmbedContents",
        {"requests": [{"outputDimensionality": 3}] * 4}))
    assert status == 200 and [len(e["values"]) for e in orjson.loads(vectors)["embeddings"]] \
        == [3] * 4


def write(directory: Path, name: str, status: int, text: str) -> None:
    recording = {"recording": 1, "model": "gemini-2.5-flash", "method": "streamGenerateContent",
                 "key": recordings.match_key("POST", PATH, "alt=sse", BODY),
                 "request": {"method": "POST", "path": PATH, "query": "alt=sse", "body": BODY},
                 "response": {"status": status, "headers": {}, "complete": True,
                              "chunks": [{"ms": 0, "text": text}]}}
    (directory / name).write_bytes(recordings.dump(recording))


def test_recordings_of_one_request_play_in_order_then_the_last_repeats(tmp_path: Path) -> None:
    write(tmp_path, "1.json", 429, "busy")
    write(tmp_path, "2.json", 200, "served")
    replay = ReplayTransport(tmp_path)
    served = [answer(replay, request("POST", PATH + "?alt=sse", BODY)) for _ in range(3)]
    assert served == [(429, b"busy"), (200, b"served"), (200, b"served")]


def test_unmatched_request_is_a_404_naming_the_difference(tmp_path: Path) -> None:
    write(tmp_path, "1.json", 200, "served")
    replay = ReplayTransport(tmp_path)
    asked = {**BODY, "generationConfig": {"temperature": 0.9}}
    with pytest.raises(AdapterError) as raised:
        answer(replay, request("POST", PATH + "?alt=sse", asked))
    assert raised.value.status == 404 and raised.value.code == "recording_not_found"
    assert "differs at generationConfig.temperature" in raised.value.message
