"""One line of an OpenAI batch input file -> the Gemini requests of a batch input file; one
Gemini results line -> the OpenAI batch output line, as the live endpoint would have answered.

Each line goes through exactly the live endpoint's translators: `chat_request` for
/v1/chat/completions, `responses_call` + `chat_request` for /v1/responses, `embeddings_request`
for /v1/embeddings; and its answer through `StreamTranslator` folded by `CompletionBuilder`, the
`ResponsesEmitter`, or `embeddings_response`. What the answer needs from the request (the
client's model name, the finish function, ...) is the line's `context`, a small JSON-able dict
the caller keeps until the results come.

Errors name the parameter as the live endpoint does (`messages`, `input[2]`: OpenAI's error file
does the same); the envelope's fields are `custom_id`, `method`, `url`, `body`; what only a batch
refuses names its place in the line: `body.stream`, `body.previous_response_id`, and `body.model`
for a model other than the batch's. Uniqueness of `custom_id` is the caller's to check (a set of
the ids seen; `duplicate_custom_id` is the error).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import orjson

from . import validate
from .embeddings import EmbeddingsRequest, embeddings_request, embeddings_response
from .errors import AdapterError, InvalidRequest, from_gemini_error
from .final_answer import FinishFunction
from .request import ChatRequest, chat_request, model_id
from .response import CompletionBuilder
from .responses_request import responses_call
from .responses_stream import ResponsesEmitter
from .stream import StreamTranslator
from .usage import usage
from .wire import GenerateContentResponse, Part

CHAT = "/v1/chat/completions"
RESPONSES = "/v1/responses"
EMBEDDINGS = "/v1/embeddings"
ENDPOINTS = (CHAT, RESPONSES, EMBEDDINGS)
MAX_CUSTOM_ID = 512  # characters; OpenAI's clients use short ids
_MAX_KEY = 24  # characters of a key this module makes ("<line>:<part>")


class LineError(InvalidRequest):
    """A line the batch cannot take; `custom_id` is the line's, when it could be read."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None,
                 custom_id: str | None = None) -> None:
        super().__init__(message, param, code)
        self.custom_id = custom_id


@dataclass(slots=True)
class InputLine:
    """A line's `custom_id` and request `body`."""

    custom_id: str
    body: dict[str, Any]


@dataclass(slots=True)
class LineRequest:
    """What the caller sends Gemini for one line, and keeps for its answer."""

    model: str  # the Gemini model id
    requests: list[dict[str, Any]]  # Gemini request bodies, the line's parts in order
    context: dict[str, Any]  # JSON-able: what `output_line` needs
    remote_media: list[Part] = field(default_factory=list)  # parts to fetch (in `requests`)


def parse_line(raw: bytes, index: int, endpoint: str) -> InputLine | None:
    """The line at `index` (0-based) of an input file: None for a blank line, else its
    custom_id and body; LineError when it is not a request of this batch's `endpoint`."""
    if not raw.strip():
        return None
    try:
        line = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise LineError(f"Line {index + 1} is not valid JSON: {exc}.", None,
                        "invalid_json_line") from None
    if not isinstance(line, dict):
        raise LineError(f"Line {index + 1} must be a JSON object.", None, "invalid_json_line")
    custom_id = line.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        raise LineError(f"Line {index + 1}: 'custom_id' is required and must be a non-empty "
                        "string.", "custom_id", "missing_required_parameter")
    if len(custom_id) > MAX_CUSTOM_ID:
        raise LineError(f"Line {index + 1}: 'custom_id' is longer than {MAX_CUSTOM_ID} "
                        "characters.", "custom_id", "invalid_custom_id")
    if line.get("method") != "POST":
        raise LineError(f"Line {index + 1}: 'method' must be 'POST'.", "method",
                        "invalid_method", custom_id)
    if line.get("url") != endpoint:
        raise LineError(f"Line {index + 1}: 'url' must be the batch's endpoint {endpoint!r}.",
                        "url", "mismatched_endpoint", custom_id)
    body = line.get("body")
    if not isinstance(body, dict):
        raise LineError(f"Line {index + 1}: 'body' must be a JSON object.", "body",
                        "invalid_body", custom_id)
    try:
        validate.nesting(body)
    except InvalidRequest as error:
        raise LineError(error.message, error.param, error.code, custom_id) from None
    return InputLine(custom_id, body)


