"""Chat completion chunks -> OpenAI Responses stream events and the final `response` object.

The chat StreamTranslator reads Gemini's parts; this turns its deltas into the Responses event
sequence (`response.created` ... `response.completed`) that the OpenAI SDK's accumulator expects,
with increasing `sequence_number`, and keeps the response object those events describe.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

import orjson

from .errors import AdapterError
from .wire import Annotation, ChatCompletionChunk, ImageEntry, ToolCallDelta

Event = dict[str, Any]

# Chat finish reasons that leave a response `incomplete` -> its `incomplete_details.reason`.
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def _id(prefix: str) -> str:
    return f"{prefix}_{os.urandom(16).hex()}"


def responses_usage(usage: Mapping[str, Any] | None) -> dict[str, Any]:
    """Responses `usage` from a chat `usage` object."""
    usage = usage or {}
    return {
        "input_tokens": usage.get("prompt_tokens", 0),
        "input_tokens_details": {
            "cached_tokens": (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0),
            "cache_write_tokens": 0},
        "output_tokens": usage.get("completion_tokens", 0),
        "output_tokens_details": {"reasoning_tokens": (
            usage.get("completion_tokens_details") or {}).get("reasoning_tokens", 0)},
        "total_tokens": usage.get("total_tokens", 0),
    }


class ResponsesEmitter:
    """Feeds on chat chunks (`feed`), gives Responses events; `finish` / `fail` end the stream.

    An event may share objects with `response` that change later (the open item's text, the
    response's status): encode each batch of events before feeding the next chunk. The events
    that announce an item or the response in progress carry copies.
    """

    def __init__(self, model: str, echo: Mapping[str, Any], custom_tools: set[str],
                 namespaces: dict[str, str] | None = None) -> None:
        self.custom_tools = custom_tools
        self.namespaces = namespaces or {}
        self.sequence = 0
        self.response: dict[str, Any] = {
            "id": _id("resp"), "object": "response", "created_at": int(time.time()),
            "completed_at": None,
            "status": "in_progress", "error": None, "incomplete_details": None,
            "instructions": echo.get("instructions"),
            "max_output_tokens": echo.get("max_output_tokens"), "model": model, "output": [],
            "parallel_tool_calls": echo.get("parallel_tool_calls") is not False,
            "previous_response_id": echo.get("previous_response_id"),
            "reasoning": echo.get("reasoning") or {"effort": None, "summary": None},
            "store": echo.get("store") is not False,
            "temperature": echo.get("temperature"),
            "text": echo.get("text") or {"format": {"type": "text"}},
            "tool_choice": echo.get("tool_choice") or "auto", "tools": echo.get("tools") or [],
            "top_p": echo.get("top_p"), "truncation": echo.get("truncation") or "disabled",
            "usage": None, "user": echo.get("user"), "metadata": echo.get("metadata") or {},
        }
        self._output: list[dict[str, Any]] = self.response["output"]
        self._sent: list[dict[str, Any]] = []  # the closed items as their events showed them
        self._open: dict[str, Any] | None = None  # the output item being streamed
        self._kind: str | None = None
        self._open_id = ""  # its id, and its index in the output
        self._index = -1
        self._pieces: list[str] = []  # its text (or summary) so far, joined when it closes
        self._finish: str | None = None
        self._usage: Mapping[str, Any] | None = None
        self._text_seen = 0  # characters of answer text so far (citation offsets count them all)
        self._message_start = 0  # where the open message's text begins in that count

    def _event(self, kind: str, **fields: Any) -> Event:
        event = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return event

    def _snapshot(self) -> dict[str, Any]:
        """The response as it is now. Its values are replaced, not changed in place, from here
        on (the output list grows: it is copied; its closed items no longer change)."""
        self._settle()
        return {**self.response, "output": [*self._sent, *self._output[len(self._sent):]]}

    def start(self) -> list[Event]:
        snapshot = self._snapshot()  # the same state twice: one copy serves both events
        return [self._event("response.created", response=snapshot),
                self._event("response.in_progress", response=snapshot)]

    # items

    def _begin(self, kind: str, item: dict[str, Any]) -> list[Event]:
        events = self._close()
        self._output.append(item)
        self._open, self._kind, self._open_id = item, kind, item["id"]
        index = self._index = len(self._output) - 1
        if kind == "message":  # its part is announced by content_part.added
            announced = {**item, "content": []}
            self._message_start = self._text_seen
        elif kind == "reasoning":
            announced = {**item, "summary": []}
        else:
            announced = {**item}
        events.append(self._event("response.output_item.added", output_index=index,
                                  item=announced))
        if kind == "message":
            events.append(self._event(
                "response.content_part.added", item_id=item["id"], output_index=index,
                content_index=0, part={"type": "output_text", "text": "", "annotations": [],
                                       "logprobs": []}))
        elif kind == "reasoning":
            events.append(self._event(
                "response.reasoning_summary_part.added", item_id=item["id"], output_index=index,
                summary_index=0, part={"type": "summary_text", "text": ""}))
        return events

    def _settle(self) -> None:
        """Write the open message's or reasoning's text so far into its item."""
        if self._pieces:
            item = self._open
            assert item is not None
            part = item["content"][0] if self._kind == "message" else item["summary"][0]
            part["text"] += "".join(self._pieces)
            self._pieces = []

    def _close(self, status: str = "completed") -> list[Event]:
        """Close the open item; a message says `status` (`incomplete` when the answer was cut
        short in it)."""
        item, kind = self._open, self._kind
        if item is None:
            return []
        self._settle()
        self._open = self._kind = None
        index = self._index
        events = []
        sent = item  # the item as the events show it from here on
        if kind == "message":
            part = item["content"][0]
            # The whole text goes out four times (done events, the completed response):
            # encoded once, and passed on as it is.
            text = orjson.Fragment(orjson.dumps(part["text"]))
            sent_part = {**part, "text": text}
            events.append(self._event("response.output_text.done", item_id=item["id"],
                                      output_index=index, content_index=0, text=text,
                                      logprobs=[]))
            events.append(self._event("response.content_part.done", item_id=item["id"],
                                      output_index=index, content_index=0, part=sent_part))
            item["status"] = status
            sent = {**item, "content": [sent_part]}
        elif kind == "reasoning":
            part = item["summary"][0]
            events.append(self._event("response.reasoning_summary_text.done", item_id=item["id"],
                                      output_index=index, summary_index=0, text=part["text"]))
            events.append(self._event("response.reasoning_summary_part.done", item_id=item["id"],
                                      output_index=index, summary_index=0, part=part))
        self._sent.append(sent)
        events.append(self._event("response.output_item.done", output_index=index,
                                  item=sent))  # final from here on: no copy needed
        return events

    def feed(self, chunk: ChatCompletionChunk) -> list[Event]:
        """The Responses events for one chat chunk (choice 0; Responses has one output)."""
        if (usage := chunk.get("usage")) is not None:
            self._usage = usage
        events: list[Event] = []
        for choice in chunk["choices"]:
            if choice["index"]:
                continue
            delta = choice["delta"]
            if self._kind == "message" and len(delta) == 1 and (text := delta.get("content")):
                events.append(self._delta(text))  # most chunks: more of the open message
            else:
                events += self._parts(delta)
            if reason := choice["finish_reason"]:
                self._finish = reason
        return events

    def _parts(self, delta: Mapping[str, Any]) -> list[Event]:
        events: list[Event] = []
        if text := delta.get("reasoning_content"):
            events += self._reasoning(text)
        if text := delta.get("content"):
            events += self._text(text)
        if annotations := delta.get("annotations"):
            events += self._annotate(annotations)
        for call in delta.get("tool_calls", ()):
            events += self._call(call)
        for image in delta.get("images", ()):
            events += self._image(image)
        return events

    def _reasoning(self, text: str) -> list[Event]:
        events = []
        if self._kind != "reasoning":
            events = self._begin("reasoning", {"id": _id("rs"), "type": "reasoning",
                                               "summary": [{"type": "summary_text", "text": ""}]})
        self._pieces.append(text)
        events.append(self._event("response.reasoning_summary_text.delta",
                                  item_id=self._open_id, output_index=self._index,
                                  summary_index=0, delta=text))
        return events

    def _text(self, text: str) -> list[Event]:
        events = []
        if self._kind != "message":
            events = self._begin("message", {
                "id": _id("msg"), "type": "message", "role": "assistant", "status": "in_progress",
                "content": [{"type": "output_text", "text": "", "annotations": [],
                             "logprobs": []}]})
        events.append(self._delta(text))
        return events

    def _delta(self, text: str) -> Event:
        """`response.output_text.delta` of the open message."""
        self._pieces.append(text)
        self._text_seen += len(text)
        sequence = self.sequence
        self.sequence = sequence + 1
        return {"type": "response.output_text.delta", "sequence_number": sequence,
                "item_id": self._open_id, "output_index": self._index, "content_index": 0,
                "delta": text, "logprobs": []}

    def _annotate(self, annotations: list[Annotation]) -> list[Event]:
        if self._kind != "message":
            return []
        assert self._open is not None
        target = self._open["content"][0]["annotations"]
        events = []
        for annotation in annotations:
            citation = annotation["url_citation"]
            flat = {"type": "url_citation", **citation,
                    "start_index": citation["start_index"] - self._message_start,
                    "end_index": citation["end_index"] - self._message_start}
            events.append(self._event(
                "response.output_text.annotation.added", item_id=self._open_id,
                output_index=self._index, content_index=0,
                annotation_index=len(target), annotation=flat))
            target.append(flat)
        return events

    def _call(self, call: ToolCallDelta) -> list[Event]:
        name = call["function"]["name"]
        arguments = call["function"]["arguments"]
        index = len(self._output)
        item: dict[str, Any]
        if name in self.custom_tools:
            text = orjson.loads(arguments).get("input", "") if arguments else ""
            # No `status`: the spec's custom_tool_call output item has none.
            item = {"id": _id("ctc"), "type": "custom_tool_call", "call_id": call["id"],
                    "name": name, "input": ""}
            events = self._begin("custom", item)
            item["input"] = text
            events.append(self._event("response.custom_tool_call_input.delta",
                                      item_id=item["id"], output_index=index, delta=text))
            events.append(self._event("response.custom_tool_call_input.done",
                                      item_id=item["id"], output_index=index, input=text))
        else:
            item = {"id": _id("fc"), "type": "function_call", "status": "in_progress",
                    "call_id": call["id"], "name": name, "arguments": ""}
            if name in self.namespaces:
                item["namespace"] = self.namespaces[name]  # Codex runs it only with this
            events = self._begin("function", item)
            item["arguments"] = arguments
            events.append(self._event("response.function_call_arguments.delta",
                                      item_id=item["id"], output_index=index, delta=arguments))
            events.append(self._event("response.function_call_arguments.done",
                                      item_id=item["id"], output_index=index,
                                      arguments=arguments, name=name))
            item["status"] = "completed"
        return events + self._close()

    def _image(self, image: ImageEntry) -> list[Event]:
        """An image Gemini made: an `image_generation_call` item, with the events OpenAI's own
        image tool sends (no partial images: Gemini sends each image whole)."""
        head, _, data = image["image_url"]["url"].partition(",")
        mime = head.removeprefix("data:").removesuffix(";base64")
        item: dict[str, Any] = {"id": _id("ig"), "type": "image_generation_call",
                                "status": "in_progress", "result": None}
        events = self._begin("image", item)
        index = self._index
        for stage in ("in_progress", "generating", "completed"):
            events.append(self._event(f"response.image_generation_call.{stage}",
                                      item_id=item["id"], output_index=index))
        item.update(status="completed", result=data)
        if mime.startswith("image/") and mime[6:] in ("png", "jpeg", "webp", "gif"):
            item["output_format"] = mime[6:]
        if signature := image.get("thought_signature"):
            item["thought_signature"] = signature  # comes back with the item, for Gemini 3
        return events + self._close()

    def finish(self) -> list[Event]:
        """Close the open item; `response.completed` (or `response.incomplete`)."""
        response = self.response
        cut_short = _INCOMPLETE.get(self._finish or "")
        events = self._close("incomplete" if cut_short else "completed")
        response["usage"] = responses_usage(self._usage)
        if cut_short:
            response["status"] = "incomplete"
            response["incomplete_details"] = {"reason": cut_short}
        else:
            response["status"] = "completed"
            response["completed_at"] = int(time.time())
        kind = "response.completed" if response["status"] == "completed" else \
            "response.incomplete"
        events.append(self._event(kind, response={**response, "output": self._sent}))
        return events

    def fail(self, error: AdapterError) -> list[Event]:
        """`response.failed` and an `error` event, for a failure after the stream began."""
        self.response["status"] = "failed"
        # `response.error.code` is an enum in the API; our own code goes on the `error` event.
        code = "rate_limit_exceeded" if error.status == 429 else "server_error"
        self.response["error"] = {"code": code, "message": error.message}
        return [self._event("response.failed", response=self._snapshot()),
                self._event("error", code=error.code, message=error.message, param=error.param)]
