"""Record real traffic with `--record`, replay it with `--replay`: the same answers with the
upstream gone, a clear error for what was never recorded, plain files that survive git."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest

from adapter import recordings

from ..fake_gemini import FakeGemini, Reply, fixture_bytes
from ..processes import adapter_process
from ..servers import free_port
from .helpers import SERVER_KEY
from .test_transcriptions import LARGE, answer

MODEL = "gemini-2.5-flash"
HELLO = [{"role": "user", "content": "What is the capital of France?"}]
WEATHER = [{"type": "function", "function": {"name": "weather", "parameters": {
    "type": "object", "properties": {"location": {"type": "string"}}}}}]
CLIENT_KEY = "client-secret-key-456"


def client_for(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=CLIENT_KEY, max_retries=0, timeout=20)


def without_created(value: Any) -> Any:
    """An SDK object as JSON, minus the creation time (the one field a replay changes)."""
    dumped = value.model_dump() if hasattr(value, "model_dump") else value
    dumped.pop("created", None)
    return dumped


def session(client: openai.OpenAI) -> list[Any]:
    """What an application does: a streamed answer, a whole one, a tool call and its follow-up,
    and a request the upstream refuses. Returns everything the client saw."""
    seen: list[Any] = []
    stream = client.chat.completions.create(model=MODEL, messages=HELLO, stream=True,
                                            stream_options={"include_usage": True})
    seen.append([without_created(chunk) for chunk in stream])
    seen.append(without_created(client.chat.completions.create(
        model=MODEL, messages=HELLO, temperature=0.2)))
    called = client.chat.completions.create(model=MODEL, messages=HELLO, tools=WEATHER)
    seen.append(without_created(called))
    message = called.choices[0].message
    [call] = message.tool_calls
    seen.append(without_created(client.chat.completions.create(
        model=MODEL, tools=WEATHER, messages=[
            *HELLO, message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "40 C"}])))
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model=MODEL, messages=[
            {"role": "user", "content": "One more, please."}])
    seen.append((refused.value.status_code, refused.value.body))
    return seen


def queue_session(fake: FakeGemini) -> None:
    fake.queue(Reply.sse("stream-sse-text.txt"), Reply.sse("stream-sse-text.txt"),
               Reply.sse("stream-sse-tool-call.txt"),
               Reply.sse("stream-sse-text-after-tool-result.txt"),
               Reply.error("error-429-rate-limit-exceeded-errorinfo.json", 429))


@pytest.fixture
def recorded(fake_server: tuple[FakeGemini, str], tmp_path: Path) -> Iterator[tuple[Path, list]]:
    """A directory recorded by `python -m adapter --record` against the fake upstream, and what
    the client saw while recording."""
    fake, url = fake_server
    fake.reset()
    queue_session(fake)
    directory = tmp_path / "recorded"
    env = {"GEMINI_BASE_URL": url, "GEMINI_API_KEY": SERVER_KEY, "ADAPTER_RETRIES": "0"}
    with adapter_process("--record", str(directory), env=env) as adapter:
        seen = session(client_for(adapter))
    yield directory, seen
    fake.reset()


def replaying(directory: Path, *args: str) -> Any:
    unreachable = {"GEMINI_BASE_URL": f"http://127.0.0.1:{free_port()}", "ADAPTER_RETRIES": "0"}
    return adapter_process("--replay", str(directory), *args, env=unreachable)


def test_replay_gives_the_recorded_answers_with_the_upstream_gone(recorded) -> None:
    directory, seen = recorded
    with replaying(directory) as adapter:
        assert session(client_for(adapter)) == seen
    stream, _, called, follow_up, (status, error) = seen
    assert "".join(c["choices"][0]["delta"]["content"] or "" for c in stream if c["choices"]) \
        == "The capital of France is Paris.\n"
    assert called["choices"][0]["finish_reason"] == "tool_calls"
    assert follow_up["choices"][0]["message"]["content"] == "The weather in Florence,Italy is 40 C."
    assert status == 429 and error["code"] == "rate_limit_exceeded"


def test_recordings_are_plain_files_with_no_keys(recorded) -> None:
    directory, _ = recorded
    files = sorted(p.name for p in directory.glob("*.json"))
    assert len(files) == 5
    assert files == sorted(files, key=lambda name: name[:19])  # named by time, in order
    assert all(f"_{MODEL}_streamGenerateContent_" in name for name in files)
    index = [orjson.loads(line)
             for line in (directory / recordings.INDEX).read_bytes().splitlines()]
    assert [entry["file"] for entry in index] == files
    assert [entry["status"] for entry in index] == [200, 200, 200, 200, 429]
    for path in directory.iterdir():
        text = path.read_text()  # UTF-8 text throughout
        assert SERVER_KEY not in text and CLIENT_KEY not in text
    first = orjson.loads((directory / files[0]).read_bytes())
    assert first["request"]["headers"] == {"content-type": "application/json"}
    assert first["request"]["query"] == "alt=sse"
    assert first["request"]["body"]["contents"] == [
        {"role": "user", "parts": [{"text": HELLO[0]["content"]}]}]
    error = orjson.loads((directory / files[4]).read_bytes())
    assert error["response"]["status"] == 429
    assert recordings.body_bytes(error) == \
        fixture_bytes("error-429-rate-limit-exceeded-errorinfo.json")


def test_stream_is_recorded_byte_for_byte_as_it_arrived(recorded) -> None:
    directory, _ = recorded
    first = orjson.loads(sorted(directory.glob("*.json"))[0].read_bytes())
    sent = Reply.sse("stream-sse-text.txt").chunks  # the fake writes one event per write
    assert recordings.body_bytes(first) == b"".join(sent)
    assert first["response"]["complete"] is True
    times = [chunk["ms"] for chunk in first["response"]["chunks"]]
    assert times == sorted(times)


def test_request_with_no_recording_gets_a_clear_error(recorded) -> None:
    directory, _ = recorded
    with replaying(directory) as adapter:
        client = client_for(adapter)
        with pytest.raises(openai.NotFoundError) as missing:
            client.chat.completions.create(model=MODEL, messages=[
                {"role": "user", "content": "What is the capital of Italy?"}])
        body = missing.value.body
        assert body["code"] == "recording_not_found"
        assert "contents[0].parts[0].text" in body["message"]
        assert str(directory) in body["message"]
        with pytest.raises(openai.NotFoundError) as other_model:
            client.chat.completions.create(model="gemini-2.5-pro", messages=HELLO)
        assert "no recording of streamGenerateContent for gemini-2.5-pro" in \
            other_model.value.body["message"]


def test_matching_ignores_generated_ids_and_signatures(recorded) -> None:
    """The follow-up after a tool call matches whatever id the client's history carries."""
    directory, _ = recorded
    with replaying(directory) as adapter:
        client = client_for(adapter)
        answer = client.chat.completions.create(model=MODEL, tools=WEATHER, messages=[
            *HELLO, {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_from_somewhere_else", "type": "function", "function": {
                    "name": "weather", "arguments": '{"location": "Florence,Italy"}'}}]},
            {"role": "tool", "tool_call_id": "call_from_somewhere_else", "content": "40 C"}])
        assert answer.choices[0].message.content == "The weather in Florence,Italy is 40 C."


