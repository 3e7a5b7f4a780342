"""Fold a stream's OpenAI chunks into one `chat.completion` object.

Non-streaming requests go through the same StreamTranslator as streaming ones, so both paths
read Gemini parts in exactly one place.
"""

from __future__ import annotations

from .stream import StreamTranslator
from .usage import usage
from .wire import (
    Annotation,
    Audio,
    AudioDelta,
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    CodeRun,
    ImageEntry,
    Message,
    TokenLogprob,
    ToolCall,
)


class _Choice:
    __slots__ = ("annotations", "audio", "code_runs", "content", "finish_reason", "images",
                 "logprobs", "reasoning", "tool_calls")

    def __init__(self) -> None:
        self.annotations: list[Annotation] = []
        self.images: list[ImageEntry] = []
        self.audio: Audio | None = None
        self.code_runs: dict[int, CodeRun] = {}
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.tool_calls: dict[int, ToolCall] = {}
        self.logprobs: list[TokenLogprob] | None = None
        self.finish_reason: str | None = None


class CompletionBuilder:
    """Collects translated chunks; `build()` returns the equivalent `chat.completion`."""

    def __init__(self, translator: StreamTranslator) -> None:
        self.translator = translator
        self._choices: dict[int, _Choice] = {}

    def add(self, chunk: ChatCompletionChunk) -> None:
        for choice in chunk["choices"]:
            state = self._choices.get(choice["index"])
            if state is None:
                state = self._choices[choice["index"]] = _Choice()
            delta = choice["delta"]
            if text := delta.get("content"):
                state.content.append(text)
            if text := delta.get("reasoning_content"):
                state.reasoning.append(text)
            state.annotations.extend(delta.get("annotations", ()))
            state.images.extend(delta.get("images", ()))
            if (audio := delta.get("audio")) is not None:
                _add_audio(state, audio)
            for run in delta.get("code_execution", ()):
                merged = state.code_runs.setdefault(run["index"], {})
                merged.update(run)
                del merged["index"]
            for call in delta.get("tool_calls", ()):
                state.tool_calls[call["index"]] = {
                    "id": call["id"], "type": call["type"], "function": call["function"]}
            if (result := choice.get("logprobs")) is not None:
                state.logprobs = (state.logprobs or []) + result["content"]
            if choice["finish_reason"] is not None:
                state.finish_reason = choice["finish_reason"]

    def build(self) -> ChatCompletion:
        translator = self.translator
        choices: list[Choice] = []
        for index in sorted(self._choices):
            state = self._choices[index]
            message: Message = {
                "role": "assistant",
                "content": "".join(state.content)
                if state.content or not (state.tool_calls or state.audio) else None,
                "refusal": None,
            }
            if state.reasoning:
                message["reasoning_content"] = "".join(state.reasoning)
            if state.annotations:
                message["annotations"] = state.annotations
            if state.images:
                message["images"] = state.images
            if state.audio is not None:
                message["audio"] = state.audio
            if state.code_runs:
                message["code_execution"] = [state.code_runs[i] for i in sorted(state.code_runs)]
            if state.tool_calls:
                message["tool_calls"] = [state.tool_calls[i] for i in sorted(state.tool_calls)]
            choices.append({
                "index": index,
                "message": message,
                "logprobs": None if state.logprobs is None
                else {"content": state.logprobs, "refusal": None},
                "finish_reason": state.finish_reason,
            })
        return {
            "id": translator.id,
            "object": "chat.completion",
            "created": translator.created,
            "model": translator.model,
            "choices": choices,
            "usage": usage(translator.usage_metadata or {}),
        }


def _add_audio(state: _Choice, piece: AudioDelta) -> None:
    """Merge a piece of a spoken answer: its base64 strings join into the whole."""
    if state.audio is None:
        state.audio = {"id": "", "data": "", "expires_at": 0, "transcript": ""}
    audio = state.audio
    audio["id"] = piece.get("id", audio["id"])
    audio["data"] += piece.get("data", "")
    audio["transcript"] += piece.get("transcript", "")
    audio["expires_at"] = piece.get("expires_at", audio["expires_at"])
