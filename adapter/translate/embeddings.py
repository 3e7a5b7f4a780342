"""An OpenAI embeddings request -> Gemini `batchEmbedContents` bodies, and their answers back."""

from __future__ import annotations

import base64
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import validate
from .errors import AdapterError, InvalidRequest
from .request import NO_ALIASES, model_id

MAX_BATCH = 100  # Gemini's limit on requests in one batchEmbedContents call
MAX_INPUTS = 2048  # OpenAI's limit on inputs in one embeddings request
ENCODINGS = ("float", "base64")


@dataclass(slots=True)
class EmbeddingsRequest:
    """What the HTTP shell needs to call Gemini and answer the client."""

    model: str  # Gemini model id, without the "models/" prefix
    encoding_format: str  # "float" or "base64"
    batches: list[dict[str, Any]]  # BatchEmbedContentsRequest bodies, in input order


def _texts(value: Any) -> list[str]:
    """The texts to embed from an OpenAI `input`: a string or an array of strings."""
    if isinstance(value, str):
        if not value:
            raise InvalidRequest("'input' must not be an empty string.", "input")
        return [value]
    if value is None:
        raise InvalidRequest("'input' is a required property.", "input")
    if not isinstance(value, list):
        raise InvalidRequest("'input' must be a string or an array of strings, not "
                             f"{type(value).__name__}.", "input")
    if not value:
        raise InvalidRequest("'input' must not be an empty array.", "input")
    if len(value) > MAX_INPUTS:
        raise InvalidRequest(f"'input' may hold at most {MAX_INPUTS} texts, got {len(value)}.",
                             "input")
    for i, item in enumerate(value):
        if isinstance(item, list) or (isinstance(item, int) and not isinstance(item, bool)):
            raise InvalidRequest(
                "'input' holds token ids; Gemini embeds text only, so send the texts as strings.",
                "input", code="unsupported_input")
        if not validate.string(item, f"input[{i}]"):
            raise InvalidRequest(f"'input[{i}]' must not be an empty string.", f"input[{i}]")
    return value


def embeddings_request(body: Any, aliases: Mapping[str, str] = NO_ALIASES) -> EmbeddingsRequest:
    """Translate a parsed `/v1/embeddings` body. Raises InvalidRequest on bad input.

    `user` is accepted and ignored. Inputs are split into batches of at most MAX_BATCH texts.
    """
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    model = model_id(body.get("model"), aliases=aliases)
    texts = _texts(body.get("input"))
    encoding = body.get("encoding_format")
    if encoding is None:
        encoding = "float"
    elif validate.string(encoding, "encoding_format") not in ENCODINGS:
        raise InvalidRequest(f"'encoding_format' must be 'float' or 'base64', got {encoding!r}.",
                             "encoding_format")
    extra: dict[str, Any] = {}
    if (dimensions := body.get("dimensions")) is not None:
        extra["outputDimensionality"] = validate.integer(dimensions, "dimensions", low=1)
    name = f"models/{model}"
    requests = [{"model": name, "content": {"parts": [{"text": text}]}, **extra}
                for text in texts]
    batches = [{"requests": requests[start:start + MAX_BATCH]}
               for start in range(0, len(requests), MAX_BATCH)]
    return EmbeddingsRequest(model, encoding, batches)


def _bad_response(message: str) -> AdapterError:
    return AdapterError(message, 502, code="upstream_bad_response")


def _vectors(response: Any, expected: int) -> list[list[Any]]:
    """The `values` of a BatchEmbedContentsResponse, which must hold `expected` embeddings."""
    embeddings = response.get("embeddings") if isinstance(response, dict) else None
    if not isinstance(embeddings, list) or len(embeddings) != expected:
        got = len(embeddings) if isinstance(embeddings, list) else "no"
        raise _bad_response(f"Gemini answered a batch of {expected} texts with {got} embeddings.")
    vectors = []
    for embedding in embeddings:
        values = embedding.get("values") if isinstance(embedding, dict) else None
        if not isinstance(values, list):
            raise _bad_response("Gemini sent an embedding without values.")
        vectors.append(values)
    return vectors


def _prompt_tokens(response: dict[str, Any]) -> int:
    meta = response.get("usageMetadata")
    if not isinstance(meta, dict):
        return 0
    count = meta.get("promptTokenCount") or meta.get("totalTokenCount") or 0
    return count if isinstance(count, int) else 0


def encode_base64(values: list[Any]) -> str:
    """A vector as OpenAI sends it with `encoding_format: base64`: little-endian float32 bytes."""
    try:
        packed = struct.pack(f"<{len(values)}f", *values)
    except struct.error:
        raise _bad_response("Gemini sent an embedding value that is not a number.") from None
    return base64.b64encode(packed).decode("ascii")


def embeddings_response(request: EmbeddingsRequest, responses: list[Any],
                        model: str) -> dict[str, Any]:
    """The OpenAI embeddings list for the Gemini answers to `request.batches`, in order.

    `model` is echoed as the client sent it; usage sums Gemini's usage metadata over batches.
    """
    data: list[dict[str, Any]] = []
    tokens = 0
    for batch, response in zip(request.batches, responses, strict=True):
        for values in _vectors(response, len(batch["requests"])):
            embedding = encode_base64(values) if request.encoding_format == "base64" else values
            data.append({"object": "embedding", "index": len(data), "embedding": embedding})
        tokens += _prompt_tokens(response)
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