def duplicate_custom_id(custom_id: str, index: int) -> LineError:
    """The error for a `custom_id` an earlier line of the file already has."""
    return LineError(f"Line {index + 1}: 'custom_id' {custom_id[:64]!r} is not unique in the "
                     "file.", "custom_id", "duplicate_custom_id", custom_id)


def _refuse(body: dict[str, Any], name: str, value_ok: Any) -> None:
    if body.get(name) not in value_ok:
        raise InvalidRequest(f"'{name}' is not supported in a batch request.", f"body.{name}",
                             "unsupported_parameter")


def translate_line(line: InputLine, endpoint: str, aliases: Mapping[str, str],
                   model: str | None = None) -> LineRequest:
    """The Gemini requests for a line, by the live endpoint's translators. `model` is the
    batch's Gemini model (the first line's): a line for another is refused (`body.model`)."""
    body = line.body
    resolved = model_id(body.get("model"), aliases=aliases)
    if model is not None and resolved != model:
        raise InvalidRequest(f"'model' {body['model']!r} differs from the batch's model "
                             f"{model!r}: every line of a batch must use the same model.",
                             "body.model", "mismatched_model")
    context: dict[str, Any] = {"custom_id": line.custom_id, "model": body["model"]}
    if endpoint == EMBEDDINGS:
        embed = embeddings_request(body, aliases)
        requests = [request for batch in embed.batches for request in batch["requests"]]
        context["inputs"] = len(requests)
        if embed.encoding_format != "float":
            context["encoding_format"] = embed.encoding_format
        return LineRequest(embed.model, requests, context)
    _refuse(body, "stream", (None, False))
    if endpoint == RESPONSES:
        _refuse(body, "previous_response_id", (None,))
        call = responses_call(body, [], aliases)
        chat = chat_request(call.chat, aliases)
        echo = {k: v for k, v in call.echo.items() if v is not None}
        echo["store"] = False  # a batch's responses are not stored
        context["echo"] = echo
        if call.custom_tools:
            context["custom_tools"] = sorted(call.custom_tools)
        if call.namespaces:
            context["namespaces"] = call.namespaces
    else:
        chat = chat_request(body, aliases)
        if chat.include_usage:
            context["include_usage"] = True
        if chat.audio_format != "wav":
            context["audio_format"] = chat.audio_format
    _keep_finish(context, chat)
    return LineRequest(chat.model, [chat.gemini], context, chat.remote_media)


def _keep_finish(context: dict[str, Any], chat: ChatRequest) -> None:
    if (finish := chat.finish) is not None:
        context["finish"] = {"name": finish.name, "schema": finish.schema,
                             "wrapped": finish.wrapped}


def _finish(context: Mapping[str, Any]) -> FinishFunction | None:
    kept = context.get("finish")
    return None if kept is None else FinishFunction(kept["name"], kept["schema"], kept["wrapped"])


def parts_of(context: Mapping[str, Any]) -> int:
    """How many Gemini requests (and results) the line has: one, or one per embedding input."""
    return int(context.get("inputs", 1))


def gemini_key(index: int, part: int = 0) -> str:
    """The key of a Gemini input line: the OpenAI line's index and the request's part."""
    return f"{index}:{part}"


def parse_key(key: Any) -> tuple[int, int] | None:
    """(line index, part) of a key `gemini_key` made, else None."""
    if not isinstance(key, str) or len(key) > _MAX_KEY:
        return None
    line, colon, part = key.partition(":")
    if not (colon and line.isascii() and line.isdigit() and part.isascii() and part.isdigit()):
        return None
    return int(line), int(part)


def gemini_line(index: int, part: int, request: dict[str, Any]) -> bytes:
    """One line of the Gemini batch input file, newline included."""
    return orjson.dumps({"key": gemini_key(index, part), "request": request}) + b"\n"


