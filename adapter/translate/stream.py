"""Gemini stream events -> OpenAI `chat.completion.chunk` objects, one event at a time."""

from __future__ import annotations

import uuid
from typing import Literal

import orjson

from . import tool_ids
from .audio_output import AudioAnswer, is_audio
from .code_execution import CodeRuns, render_code, render_result
from .errors import AdapterError
from .final_answer import FinishFunction
from .finish import FAILED_TURNS, finish_reason
from .function_names import from_gemini
from .grounding import url_citations
from .image_output import image_entry
from .logprobs import logprobs
from .usage import usage
from .wire import (
    Candidate,
    ChatCompletionChunk,
    ChunkChoice,
    Delta,
    FunctionCall,
    GenerateContentResponse,
    Part,
    ToolCallDelta,
    UsageMetadata,
)

# Keys of a part that describe it rather than make it a kind of part.
_PART_FIELDS = frozenset({"thought", "thoughtSignature", "partMetadata", "videoMetadata"})


class _Candidate:
    """What the translator remembers about one candidate (one OpenAI choice)."""

    __slots__ = ("audio", "citations", "finished", "images", "role_sent", "runs", "text",
                 "tool_calls")

    def __init__(self) -> None:
        self.role_sent = False
        self.tool_calls = 0
        self.images = 0
        self.audio: AudioAnswer | None = None  # a spoken answer, once Gemini speaks
        self.runs: CodeRuns | None = None  # code execution, once Gemini runs some
        self.finished = False
        self.text: list[str] = []  # the answer so far, for grounding offsets
        self.citations = 0  # url_citation annotations sent so far


