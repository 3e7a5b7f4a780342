"""Images, audio and files, reasoning, structured output and web search through the OpenAI SDK."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import openai
import orjson
import pytest
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from adapter.media import MediaFetcher
from adapter.translate.errors import InvalidRequest

from ..fake_gemini import FakeGemini, Reply, fixture_json
from ..servers import serve
from .helpers import SERVER_KEY

MODEL = "gemini-2.5-flash"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


class MediaSite:
    """A little web site on 127.0.0.1 serving an image, a large file, text and redirects."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {
            "/cat.png": (200, {"content-type": "image/png"}, PNG),
            "/big.png": (200, {"content-type": "image/png"}, b"\0" * 3_000_000),
            "/page.html": (200, {"content-type": "text/html"}, b"<html></html>"),
            "/missing.png": (404, {"content-type": "text/plain"}, b"no"),
        }

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        status, headers, body = self.routes.get(scope["path"], (404, {}, b""))
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.encode(), v.encode()) for k, v in headers.items()]})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[MediaSite, str]]:
    media = MediaSite()
    with serve(media) as url:
        yield media, url


@pytest.fixture(scope="module")
def trusting_adapter(start_adapter) -> str:
    """An adapter allowed to fetch from private addresses (the test site is on loopback)."""
    return start_adapter(GEMINI_API_KEY=SERVER_KEY, ADAPTER_FETCH_ALLOW_PRIVATE="1",
                         ADAPTER_FETCH_MAX_BYTES="2000000")


def sdk(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="k", max_retries=0)


def ask(*parts: dict) -> list[dict]:
    return [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, *parts]}]


def image(url: str, **extra) -> dict:
    return {"type": "image_url", "image_url": {"url": url, **extra}}


def test_data_url_image_becomes_inline_data(client, fake: FakeGemini) -> None:
    data = base64.b64encode(PNG).decode()
    client.chat.completions.create(model=MODEL, messages=ask(
        image(f"data:image/png;base64,{data}", detail="high")))
    body = fake.seen[-1].body
    assert body["contents"][0]["parts"] == [
        {"text": "What is this?"}, {"inlineData": {"mimeType": "image/png", "data": data}}]
    assert body["generationConfig"]["mediaResolution"] == "MEDIA_RESOLUTION_HIGH"


def test_malformed_data_url_is_a_400(client, fake: FakeGemini) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=MODEL, messages=ask(image("data:image/png,nobase64")))
    assert info.value.body["param"] == "messages[0].content[1].image_url.url"
    assert fake.seen == []


def test_audio_and_pdf_parts(client, fake: FakeGemini) -> None:
    wav, pdf = base64.b64encode(b"RIFF....WAVE").decode(), base64.b64encode(b"%PDF-1.4").decode()
    client.chat.completions.create(model=MODEL, messages=ask(
        {"type": "input_audio", "input_audio": {"data": wav, "format": "wav"}},
        {"type": "file", "file": {"filename": "report.pdf", "file_data":
                                  f"data:application/pdf;base64,{pdf}"}}))
    parts = fake.seen[-1].body["contents"][0]["parts"]
    assert parts[1:] == [{"inlineData": {"mimeType": "audio/wav", "data": wav}},
                         {"inlineData": {"mimeType": "application/pdf", "data": pdf}}]


def test_unsupported_part_is_a_400_naming_it(client) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=MODEL, messages=ask(
            {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "midi"}}))
    assert info.value.body["param"] == "messages[0].content[1].input_audio.format"


def test_http_image_is_fetched_and_inlined(trusting_adapter, site, fake: FakeGemini) -> None:
    _, url = site
    sdk(trusting_adapter).chat.completions.create(model=MODEL, messages=ask(image(
        f"{url}/cat.png")))
    assert fake.seen[-1].body["contents"][0]["parts"][1] == {
        "inlineData": {"mimeType": "image/png", "data": base64.b64encode(PNG).decode()}}


@pytest.mark.parametrize(("path", "words"), [
    ("/big.png", "larger than the 2000000 bytes"),
    ("/page.html", "is not an image"),
    ("/missing.png", "HTTP 404"),
])
def test_bad_fetches_are_400s(trusting_adapter, site, fake: FakeGemini, path, words) -> None:
    _, url = site
    with pytest.raises(openai.BadRequestError) as info:
        sdk(trusting_adapter).chat.completions.create(model=MODEL, messages=ask(
            image(f"{url}{path}")))
    assert words in info.value.message
    assert info.value.body["param"] == "messages[0].content[1].image_url.url"
    assert fake.seen == []


@pytest.mark.parametrize("target", [
    "http://127.0.0.1:9/cat.png", "http://169.254.169.254/latest/meta-data/",
    "http://localhost/cat.png", "http://[::1]/x.png", "http://10.0.0.1/x.png",
    "http://[::ffff:127.0.0.1]/x.png",
])
def test_private_addresses_are_refused(client, fake: FakeGemini, target: str) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=MODEL, messages=ask(image(target)))
    assert info.value.body["code"] == "url_not_allowed"
    assert fake.seen == []