# --- answers --------------------------------------------------------------------------------

# google.rpc.Code -> (its name, the HTTP status Google maps it to)
_RPC_CODES = {
    1: ("CANCELLED", 499), 2: ("UNKNOWN", 500), 3: ("INVALID_ARGUMENT", 400),
    4: ("DEADLINE_EXCEEDED", 504), 5: ("NOT_FOUND", 404), 6: ("ALREADY_EXISTS", 409),
    7: ("PERMISSION_DENIED", 403), 8: ("RESOURCE_EXHAUSTED", 429), 9: ("FAILED_PRECONDITION", 400),
    10: ("ABORTED", 409), 11: ("OUT_OF_RANGE", 400), 12: ("UNIMPLEMENTED", 501),
    13: ("INTERNAL", 500), 14: ("UNAVAILABLE", 503), 15: ("DATA_LOSS", 500),
    16: ("UNAUTHENTICATED", 401),
}
_STATUS_HTTP = {name: status for name, status in _RPC_CODES.values()}


def _ids(seed: str | None) -> tuple[str, str]:
    """The output line's `id` and `request_id`: from `seed` when given (the same line translated
    twice gets the same ids), else random."""
    digest = hashlib.sha256(seed.encode()).hexdigest() if seed is not None else os.urandom(32).hex()
    return f"batch_req_{digest[:32]}", digest[32:]


def _line(custom_id: str, status: int, body: Mapping[str, Any],
          seed: str | None) -> dict[str, Any]:
    line_id, request_id = _ids(seed)
    return {"id": line_id, "custom_id": custom_id,
            "response": {"status_code": status, "request_id": request_id, "body": body},
            "error": None}


def error_line(custom_id: str, error: AdapterError, seed: str | None = None) -> dict[str, Any]:
    """The error-file line for a request answered with `error`: the response the live endpoint
    would give (its status and `{"error": {...}}` body), as OpenAI writes failed requests."""
    return _line(custom_id, error.status, error.body(), seed)


def unanswered_line(custom_id: str, code: str, message: str,
                    seed: str | None = None) -> dict[str, Any]:
    """The error-file line for a request that never ran (the batch expired or was cancelled
    first, or Gemini's results lack it): no response, and OpenAI's `error` {code, message}."""
    line_id, _ = _ids(seed)
    return {"id": line_id, "custom_id": custom_id, "response": None,
            "error": {"code": code, "message": message}}


def batch_error(error: AdapterError, index: int | None) -> dict[str, Any]:
    """An entry of a Batch's `errors.data` for a refused line (`index` 0-based)."""
    return {"code": error.code, "message": error.message, "param": error.param,
            "line": None if index is None else index + 1}


def upstream_error(result: Mapping[str, Any]) -> AdapterError | None:
    """The error a Gemini results line carries (`error`, a google.rpc.Status), mapped as the
    live endpoint maps Gemini's errors; None when the line has none."""
    status = result.get("error")
    if status is None:
        status = result.get("status")
    if not isinstance(status, dict):
        return None
    code, name = status.get("code"), status.get("status")
    if isinstance(name, str) and name in _STATUS_HTTP:
        http = _STATUS_HTTP[name]
    elif isinstance(code, int) and code in _RPC_CODES:
        name, http = _RPC_CODES[code]
    elif isinstance(code, int) and 400 <= code <= 599:
        http = code
    else:
        http = 500
    return from_gemini_error(http, {"error": {**status, "status": name}})


def _bad_result(message: str) -> AdapterError:
    return AdapterError(message, 502, code="upstream_bad_response")


def output_line(result: Mapping[str, Any] | Sequence[Mapping[str, Any]],
                context: Mapping[str, Any], endpoint: str, created: int | None = None,
                seed: str | None = None) -> tuple[bool, dict[str, Any]]:
    """(whether it succeeded, the OpenAI output line) for a line's Gemini results: one results
    line, or for embeddings the line's results in part order. The body is what the live
    endpoint answers, or its error."""
    custom_id = context["custom_id"]
    results = [result] if isinstance(result, Mapping) else list(result)
    try:
        for item in results:
            if (error := upstream_error(item)) is not None:
                raise error
        when = int(time.time()) if created is None else created
        if endpoint == EMBEDDINGS:
            body = _embeddings(results, context)
        elif endpoint == RESPONSES:
            body = _response(_only(results), context, when)
        else:
            body = _completion(_only(results), context, when)
    except AdapterError as error:
        return False, error_line(custom_id, error, seed)
    return True, _line(custom_id, 200, body, seed)