def test_recorded_directory_survives_git(recorded, tmp_path: Path) -> None:
    directory, seen = recorded
    repo = tmp_path / "repo"
    shutil.copytree(directory, repo / "recordings")

    def git(*args: str, cwd: Path = repo) -> str:
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                              cwd=cwd, check=True, capture_output=True, text=True).stdout

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "recordings")
    assert "-\t-\t" not in git("show", "--numstat", "HEAD")  # every file diffs as text
    clone = tmp_path / "clone"
    git("clone", "-q", str(repo), str(clone), cwd=tmp_path)
    assert sorted(p.name for p in (clone / "recordings").iterdir()) == \
        sorted(p.name for p in directory.iterdir())
    with replaying(clone / "recordings") as adapter:
        assert session(client_for(adapter)) == seen


def test_recordings_command_lists_and_shows(recorded) -> None:
    directory, _ = recorded

    def run(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "adapter.recordings", *args], check=True,
                              capture_output=True, text=True).stdout

    rows = run("list", str(directory)).splitlines()
    assert len(rows) == 5
    assert "streamGenerateContent -> 200" in rows[0] and "-> 429" in rows[4]
    name = rows[0].split()[0]
    shown = run("show", str(directory / name))
    assert shown.startswith(f"POST /v1beta/models/{MODEL}:streamGenerateContent?alt=sse")
    assert "What is the capital of France?" in shown
    assert '"responseId": "w1peaMz6INOvnvgPgYfPiQY"' in shown  # the recorded stream
    assert run("show", str(directory), name[:19], "--raw").startswith("data: ")


def test_replay_timing_keeps_the_recorded_pace(fake_server, tmp_path: Path,
                                               start_adapter: Callable[..., str]) -> None:
    fake, _ = fake_server
    fake.reset()
    fake.queue(Reply.sse("stream-sse-text.txt", pauses={2: 0.4}))
    directory = tmp_path / "paced"
    adapter = start_adapter(GEMINI_API_KEY=SERVER_KEY, ADAPTER_RECORD_DIR=str(directory))
    list(client_for(adapter).chat.completions.create(model=MODEL, messages=HELLO, stream=True))
    deadline = time.monotonic() + 5
    while not list(directory.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.02)  # written off the event loop once the stream is closed
    [path] = directory.glob("*.json")
    chunks = orjson.loads(path.read_bytes())["response"]["chunks"]
    assert chunks[-1]["ms"] - chunks[0]["ms"] >= 350
    paced = start_adapter(ADAPTER_UPSTREAM="replay", ADAPTER_REPLAY_DIR=str(directory),
                          ADAPTER_REPLAY_TIMING="1")
    started = time.monotonic()
    list(client_for(paced).chat.completions.create(model=MODEL, messages=HELLO, stream=True))
    assert time.monotonic() - started >= 0.35
    fake.reset()


