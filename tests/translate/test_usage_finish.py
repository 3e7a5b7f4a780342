"""usage.py, finish.py and logprobs.py: the small per-field mappings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from adapter.translate.finish import finish_reason
from adapter.translate.logprobs import logprobs
from adapter.translate.usage import usage

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gemini"
GENERATE = sorted(FIXTURES.glob("generate-content-*.json"))


def usage_metadata(path: Path) -> dict[str, Any]:
    doc = orjson.loads(path.read_bytes())
    return (doc["response"]["body"] if "response" in doc else doc)["usageMetadata"]


# --- usage ----------------------------------------------------------------------------------------

def test_usage_of_every_field() -> None:
    assert usage({
        "promptTokenCount": 100, "toolUsePromptTokenCount": 20, "candidatesTokenCount": 30,
        "thoughtsTokenCount": 40, "cachedContentTokenCount": 60, "totalTokenCount": 190,
        "serviceTier": "standard", "promptTokensDetails": [{"modality": "TEXT"}],
    }) == {
        "prompt_tokens": 120,
        "completion_tokens": 70,
        "total_tokens": 190,
        "prompt_tokens_details": {"cached_tokens": 60},
        "completion_tokens_details": {"reasoning_tokens": 40},
    }


def test_usage_of_nothing_is_zero() -> None:
    assert usage({}) == {
        "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def test_usage_total_falls_back_to_the_sum() -> None:
    assert usage({"promptTokenCount": 5, "candidatesTokenCount": 3,
                  "thoughtsTokenCount": 2})["total_tokens"] == 10


def test_usage_null_counts_are_zero() -> None:
    result = usage({"promptTokenCount": None, "candidatesTokenCount": 4,
                    "thoughtsTokenCount": None, "cachedContentTokenCount": None})
    assert (result["prompt_tokens"], result["completion_tokens"]) == (0, 4)
    assert result["prompt_tokens_details"]["cached_tokens"] == 0
    assert result["completion_tokens_details"]["reasoning_tokens"] == 0


@pytest.mark.parametrize("path", GENERATE, ids=lambda p: p.name)
def test_recorded_usage_adds_up(path: Path) -> None:
    meta = usage_metadata(path)
    result = usage(meta)
    assert result["total_tokens"] == result["prompt_tokens"] + result["completion_tokens"]
    assert result["completion_tokens"] >= result["completion_tokens_details"]["reasoning_tokens"]
    assert result["prompt_tokens"] >= result["prompt_tokens_details"]["cached_tokens"]


@pytest.mark.parametrize(("name", "prompt", "completion", "cached", "reasoning"), [
    ("generate-content-cached-content-tokens.json", 3520, 44, 3512, 42),
    ("generate-content-implicit-cache-tokens.json", 859, 28, 594, 0),
    ("generate-content-code-execution.json", 23 + 289, 35, 0, 0),
    ("generate-content-max-tokens-no-parts.json", 15, 2, 0, 2),
    ("generate-content-prompt-blocked-vertex-model-armor.json", 0, 0, 0, 0),
])
def test_recorded_usage(name: str, prompt: int, completion: int, cached: int,
                        reasoning: int) -> None:
    result = usage(usage_metadata(FIXTURES / name))
    assert result["prompt_tokens"] == prompt
    assert result["completion_tokens"] == completion
    assert result["prompt_tokens_details"]["cached_tokens"] == cached
    assert result["completion_tokens_details"]["reasoning_tokens"] == reasoning


# --- finish_reason --------------------------------------------------------------------------------

@pytest.mark.parametrize(("gemini", "openai"), [
    ("STOP", "stop"),
    ("MAX_TOKENS", "length"),
    ("SAFETY", "content_filter"),
    ("RECITATION", "content_filter"),
    ("BLOCKLIST", "content_filter"),
    ("PROHIBITED_CONTENT", "content_filter"),
    ("SPII", "content_filter"),
    ("IMAGE_SAFETY", "content_filter"),
    ("IMAGE_PROHIBITED_CONTENT", "content_filter"),
    ("IMAGE_RECITATION", "content_filter"),
    ("MODEL_ARMOR", "content_filter"),
    ("LANGUAGE", "content_filter"),
    ("OTHER", "stop"),
    ("NO_IMAGE", "stop"),
    ("MALFORMED_FUNCTION_CALL", "stop"),
    ("FINISH_REASON_UNSPECIFIED", "stop"),
    ("SOMETHING_NEW", "stop"),
])
def test_finish_reason_without_tool_calls(gemini: str, openai: str) -> None:
    assert finish_reason(gemini, False) == openai


@pytest.mark.parametrize(("gemini", "openai"), [
    ("STOP", "tool_calls"),
    ("OTHER", "tool_calls"),
    ("MAX_TOKENS", "length"),
    ("SAFETY", "content_filter"),
    ("RECITATION", "content_filter"),
])
def test_finish_reason_after_tool_calls(gemini: str, openai: str) -> None:
    assert finish_reason(gemini, True) == openai


# --- logprobs -------------------------------------------------------------------------------------

def test_logprobs_with_alternatives() -> None:
    result = logprobs({
        "chosenCandidates": [{"token": "Hi", "tokenId": 1, "logProbability": -0.25},
                             {"token": " é", "logProbability": -1.0}],
        "topCandidates": [
            {"candidates": [{"token": "Hi", "logProbability": -0.25},
                            {"token": "Hey", "logProbability": -2.5}]},
            {"candidates": [{"token": " é", "logProbability": -1.0}]},
        ],
    })
    assert result == {"refusal": None, "content": [
        {"token": "Hi", "logprob": -0.25, "bytes": [72, 105], "top_logprobs": [
            {"token": "Hi", "logprob": -0.25, "bytes": [72, 105]},
            {"token": "Hey", "logprob": -2.5, "bytes": [72, 101, 121]},
        ]},
        {"token": " é", "logprob": -1.0, "bytes": [32, 195, 169], "top_logprobs": [
            {"token": " é", "logprob": -1.0, "bytes": [32, 195, 169]},
        ]},
    ]}


def test_logprobs_with_fewer_top_entries_than_tokens() -> None:
    result = logprobs({
        "chosenCandidates": [{"token": "a", "logProbability": -1}, {"token": "b"}],
        "topCandidates": [{"candidates": [{"token": "a", "logProbability": -1}]}],
    })
    first, second = result["content"]
    assert len(first["top_logprobs"]) == 1
    assert second == {"token": "b", "logprob": 0.0, "bytes": [98], "top_logprobs": []}


def test_logprobs_of_a_top_entry_without_candidates() -> None:
    result = logprobs({"chosenCandidates": [{"token": "a", "logProbability": -1}],
                       "topCandidates": [{}]})
    assert result["content"][0]["top_logprobs"] == []


def test_logprobs_missing_token() -> None:
    [entry] = logprobs({"chosenCandidates": [{"logProbability": -3.0}]})["content"]
    assert entry == {"token": "", "logprob": -3.0, "bytes": [], "top_logprobs": []}


@pytest.mark.parametrize("result", [{}, {"chosenCandidates": None, "topCandidates": None},
                                    {"topCandidates": [{"candidates": []}]}])
def test_logprobs_of_nothing(result: dict[str, Any]) -> None:
    assert logprobs(result) == {"content": [], "refusal": None}
