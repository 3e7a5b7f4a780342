"""Lines a second through the batch translators, one process, no I/O: a chat input line
parsed, translated and encoded as a Gemini input line; a Gemini results line translated to the
OpenAI output line and encoded (chat, Responses, embeddings). Measures, asserts nothing:
`.venv/bin/python -m tests.bench.batch_lines [lines]`."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from adapter.translate.batch_lines import (
    CHAT,
    EMBEDDINGS,
    RESPONSES,
    gemini_line,
    output_line,
    parse_line,
    translate_line,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gemini"


def rate(name: str, lines: int, run: Callable[[int], None]) -> None:
    start = time.perf_counter()
    for index in range(lines):
        run(index)
    seconds = time.perf_counter() - start
    print(f"{name:<44} {lines / seconds:>10,.0f} lines/s  ({seconds * 1e6 / lines:.1f} µs/line)")


def main(lines: int) -> None:
    chat = orjson.dumps({"custom_id": "req-1", "method": "POST", "url": CHAT, "body": {
        "model": "gemini-2.5-flash", "max_tokens": 200, "temperature": 0.3, "messages": [
            {"role": "system", "content": "You are a careful assistant."},
            {"role": "user", "content": "Summarise the plot of Hamlet in two sentences."}]}})
    responses = orjson.dumps({"custom_id": "req-1", "method": "POST", "url": RESPONSES, "body": {
        "model": "gemini-2.5-flash", "instructions": "Be brief.", "input": "Explain qubits."}})

    def chat_in(index: int) -> None:
        line = parse_line(chat, index, CHAT)
        assert line is not None
        request = translate_line(line, CHAT, {}, "gemini-2.5-flash")
        for part, body in enumerate(request.requests):
            gemini_line(index, part, body)
        orjson.dumps(request.context)

    def responses_in(index: int) -> None:
        line = parse_line(responses, index, RESPONSES)
        assert line is not None
        request = translate_line(line, RESPONSES, {})
        gemini_line(index, 0, request.requests[0])
        orjson.dumps(request.context)

    results = (FIXTURES / "batch-results-file.jsonl").read_bytes().splitlines()
    embedded = (FIXTURES / "batch-embed-results-file.jsonl").read_bytes().splitlines()
    chat_context = orjson.dumps({"custom_id": "req-1", "model": "gemini-2.5-flash"})
    responses_context = orjson.dumps({"custom_id": "req-1", "model": "gemini-2.5-flash",
                                      "echo": {"instructions": "Be brief.", "store": False}})
    embed_context = orjson.dumps({"custom_id": "req-1", "model": "gemini-embedding-001",
                                  "inputs": 2})

    def out(endpoint: str, context: bytes) -> Callable[[int], None]:
        def run(index: int) -> None:
            result = orjson.loads(results[index % len(results)])
            orjson.dumps(output_line(result, orjson.loads(context), endpoint, 0)[1])
        return run

    def embeddings_out(index: int) -> None:
        parts = [orjson.loads(raw) for raw in embedded]
        orjson.dumps(output_line(parts, orjson.loads(embed_context), EMBEDDINGS, 0)[1])

    rate("chat input: parse + translate + encode", lines, chat_in)
    rate("responses input: parse + translate + encode", lines, responses_in)
    rate("chat output: decode + translate + encode", lines, out(CHAT, chat_context))
    rate("responses output: decode + translate + encode", lines,
         out(RESPONSES, responses_context))
    rate("embeddings output (2 inputs a line)", lines, embeddings_out)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