def test_fallthrough_records_what_is_missing(fake_server, tmp_path: Path,
                                             start_adapter: Callable[..., str]) -> None:
    fake, _ = fake_server
    fake.reset()
    fake.queue(Reply.sse("stream-sse-text.txt"))
    directory = tmp_path / "growing"
    adapter = start_adapter(GEMINI_API_KEY=SERVER_KEY, ADAPTER_UPSTREAM="replay",
                            ADAPTER_REPLAY_DIR=str(directory), ADAPTER_REPLAY_FALLTHROUGH="1")
    client = client_for(adapter)
    first = client.chat.completions.create(model=MODEL, messages=HELLO)
    second = client.chat.completions.create(model=MODEL, messages=HELLO)
    assert len(fake.seen) == 1  # the second was replayed from what the first recorded
    assert second.choices[0].message == first.choices[0].message
    assert len(list(directory.glob("*.json"))) == 1
    fake.reset()


def test_a_files_api_transcription_replays_without_the_audio_in_the_recording(
        fake_server: tuple[FakeGemini, str], tmp_path: Path) -> None:
    """A 15 MiB transcription (resumable upload, generateContent on the file, its deletion) is
    recorded with the upload as a digest only, and replays with the upstream gone."""
    fake, url = fake_server
    fake.reset()
    fake.queue(answer("Hello there."))
    directory = tmp_path / "files"
    env = {"GEMINI_BASE_URL": url, "GEMINI_API_KEY": SERVER_KEY, "ADAPTER_RETRIES": "0"}

    def transcribe(adapter: str) -> str:
        return client_for(adapter).audio.transcriptions.create(
            model="whisper-1", file=("long.wav", LARGE, "audio/wav")).text

    with adapter_process("--record", str(directory), env=env) as adapter:
        assert transcribe(adapter) == "Hello there."
        deadline = time.monotonic() + 5
        while len(list(directory.glob("*.json"))) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)  # the DELETE and the writes finish after the answer
    upload_id = fake.seen[1].query
    fake.reset()
    files = sorted(directory.glob("*.json"))
    found = [orjson.loads(path.read_bytes()) for path in files]
    assert [(r["request"]["method"], r["model"], r["method"]) for r in found] == [
        ("POST", "files", "upload")] * 3 + [
        ("POST", MODEL, "generateContent"), ("DELETE", "files", "file")]
    start, *pieces = found[:3]  # the start, then the 15 MiB in an 8 MiB piece and the rest
    assert start["response"]["headers"]["x-goog-upload-url"] == \
        "/upload/v1beta/files?upload_protocol=resumable"
    piece = 8 * 1024 * 1024
    for upload, data in zip(pieces, (LARGE[:piece], LARGE[piece:]), strict=True):
        assert upload["request"]["body"] is None
        assert upload["request"]["body_digest"] == {
            "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        assert upload["request"]["query"] == "upload_protocol=resumable"
    sample = base64.b64encode(LARGE[4096:4096 + 48]).decode()
    for path in directory.iterdir():
        data = path.read_bytes()
        assert path.stat().st_size < 64 * 1024  # no audio, in any encoding
        assert LARGE[4096:4096 + 48] not in data and sample.encode() not in data
        text = data.decode()
        assert SERVER_KEY not in text and CLIENT_KEY not in text
        assert upload_id.split("&")[0] not in text  # the run's upload_id
    with replaying(directory) as adapter:
        assert transcribe(adapter) == "Hello there."
    assert fake.seen == []


def test_a_file_uri_is_ignored_by_matching() -> None:
    """Files get a new name every upload; an image URL in a chat still counts."""
    def body(uri: str) -> dict[str, Any]:
        return {"contents": [{"parts": [{"fileData": {"mimeType": "audio/wav",
                                                       "fileUri": uri}}]}]}

    path = f"/v1beta/models/{MODEL}:generateContent"
    base = "https://generativelanguage.googleapis.com/v1beta/files/"
    assert recordings.match_key("POST", path, "", body(base + "abc123")) == \
        recordings.match_key("POST", path, "", body(base + "zzz999"))
    assert recordings.match_key("POST", path, "", body("https://example.com/a.png")) != \
        recordings.match_key("POST", path, "", body("https://example.com/b.png"))
    assert recordings.clean_query("upload_id=XYZ&upload_protocol=resumable&key=k") == \
        "upload_protocol=resumable"
