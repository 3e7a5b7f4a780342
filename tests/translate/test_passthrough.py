"""Gemini fields given directly in a chat request (OpenAI SDK `extra_body`), web search, media
resolution and the media the shell must fetch, through `chat_request`."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from adapter.translate.content import FETCH
from adapter.translate.errors import InvalidRequest
from adapter.translate.request import chat_request

HELLO = [{"role": "user", "content": "Hello"}]
SAFETY = [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"},
          {"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_ONLY_HIGH"}]
CACHE = "cachedContents/abc123"
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "parameters": {"type": "object",
                                          "properties": {"city": {"type": "string"}}}}}
PNG = "iVBORw0KGgo="


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "gemini-2.5-flash", "messages": HELLO, **fields}


def google(**fields: Any) -> dict[str, Any]:
    """The `extra_body: {"google": {...}}` spelling of Google's OpenAI-compatible endpoint."""
    return {"extra_body": {"google": fields}}


def gemini(request_body: dict[str, Any]) -> dict[str, Any]:
    return chat_request(request_body).gemini


def rejects(request_body: dict[str, Any]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        chat_request(request_body)
    assert caught.value.status == 400
    return caught.value


def camel(name: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m[1].upper(), name)


def effective(config: dict[str, Any]) -> dict[str, Any]:
    """A config by its camelCase field names; Gemini reads `max_output_tokens` and
    `maxOutputTokens` as one field, so a config must not hold both."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = camel(key)
        assert name not in out, f"{name} given twice ({config!r})"
        out[name] = value
    return out


SPELLINGS = [
    pytest.param(lambda **f: f, "", id="top-level"),
    pytest.param(google, "extra_body.google.", id="extra_body.google"),
]


# --- generationConfig -----------------------------------------------------------------------------

@pytest.mark.parametrize(("where", "prefix"), SPELLINGS)
@pytest.mark.parametrize("name", ["generationConfig", "generation_config"])
def test_generation_config_is_merged_over_the_translated_one(where: Any, prefix: str,
                                                             name: str) -> None:
    request = body(temperature=0.2, max_tokens=50, **where(**{name: {
        "temperature": 0.9, "topK": 40, "responseModalities": ["TEXT"]}}))
    assert gemini(request)["generationConfig"] == {
        "temperature": 0.9, "maxOutputTokens": 50, "topK": 40, "responseModalities": ["TEXT"]}


@pytest.mark.parametrize(("where", "prefix"), SPELLINGS)
def test_generation_config_alone(where: Any, prefix: str) -> None:
    assert gemini(body(**where(generationConfig={"topK": 3})))["generationConfig"] == {"topK": 3}


def test_generation_config_wins_over_response_format_and_media_resolution() -> None:
    request = body(
        messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}",
                                                "detail": "high"}}]}],
        response_format={"type": "json_object"},
        generationConfig={"responseMimeType": "text/x.enum",
                          "mediaResolution": "MEDIA_RESOLUTION_LOW"})
    assert gemini(request)["generationConfig"] == {
        "responseMimeType": "text/x.enum", "mediaResolution": "MEDIA_RESOLUTION_LOW"}


def test_both_spellings_and_both_places_are_merged() -> None:
    request = body(generationConfig={"topK": 1}, generation_config={"seed": 7},
                   **google(generationConfig={"candidateCount": 2}))
    assert gemini(request)["generationConfig"] == {"topK": 1, "seed": 7, "candidateCount": 2}


def test_empty_generation_config_adds_nothing() -> None:
    assert "generationConfig" not in gemini(body(generationConfig={}))


@pytest.mark.parametrize(("where", "prefix"), SPELLINGS)
@pytest.mark.parametrize("max_field", ["max_tokens", "max_completion_tokens"])
def test_snake_case_generation_config_fields_win_too(where: Any, prefix: str,
                                                     max_field: str) -> None:
    request = body(**{max_field: 10}, **where(generation_config={"max_output_tokens": 5}))
    assert effective(gemini(request)["generationConfig"]) == {"maxOutputTokens": 5}


# --- thinkingConfig -------------------------------------------------------------------------------

@pytest.mark.parametrize(("where", "prefix"), SPELLINGS)
@pytest.mark.parametrize("name", ["thinkingConfig", "thinking_config"])
def test_thinking_config_is_merged_over_reasoning_effort(where: Any, prefix: str,
                                                         name: str) -> None:
    request = body(reasoning_effort="high", **where(**{name: {"thinkingBudget": 300}}))
    assert gemini(request)["generationConfig"] == {
        "thinkingConfig": {"thinkingBudget": 300, "includeThoughts": True}}


@pytest.mark.parametrize(("where", "prefix"), SPELLINGS)
def test_thinking_config_without_reasoning_effort(where: Any, prefix: str) -> None:
    request = body(temperature=1, **where(thinkingConfig={"thinkingLevel": "low"}))
    assert gemini(request)["generationConfig"] == {
        "temperature": 1, "thinkingConfig": {"thinkingLevel": "low"}}


def test_thinking_config_can_turn_thought_summaries_off() -> None:
    request = body(reasoning_effort="low", thinkingConfig={"includeThoughts": False})
    assert gemini(request)["generationConfig"]["thinkingConfig"] == {
        "thinkingBudget": 1024, "includeThoughts": False}


def test_thinking_config_is_merged_over_generation_configs_own() -> None:
    request = body(reasoning_effort="medium",
                   generationConfig={"thinkingConfig": {"thinkingBudget": 5}},
                   thinkingConfig={"includeThoughts": False})
    assert gemini(request)["generationConfig"] == {
        "thinkingConfig": {"thinkingBudget": 5, "includeThoughts": False}}


def test_googles_documented_snake_case_thinking_config_wins_over_reasoning_effort() -> None:
    # Google's OpenAI-compatible endpoint documents
    # extra_body={"google": {"thinking_config": {"thinking_budget": ..., "include_thoughts": ...}}}.
    request = body(reasoning_effort="low", **google(thinking_config={
        "thinking_budget": 800, "include_thoughts": False}))
    thinking = gemini(request)["generationConfig"]["thinkingConfig"]
    assert effective(thinking) == {"thinkingBudget": 800, "includeThoughts": False}


def test_empty_thinking_config_keeps_reasoning_effort() -> None:
    request = body(reasoning_effort="low", thinkingConfig={})
    assert gemini(request)["generationConfig"] == {
        "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True}}


# --- safetySettings, cachedContent ----------------------------------------------------------------

@pytest.mark.parametrize(("where", "prefix"), SPELLINGS)
@pytest.mark.parametrize("name", ["safetySettings", "safety_settings"])
def test_safety_settings_go_to_the_top_of_the_body(where: Any, prefix: str, name: str) -> None:
    result = gemini(body(temperature=0, **where(**{name: SAFETY})))
    assert result["safetySettings"] == SAFETY
    assert "safety_settings" not in result
    assert "safetySettings" not in result["generationConfig"]


@pytest.mark.parametrize(("where", "prefix"), SPELLINGS)
@pytest.mark.parametrize("name", ["cachedContent", "cached_content"])
def test_cached_content_goes_to_the_top_of_the_body(where: Any, prefix: str, name: str) -> None:
    result = gemini(body(**where(**{name: CACHE})))
    assert result == {"contents": [{"role": "user", "parts": [{"text": "Hello"}]}],
                      "cachedContent": CACHE}


def test_everything_at_once_under_extra_body_google() -> None:
    request = body(
        messages=[{"role": "system", "content": "Be brief."}, *HELLO],
        temperature=0.5, reasoning_effort="minimal", tools=[WEATHER],
        **google(generation_config={"topP": 0.5}, thinking_config={"includeThoughts": False},
                 safety_settings=SAFETY, cached_content=CACHE))
    assert gemini(request) == {
        "contents": [{"role": "user", "parts": [{"text": "Hello"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {"temperature": 0.5, "topP": 0.5, "thinkingConfig": {
            "thinkingBudget": 512, "includeThoughts": False}},
        "tools": [{"functionDeclarations": [{
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]}],
        "safetySettings": SAFETY,
        "cachedContent": CACHE,
    }


@pytest.mark.parametrize("value", [None, {}, {"other": 1}, {"google": None}, {"google": {}}])
def test_extra_body_without_google_fields_changes_nothing(value: Any) -> None:
    assert gemini(body(extra_body=value)) == gemini(body())


@pytest.mark.parametrize(("where", "prefix"), SPELLINGS)
@pytest.mark.parametrize(("name", "value"), [
    ("generationConfig", "temperature=1"),
    ("generation_config", [{"temperature": 1}]),
    ("thinkingConfig", 1024),
    ("thinking_config", True),
    ("safetySettings", {"category": "HARM_CATEGORY_HARASSMENT"}),
    ("safety_settings", "BLOCK_NONE"),
    ("cachedContent", {"name": CACHE}),
    ("cached_content", 5),
])
def test_wrong_types_name_the_field(where: Any, prefix: str, name: str, value: Any) -> None:
    error = rejects(body(**where(**{name: value})))
    assert error.param == f"{prefix}{name}"
    assert error.param in error.message


@pytest.mark.parametrize("value", ["generationConfig", ["thinkingConfig"], 3, True])
def test_extra_body_google_that_is_not_an_object_names_it(value: Any) -> None:
    # Must be a 400 naming the field, not an AttributeError (a 500).
    assert rejects(body(extra_body={"google": value})).param == "extra_body.google"


def test_input_body_is_not_modified() -> None:
    request = body(reasoning_effort="high", temperature=0.1,
                   generationConfig={"topK": 2, "thinkingConfig": {"thinkingBudget": 7}},
                   thinkingConfig={"includeThoughts": False}, safetySettings=SAFETY,
                   **google(generation_config={"seed": 1}, cached_content=CACHE))
    before = copy.deepcopy(request)
    chat_request(request)
    assert request == before


# --- web_search_options ---------------------------------------------------------------------------

@pytest.mark.parametrize("options", [{}, {"search_context_size": "high"},
                                     {"user_location": {"type": "approximate",
                                                        "approximate": {"country": "US"}}}])
def test_web_search_options_add_google_search(options: dict[str, Any]) -> None:
    assert gemini(body(web_search_options=options))["tools"] == [{"googleSearch": {}}]


def test_google_search_comes_after_function_declarations() -> None:
    result = gemini(body(tools=[WEATHER], tool_choice="auto", web_search_options={}))
    assert [list(tool) for tool in result["tools"]] == [["functionDeclarations"],
                                                         ["googleSearch"]]
    assert result["tools"][1] == {"googleSearch": {}}
    assert result["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"
    assert result["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}


@pytest.mark.parametrize("options", ["on", True, 1, ["googleSearch"]])
def test_web_search_options_must_be_an_object(options: Any) -> None:
    assert rejects(body(web_search_options=options)).param == "web_search_options"


def test_no_web_search_options_no_google_search() -> None:
    assert "tools" not in gemini(body())
    assert "tools" not in gemini(body(web_search_options=None))


# --- image detail and remote media ----------------------------------------------------------------

def image(url: str, detail: str | None = None) -> dict[str, Any]:
    spec = {"url": url} if detail is None else {"url": url, "detail": detail}
    return {"type": "image_url", "image_url": spec}


@pytest.mark.parametrize(("details", "resolution"), [
    (["high"], "MEDIA_RESOLUTION_HIGH"),
    (["low"], "MEDIA_RESOLUTION_LOW"),
    (["low", "high"], "MEDIA_RESOLUTION_HIGH"),
    (["auto", "low"], "MEDIA_RESOLUTION_LOW"),
    (["auto"], None),
    ([None], None),
])
def test_image_detail_sets_media_resolution(details: list[str | None],
                                            resolution: str | None) -> None:
    content = [{"type": "text", "text": "look"},
               *(image(f"data:image/png;base64,{PNG}", d) for d in details)]
    config = gemini(body(messages=[{"role": "user", "content": content}])).get(
        "generationConfig", {})
    assert config.get("mediaResolution") == resolution
    if resolution is None:
        assert config == {}


def test_media_resolution_sits_beside_other_config() -> None:
    messages = [{"role": "user", "content": [image("https://example.com/a.png", "low")]}]
    assert gemini(body(messages=messages, temperature=0.3))["generationConfig"] == {
        "temperature": 0.3, "mediaResolution": "MEDIA_RESOLUTION_LOW"}


def test_invalid_detail_is_a_400_through_chat_request() -> None:
    messages = [{"role": "user", "content": [image("https://example.com/a.png", "ultra")]}]
    assert rejects(body(messages=messages)).param == "messages[0].content[0].image_url.detail"


def test_remote_media_lists_the_placeholder_parts_of_the_request() -> None:
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "compare"},
                                     image("https://example.com/a.png"),
                                     image(f"data:image/png;base64,{PNG}"),
                                     image("https://www.youtube.com/watch?v=9hE5-98ZeCg")]},
        {"role": "assistant", "content": "They differ."},
        {"role": "user", "content": [image("http://example.com/b.jpg", "high")]},
    ]
    request = chat_request(body(messages=messages))
    assert request.remote_media == [
        {FETCH: {"url": "https://example.com/a.png",
                 "param": "messages[0].content[1].image_url.url", "kind": "image"}},
        {FETCH: {"url": "http://example.com/b.jpg",
                 "param": "messages[2].content[0].image_url.url", "kind": "image"}},
    ]
    contents = request.gemini["contents"]
    assert request.remote_media[0] is contents[0]["parts"][1]
    assert request.remote_media[1] is contents[2]["parts"][0]
    assert contents[0]["parts"][3] == {"fileData": {
        "fileUri": "https://www.youtube.com/watch?v=9hE5-98ZeCg"}}
    assert request.gemini["generationConfig"] == {"mediaResolution": "MEDIA_RESOLUTION_HIGH"}


def test_no_remote_media_without_http_urls() -> None:
    messages = [{"role": "user", "content": [image(f"data:image/png;base64,{PNG}")]}]
    assert chat_request(body(messages=messages)).remote_media == []
    assert chat_request(body()).remote_media == []