async def test_redirect_to_a_blocked_address_is_refused(site) -> None:
    media, url = site
    port = url.rsplit(":", 1)[1]
    media.routes["/hop"] = (302, {"location": f"http://127.0.0.2:{port}/cat.png"}, b"")
    fetcher = MediaFetcher(1_000_000, 5, guard=lambda address: address == "127.0.0.1")
    try:
        assert (await fetcher.fetch(f"{url}/cat.png", "p"))["mimeType"] == "image/png"
        with pytest.raises(InvalidRequest) as info:
            await fetcher.fetch(f"{url}/hop", "p")
        assert info.value.code == "url_not_allowed"
    finally:
        await fetcher.aclose()


def test_reasoning_effort_and_reasoning_content(client, fake: FakeGemini) -> None:
    fake.queue(Reply.sse("stream-sse-thinking-thoughts-long.txt"))
    chunks = list(client.chat.completions.create(
        model="gemini-2.5-pro", messages=ask(), reasoning_effort="low", stream=True,
        stream_options={"include_usage": True}))
    assert fake.seen[-1].body["generationConfig"]["thinkingConfig"] == {
        "thinkingBudget": 1024, "includeThoughts": True}
    recorded = Reply.sse("stream-sse-thinking-thoughts-long.txt").chunks
    events = [orjson.loads(e[6:]) for e in recorded]
    parts = [p for e in events for p in e["candidates"][0]["content"].get("parts", [])]
    thoughts = "".join(p["text"] for p in parts if p.get("thought"))
    answer = "".join(p.get("text", "") for p in parts if not p.get("thought"))
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert "".join(getattr(d, "reasoning_content", None) or "" for d in deltas) == thoughts
    assert "".join(d.content or "" for d in deltas) == answer
    assert thoughts not in answer
    usage = chunks[-1].usage
    assert usage.completion_tokens_details.reasoning_tokens == \
        events[-1]["usageMetadata"]["thoughtsTokenCount"]


def test_reasoning_content_on_the_message(client, fake: FakeGemini) -> None:
    fake.queue(Reply.events(fixture_json("generate-content-thinking-thoughts-gemini-3.json")))
    completion = client.chat.completions.create(model="gemini-3-pro-preview", messages=ask(),
                                                reasoning_effort="high")
    assert fake.seen[-1].body["generationConfig"]["thinkingConfig"] == {
        "thinkingLevel": "high", "includeThoughts": True}
    message = completion.choices[0].message
    assert message.reasoning_content
    assert message.reasoning_content not in message.content


class City(BaseModel):
    location: str


def test_langchain_structured_output_json_schema(adapter_url, fake: FakeGemini) -> None:
    fake.queue(Reply.events(fixture_json("generate-content-structured-output.json")))
    llm = ChatOpenAI(model=MODEL, base_url=f"{adapter_url}/v1", api_key="k", max_retries=0)
    result = llm.with_structured_output(City, method="json_schema").invoke("Where is the Louvre?")
    assert result == City(location="Paris")
    config = fake.seen[-1].body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseSchema"] == {"type": "object", "properties": {
        "location": {"type": "string"}}, "required": ["location"], "propertyOrdering": ["location"]}


def test_json_object_mode(client, fake: FakeGemini) -> None:
    fake.queue(Reply.events(fixture_json("generate-content-structured-output.json")))
    completion = client.chat.completions.create(
        model=MODEL, messages=ask(), response_format={"type": "json_object"})
    assert orjson.loads(completion.choices[0].message.content) == {"location": "Paris"}
    assert fake.seen[-1].body["generationConfig"] == {"responseMimeType": "application/json"}


@pytest.mark.parametrize("stream", [False, True])
def test_web_search_gives_url_citations(adapter_url, fake: FakeGemini, stream: bool) -> None:
    fake.queue(Reply.sse("stream-sse-grounding-google-search.txt"))
    body = {"model": MODEL, "messages": ask(), "web_search_options": {}, "stream": stream}
    response = httpx.post(f"{adapter_url}/v1/chat/completions", json=body, timeout=10)
    assert fake.seen[-1].body["tools"] == [{"googleSearch": {}}]
    if stream:
        chunks = [orjson.loads(line[6:]) for line in response.text.split("\n\n")
                  if line.startswith("data: {")]
        content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
        annotations = [a for c in chunks for a in c["choices"][0]["delta"].get("annotations", [])]
    else:
        message = response.json()["choices"][0]["message"]
        content, annotations = message["content"], message["annotations"]
    assert annotations
    for annotation in annotations:
        citation = annotation["url_citation"]
        assert annotation["type"] == "url_citation"
        assert citation["url"].startswith("https://")
        assert 0 <= citation["start_index"] < citation["end_index"] <= len(content)


def test_extra_body_reaches_gemini(client, fake: FakeGemini) -> None:
    client.chat.completions.create(model=MODEL, messages=ask(), temperature=0.5, extra_body={
        "generationConfig": {"topK": 40, "temperature": 0.1},
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        "extra_body": {"google": {"cached_content": "cachedContents/abc",
                                  "thinking_config": {"thinking_budget": 0}}}})
    body = fake.seen[-1].body
    assert body["generationConfig"] == {"temperature": 0.1, "topK": 40,
                                        "thinkingConfig": {"thinkingBudget": 0}}
    assert body["safetySettings"][0]["threshold"] == "BLOCK_NONE"
    assert body["cachedContent"] == "cachedContents/abc"