def _only(results: list[Mapping[str, Any]]) -> dict[str, Any]:
    response = results[0].get("response") if len(results) == 1 else None
    if not isinstance(response, dict):
        raise _bad_result("Gemini's result for this request holds no response.")
    return response


def _completion(response: dict[str, Any], context: Mapping[str, Any],
                created: int) -> Mapping[str, Any]:
    """chat.completion, as routes/chat.py folds it."""
    translator = StreamTranslator(context["model"], created, bool(context.get("include_usage")),
                                  finish_function=_finish(context),
                                  audio_format=context.get("audio_format", "wav"))
    builder = CompletionBuilder(translator)
    if (chunk := translator.translate(cast(GenerateContentResponse, response))) is not None:
        builder.add(chunk)
    translator.finish()
    return builder.build()


def _response(response: dict[str, Any], context: Mapping[str, Any],
              created: int) -> Mapping[str, Any]:
    """The Responses `response`, as routes/responses.py folds it."""
    translator = StreamTranslator(context["model"], created, include_usage=True,
                                  finish_function=_finish(context))
    emitter = ResponsesEmitter(context["model"], context.get("echo", {}),
                               set(context.get("custom_tools", ())), context.get("namespaces"))
    emitter.response["created_at"] = created
    if (chunk := translator.translate(cast(GenerateContentResponse, response))) is not None:
        emitter.feed(chunk)
    if (final := translator.finish()) is not None:
        emitter.feed(final)
    emitter.finish()
    return emitter.response


def _embeddings(results: list[Mapping[str, Any]], context: Mapping[str, Any]) -> Mapping[str, Any]:
    """The embeddings list, by `embeddings_response`: each results line (`{"tokenCount",
    "embedding"}`) read as a one-text batchEmbedContents answer."""
    expected = parts_of(context)
    if len(results) != expected:
        raise _bad_result(f"Gemini answered {len(results)} of the request's {expected} inputs.")
    answers = []
    for item in results:
        response = item.get("response")
        if not isinstance(response, dict):
            raise _bad_result("Gemini's result for an input holds no response.")
        tokens = response.get("tokenCount")
        count = int(tokens) if isinstance(tokens, str) and tokens.isascii() \
            and tokens.isdigit() else tokens if isinstance(tokens, int) else 0
        answers.append({"embeddings": [response.get("embedding")],
                        "usageMetadata": {"promptTokenCount": count}})
    request = EmbeddingsRequest("", context.get("encoding_format", "float"),
                                [{"requests": [None]}] * expected)
    return embeddings_response(request, answers, context["model"])


def _whole(value: Any) -> int:
    """A token count as Gemini writes it (an int, or an int64 as a string); else 0."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else 0


def result_tokens(result: Mapping[str, Any]) -> tuple[int, int, int, int]:
    """(input, cached input, output, reasoning) tokens one Gemini results line used, counted
    as the live endpoint reports usage (`usage.usage`); an embedding's `tokenCount` is input."""
    response = result.get("response")
    if not isinstance(response, dict):
        return 0, 0, 0, 0
    meta = response.get("usageMetadata")
    if isinstance(meta, dict):
        counts = {name: _whole(meta.get(name)) for name in (
            "promptTokenCount", "toolUsePromptTokenCount", "candidatesTokenCount",
            "thoughtsTokenCount", "cachedContentTokenCount")}
        used = usage(cast(Any, counts))
        return (used["prompt_tokens"], used["prompt_tokens_details"]["cached_tokens"],
                used["completion_tokens"], used["completion_tokens_details"]["reasoning_tokens"])
    return _whole(response.get("tokenCount")), 0, 0, 0