class StreamTranslator:
    """Turns each Gemini `GenerateContentResponse` of a stream into one OpenAI chunk.

    Stateful only in what a stream needs: one id for all chunks, whether each choice has sent its
    role, how many tool calls each has made (their `index`), and the latest usage.
    """

    def __init__(self, model: str, created: int, include_usage: bool = False,
                 finish_function: FinishFunction | None = None,
                 audio_format: str = "wav") -> None:
        self.audio_format = audio_format  # of a spoken answer (audio_output.FORMATS)
        self.model = model
        self.finish_function = finish_function  # its call is the JSON answer, not a tool call
        self.created = created
        self.include_usage = include_usage
        self.id = ""  # from the first event
        self.usage_metadata: UsageMetadata | None = None
        self._candidates: dict[int, _Candidate] = {}
        self._blocked = False
        self.skipped: set[str] = set()  # kinds of answer parts with no OpenAI form (for the log)

    def _chunk(self, choices: list[ChunkChoice]) -> ChatCompletionChunk:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }

    def translate(self, event: GenerateContentResponse) -> ChatCompletionChunk | None:
        """The chunk for one Gemini event, or None when the event carries nothing to send."""
        if not self.id:
            response_id = event.get("responseId")
            self.id = f"chatcmpl-{response_id or uuid.uuid4().hex}"
        if (meta := event.get("usageMetadata")) is not None:
            self.usage_metadata = meta
        candidates = event.get("candidates")
        if not candidates:
            feedback = event.get("promptFeedback")
            if feedback and feedback.get("blockReason") and not self._blocked:
                self._blocked = True
                return self._chunk([{"index": 0, "delta": {"role": "assistant", "content": ""},
                                     "finish_reason": "content_filter"}])
            return None
        choices: list[ChunkChoice] = []
        for candidate in candidates:
            choice = self._choice(candidate)
            if choice is not None:
                choices.append(choice)
        return self._chunk(choices) if choices else None

    def _choice(self, candidate: Candidate) -> ChunkChoice | None:
        index = candidate.get("index", 0)
        state = self._candidates.get(index)
        if state is None:
            state = self._candidates[index] = _Candidate()
        delta: Delta = {}
        content = candidate.get("content")
        parts = content.get("parts") if content else None
        if parts:
            self._add_parts(delta, parts, state, index)
        if (grounding := candidate.get("groundingMetadata")) is not None:
            citations = url_citations(grounding, "".join(state.text))
            if len(citations) > state.citations:
                delta["annotations"] = citations[state.citations:]
                state.citations = len(citations)
        reason = candidate.get("finishReason")
        if reason in FAILED_TURNS:
            detail = candidate.get("finishMessage") or "no further detail"
            raise AdapterError(f"Gemini could not complete the turn ({reason}): {detail}", 502,
                               code=reason.lower())
        openai_reason = reason
        if reason:
            state.finished = True
            openai_reason = finish_reason(reason, state.tool_calls > 0)
        if state.audio is not None and (audio := state.audio.delta(finished=bool(reason))):
            delta["audio"] = audio
        result = candidate.get("logprobsResult")
        if not delta and openai_reason is None and result is None:
            return None
        if not state.role_sent:
            state.role_sent = True
            first: Delta = {"role": "assistant"}
            first.update(delta)
            delta = first
            delta.setdefault("content", "")
        choice: ChunkChoice = {"index": index, "delta": delta, "finish_reason": openai_reason}
        if result is not None:
            choice["logprobs"] = logprobs(result)
        return choice

    def _add_parts(self, delta: Delta, parts: list[Part], state: _Candidate,
                   index: int) -> None:
        for part in parts:
            if (text := part.get("text")) is not None:
                if not text:
                    continue
                if part.get("thought"):
                    _append(delta, "reasoning_content", text)
                else:
                    state.text.append(text)
                    _append(delta, "content", text)
            elif (finisher := self.finish_function) and (answer := finisher.answer(part)):
                state.text.append(answer)
                _append(delta, "content", answer)
            elif (call := part.get("functionCall")) is not None:
                calls = delta.setdefault("tool_calls", [])
                seed = f"{self.id}/{index}/{state.tool_calls}"  # Gemini's answer decides the id
                calls.append(_tool_call_delta(call, part.get("thoughtSignature"),
                                              state.tool_calls, seed))
                state.tool_calls += 1
            elif (blob := part.get("inlineData")) is not None:
                if is_audio(blob):
                    state.audio = state.audio or AudioAnswer(self.audio_format, self.created)
                    state.audio.add(blob)
                elif not part.get("thought"):  # drafts an image model makes while thinking
                    delta.setdefault("images", []).append(
                        image_entry(blob, part.get("thoughtSignature"), state.images))
                    state.images += 1
            elif (code := part.get("executableCode")) is not None:
                runs = state.runs = state.runs or CodeRuns()
                run = runs.code(code, part.get("thoughtSignature"))
                delta.setdefault("code_execution", []).append(run)
                _append(delta, "content", render_code(run["language"], run["code"]))
            elif (result := part.get("codeExecutionResult")) is not None:
                runs = state.runs = state.runs or CodeRuns()
                run = runs.result(result)
                delta.setdefault("code_execution", []).append(run)
                _append(delta, "content", render_result(run["outcome"], run["output"]))
            else:
                self.skipped.update(key for key in part if key not in _PART_FIELDS)

    def finish(self) -> ChatCompletionChunk | None:
        """Check the stream ended properly; the final usage chunk when the client asked for one."""
        if not self._blocked and not (
            self._candidates and all(c.finished for c in self._candidates.values())
        ):
            raise AdapterError(
                "The upstream stream ended before the answer was complete.", 502,
                code="upstream_incomplete",
            )
        if not self.include_usage:
            return None
        chunk = self._chunk([])
        chunk["usage"] = usage(self.usage_metadata or {})
        return chunk


def _append(delta: Delta, key: Literal["content", "reasoning_content"], text: str) -> None:
    delta[key] = delta[key] + text if key in delta else text


def _tool_call_delta(call: FunctionCall, signature: str | None, index: int,
                     seed: str) -> ToolCallDelta:
    """A whole tool call in one delta, its id carrying Gemini's call id and signature, its name
    the client's own."""
    return {
        "index": index,
        "id": tool_ids.encode(call.get("id"), signature, seed),
        "type": "function",
        "function": {
            "name": from_gemini(call.get("name", "")),
            "arguments": orjson.dumps(call.get("args") or {}).decode(),
        },
    }
