"""`/v1/embeddings` bodies -> batchEmbedContents bodies, and Gemini's answers -> OpenAI's."""

from __future__ import annotations

import array
import base64
import struct
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapter.replay import embed_answer
from adapter.translate.embeddings import (
    EmbeddingsRequest,
    embeddings_request,
    embeddings_response,
    encode_base64,
)
from adapter.translate.errors import AdapterError, InvalidRequest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gemini"
RECORDED = orjson.loads((FIXTURES / "batch-embed-contents.json").read_bytes())
MODEL = "gemini-embedding-001"


def body(**fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "input": "hello", **fields}


def rejects(value: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        embeddings_request(value)
    assert caught.value.status == 400
    return caught.value


def texts_of(batch: dict[str, Any]) -> list[str]:
    return [r["content"]["parts"][0]["text"] for r in batch["requests"]]


def test_string_input_is_one_request() -> None:
    assert embeddings_request(body()) == EmbeddingsRequest(
        model=MODEL, encoding_format="float", batches=[{"requests": [
            {"model": f"models/{MODEL}", "content": {"parts": [{"text": "hello"}]}}]}])


def test_list_input_keeps_order_and_dimensions_apply_to_each() -> None:
    request = embeddings_request(body(model=f"models/{MODEL}", input=["a", "b", "c"],
                                      dimensions=768, encoding_format="base64", user="u-1"))
    assert request.model == MODEL
    assert request.encoding_format == "base64"
    [batch] = request.batches
    assert texts_of(batch) == ["a", "b", "c"]
    assert all(r["model"] == f"models/{MODEL}" for r in batch["requests"])
    assert all(r["outputDimensionality"] == 768 for r in batch["requests"])
    assert all(set(r) == {"model", "content", "outputDimensionality"} for r in batch["requests"])


@pytest.mark.parametrize(("count", "sizes"), [
    (1, [1]), (99, [99]), (100, [100]), (101, [100, 1]), (250, [100, 100, 50]),
    (2048, [100] * 20 + [48]),
])
def test_inputs_are_split_into_batches_of_100(count: int, sizes: list[int]) -> None:
    texts = [f"text {i}" for i in range(count)]
    batches = embeddings_request(body(input=texts)).batches
    assert [len(b["requests"]) for b in batches] == sizes
    assert [t for b in batches for t in texts_of(b)] == texts


def test_float_dimensions_that_are_whole_are_accepted() -> None:
    [batch] = embeddings_request(body(dimensions=256.0)).batches
    assert batch["requests"][0]["outputDimensionality"] == 256
    assert isinstance(batch["requests"][0]["outputDimensionality"], int)


def test_explicit_nulls_mean_defaults() -> None:
    request = embeddings_request(body(dimensions=None, encoding_format=None, user=None))
    assert request.encoding_format == "float"
    assert "outputDimensionality" not in request.batches[0]["requests"][0]


@pytest.mark.parametrize(("value", "param", "words"), [
    ([1, 2], None, "object"),
    ({"input": "x"}, "model", "model"),
    ({"model": "a/b", "input": "x"}, "model", "not a valid model"),
    (body(input=None), "input", "required"),
    ({"model": MODEL}, "input", "required"),
    (body(input=""), "input", "empty string"),
    (body(input=[]), "input", "empty array"),
    (body(input=["a", ""]), "input[1]", "empty string"),
    (body(input=5), "input", "string or an array"),
    (body(input={"text": "x"}), "input", "string or an array"),
    (body(input=[1, 2, 3]), "input", "token ids"),
    (body(input=[[1, 2], [3]]), "input", "token ids"),
    (body(input=["a", 7]), "input", "token ids"),
    (body(input=["a", None]), "input[1]", "string"),
    (body(input=["a", {"text": "b"}]), "input[1]", "string"),
    (body(input=["a", True]), "input[1]", "string"),
    (body(input=["x"] * 2049), "input", "at most 2048"),
    (body(dimensions=0), "dimensions", "at least 1"),
    (body(dimensions=-5), "dimensions", "at least 1"),
    (body(dimensions="768"), "dimensions", "integer"),
    (body(dimensions=1.5), "dimensions", "integer"),
    (body(dimensions=True), "dimensions", "integer"),
    (body(encoding_format="int8"), "encoding_format", "'float' or 'base64'"),
    (body(encoding_format=1), "encoding_format", "string"),
])
def test_bad_input_names_the_param(value: Any, param: str | None, words: str) -> None:
    error = rejects(value)
    assert error.param == param
    assert words in error.message


def test_token_ids_have_their_own_code() -> None:
    assert rejects(body(input=[[1, 2]])).code == "unsupported_input"


def decode(data: str) -> list[float]:
    values = array.array("f", base64.b64decode(data))
    if sys.byteorder == "big":
        values.byteswap()
    return values.tolist()


def test_base64_is_little_endian_float32() -> None:
    encoded = encode_base64([1.0, -2.5, 0.0])
    assert base64.b64decode(encoded) == bytes.fromhex("0000803f000020c000000000")
    assert decode(encoded) == [1.0, -2.5, 0.0]
    assert encode_base64([]) == ""


def test_base64_of_a_recorded_vector_round_trips_at_float32_precision() -> None:
    values = RECORDED["embeddings"][0]["values"]
    decoded = decode(encode_base64(values))
    assert len(decoded) == 768
    assert decoded == [struct.unpack("<f", struct.pack("<f", v))[0] for v in values]
    assert decoded == pytest.approx(values, rel=1e-6)


def test_recorded_answer_becomes_an_openai_list() -> None:
    request = embeddings_request(body(input=["one", "two"], dimensions=768))
    result = embeddings_response(request, [RECORDED], f"models/{MODEL}")
    assert set(result) == {"object", "data", "model", "usage"}
    assert result["object"] == "list"
    assert result["model"] == f"models/{MODEL}"  # as the client asked
    assert [d["index"] for d in result["data"]] == [0, 1]
    assert all(d["object"] == "embedding" for d in result["data"])
    assert [d["embedding"] for d in result["data"]] == [
        e["values"] for e in RECORDED["embeddings"]]
    # the recording spells its details `promptTokenDetails`; only promptTokenCount is read
    assert result["usage"] == {"prompt_tokens": 4, "total_tokens": 4}


def test_base64_answer() -> None:
    request = embeddings_request(body(input=["one", "two"], encoding_format="base64"))
    result = embeddings_response(request, [RECORDED], MODEL)
    for item, recorded in zip(result["data"], RECORDED["embeddings"], strict=True):
        assert isinstance(item["embedding"], str)
        assert decode(item["embedding"]) == pytest.approx(recorded["values"], rel=1e-6)


def test_batches_join_in_order_with_running_indexes_and_summed_usage() -> None:
    request = embeddings_request(body(input=[f"t{i}" for i in range(250)]))
    answers = [
        {"embeddings": [{"values": [float(start + i)]} for i in range(size)],
         **({"usageMetadata": {"promptTokenCount": size * 2}} if start != 100 else {})}
        for start, size in ((0, 100), (100, 100), (200, 50))
    ]
    result = embeddings_response(request, answers, MODEL)
    assert [d["index"] for d in result["data"]] == list(range(250))
    assert [d["embedding"] for d in result["data"]] == [[float(i)] for i in range(250)]
    assert result["usage"] == {"prompt_tokens": 300, "total_tokens": 300}


def test_no_usage_metadata_is_zero_usage() -> None:
    request = embeddings_request(body())
    result = embeddings_response(request, [{"embeddings": [{"values": [0.5]}]}], MODEL)
    assert result["usage"] == {"prompt_tokens": 0, "total_tokens": 0}


@pytest.mark.parametrize("answer", [
    {},
    {"embeddings": []},
    {"embeddings": [{"values": [1.0]}, {"values": [2.0]}]},
    {"embeddings": [{}]},
    {"embeddings": [{"values": "1,2"}]},
    {"embeddings": "nope"},
    [],
])
def test_answer_of_the_wrong_shape_is_a_502(answer: Any) -> None:
    with pytest.raises(AdapterError) as caught:
        embeddings_response(embeddings_request(body()), [answer], MODEL)
    assert caught.value.status == 502
    assert caught.value.code == "upstream_bad_response"


def test_non_numbers_in_a_base64_answer_are_a_502() -> None:
    request = embeddings_request(body(encoding_format="base64"))
    with pytest.raises(AdapterError) as caught:
        embeddings_response(request, [{"embeddings": [{"values": ["x"]}]}], MODEL)
    assert caught.value.status == 502


@pytest.mark.parametrize(("count", "dimensions", "size"), [
    (1, None, 768), (2, None, 768), (5, None, 768), (3, 256, 256), (2, 3072, 3072),
])
def test_replay_answer_fits_the_request(count: int, dimensions: int | None, size: int) -> None:
    fields = {} if dimensions is None else {"dimensions": dimensions}
    [batch] = embeddings_request(body(input=[f"t{i}" for i in range(count)], **fields)).batches
    answer = embed_answer(RECORDED, batch)
    recorded = [e["values"] for e in RECORDED["embeddings"]]
    vectors = [e["values"] for e in answer["embeddings"]]
    assert len(vectors) == count
    assert all(len(v) == size for v in vectors)
    assert [v[:256] for v in vectors] == [recorded[i % 2][:256] for i in range(count)]
    assert answer["usageMetadata"] == RECORDED["usageMetadata"]
    result = embeddings_response(embeddings_request(body(input=["x"] * count, **fields)),
                                 [answer], MODEL)
    assert len(result["data"]) == count
