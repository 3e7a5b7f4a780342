"""Gemini code execution (`executableCode`, `codeExecutionResult` parts) <-> OpenAI messages.

An answer that ran code shows it in `content` as Markdown, in the order Gemini sent it: the code
as a fenced block in its language, then its output in an `output` block (an `error` block when
the run failed). The same runs are given structurally on the message as `code_execution`:
`[{"id", "language", "code", "outcome", "output", "thought_signature"}]`, merged by `index` on
stream deltas like `tool_calls`.

Sent back on an assistant message, `code_execution` turns the rendered blocks in `content` back
into the parts Gemini made, signatures included; without it the Markdown is plain text.
"""

from __future__ import annotations

from typing import Any

from . import validate
from .wire import CodeExecutionResult, CodeRun, ExecutableCode, Part

_OK = "OUTCOME_OK"
_RUN_TEXTS = ("id", "language", "code", "outcome", "output", "thought_signature")


def render_code(language: str | None, code: str) -> str:
    """The Markdown for one executableCode part."""
    return f"\n```{(language or 'python').lower()}\n{code.rstrip(chr(10))}\n```\n"


def render_result(outcome: str | None, output: str | None) -> str:
    """The Markdown for one codeExecutionResult part."""
    outcome = outcome or _OK
    text = (output or "").rstrip("\n")
    if outcome == _OK:
        return f"\n```output\n{text}\n```\n"
    return f"\n```error\n{text or outcome}\n```\n"


class CodeRuns:
    """Pairs a stream's results with the code that produced them (by Gemini id, else the latest
    run still waiting for one) and numbers the runs for deltas."""

    __slots__ = ("_ids", "_waiting", "count")

    def __init__(self) -> None:
        self.count = 0
        self._ids: dict[str, int] = {}
        self._waiting: list[int] = []

    def code(self, code: ExecutableCode, signature: str | None) -> CodeRun:
        """The delta entry for an executableCode part."""
        index = self.count
        self.count += 1
        language = (code.get("language") or "PYTHON").lower()
        entry: CodeRun = {"index": index, "language": language,
                                 "code": code.get("code") or ""}
        if gemini_id := code.get("id"):
            entry["id"] = gemini_id
            self._ids[gemini_id] = index
        if signature:
            entry["thought_signature"] = signature
        self._waiting.append(index)
        return entry

    def result(self, result: CodeExecutionResult) -> CodeRun:
        """The delta entry for a codeExecutionResult part."""
        index = self._ids.get(result.get("id") or "")
        if index is None:
            index = self._waiting[-1] if self._waiting else self.count
            if index == self.count:
                self.count += 1
        if index in self._waiting:
            self._waiting.remove(index)
        return {"index": index, "outcome": result.get("outcome") or _OK,
                "output": result.get("output") or ""}


def history_parts(content: str, runs: Any, where: str) -> list[Part]:
    """The model parts for an assistant message's `content` and its `code_execution` runs.

    Each run's rendered blocks are found in `content` in order; the text between them stays
    text. A run whose blocks are no longer in the text goes where the next text would.
    """
    runs = validate.array(runs, f"{where}.code_execution")
    parts: list[Part] = []
    rest = content
    for i, run in enumerate(runs):
        run = validate.mapping(run, f"{where}.code_execution[{i}]")
        for key in _RUN_TEXTS:  # each is text when given
            if run.get(key) is not None:
                validate.string(run[key], f"{where}.code_execution[{i}].{key}")
        if "code" in run:  # a second result of the same code comes without it
            language = run.get("language")
            code = validate.string(run["code"], f"{where}.code_execution[{i}].code")
            executable: ExecutableCode = {"language": (language or "python").upper(),
                                          "code": code}
            if run.get("id"):
                executable["id"] = run["id"]
            code_part: Part = {"executableCode": executable}
            if signature := run.get("thought_signature"):
                code_part["thoughtSignature"] = signature
            rest = _take(rest, render_code(language, code), code_part, parts)
        if "outcome" in run or "output" in run:
            result: CodeExecutionResult = {"outcome": run.get("outcome") or _OK,
                                      "output": run.get("output") or ""}
            if run.get("id"):
                result["id"] = run["id"]
            rest = _take(rest, render_result(run.get("outcome"), run.get("output")),
                         {"codeExecutionResult": result}, parts)
    if rest:
        parts.append({"text": rest})
    return parts


def _take(rest: str, block: str, part: Part, parts: list[Part]) -> str:
    """Append the text before `block` and `part`; return the text after the block."""
    at = rest.find(block)
    if at < 0:
        parts.append(part)
        return rest
    if at:
        parts.append({"text": rest[:at]})
    parts.append(part)
    return rest[at + len(block):]
