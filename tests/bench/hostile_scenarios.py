"""The classes of hostile request of issue 13, each measured against a fresh adapter process.

Every scenario is an async function taking the `Bench` and returning rows of the report; none
assumes the adapter survives (each request has a timeout, a dead adapter is reported as a
crash)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from .hostile_harness import (
    AUTH,
    MIB,
    SERVER_KEY,
    AdapterProcess,
    Answer,
    Bench,
    Row,
    call,
    measuring,
    metric,
    mib,
    tally,
    with_crash,
)
from .hostile_upstream import png_header

MODEL = "gemini-2.5-flash"
CHAT = "/v1/chat/completions"
Scenario = Callable[[Bench], Awaitable[list[Row]]]


def chat(stream: bool = True, content: Any = "Hi", **fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "stream": stream,
            "messages": [{"role": "user", "content": content}], **fields}


def deep(levels: int) -> Any:
    """{"v": {"v": ... "bottom"}}, `levels` objects deep."""
    value: Any = "bottom"
    for _ in range(levels):
        value = {"v": value}
    return value


def deep_arguments(levels: int = 300) -> dict[str, Any]:
    """A streamed chat whose history has a tool call with arguments `levels` objects deep."""
    call = {"id": "call_1", "type": "function",
            "function": {"name": "lookup", "arguments": json.dumps(deep(levels))}}
    body = chat()
    body["messages"] += [{"role": "assistant", "content": None, "tool_calls": [call]},
                         {"role": "tool", "tool_call_id": "call_1", "content": "done"}]
    return body


def as_json(body: Any) -> dict[str, Any]:
    """httpx arguments sending `body` as JSON (the stdlib encoder: any depth, 1e30 as is)."""
    return {"content": json.dumps(body).encode(),
            "headers": {**AUTH, "content-type": "application/json"}}


def client(adapter: AdapterProcess) -> httpx.AsyncClient:
    """A client opening a connection per request: uvicorn closes one after a 500, and a
    request sent on it meanwhile would fail without reaching the adapter."""
    return httpx.AsyncClient(base_url=adapter.url, headers=AUTH,
                             limits=httpx.Limits(max_connections=200, max_keepalive_connections=0))


# --- 1. leaked stream slots ---------------------------------------------------------------------


async def gated(gate: asyncio.Semaphore, http: httpx.AsyncClient, body: Any) -> str:
    """One streamed chat sent when `gate` lets it; its status."""
    async with gate:
        return (await call(http, "POST", CHAT, 20, **as_json(body))).status


async def leaked_slots(bench: Bench) -> list[Row]:
    """60 unsendable streamed chats against 50 slots, then 5 normal ones."""
    rows = []
    for label, body in (("`max_tokens: 1e30`", chat(max_tokens=1e30)),
                        ("`seed: 1e20`", chat(seed=1e20)),
                        ("`metadata` nested 300 deep", chat(metadata=deep(300))),
                        ("tool-call `arguments` nested 300 deep", deep_arguments())):
        with bench.adapter("slots", ADAPTER_MAX_STREAMS="50",
                           ADAPTER_QUEUE_TIMEOUT="0.5") as adapter:
            async with client(adapter) as http:
                gate = asyncio.Semaphore(10)
                async with measuring(adapter) as measured:
                    statuses = await asyncio.gather(*(gated(gate, http, body)
                                                      for _ in range(60)))
                normal = await asyncio.gather(*(call(http, "POST", CHAT, 20, json=chat())
                                                for _ in range(5)))
                in_flight = await metric(http, adapter.url, "adapter_streams_in_flight")
                slots = await metric(http, adapter.url, "adapter_upstream_slots_in_use")
            refused = sum(answer.status == "503" for answer in normal)
            rows.append(Row("1", f"60 streamed chats with {label} (50 slots), then 5 normal",
                            with_crash(tally(list(statuses)), adapter),
                            [f"normal requests refused 503: {refused}/5",
                             f"normal: {tally([a.status for a in normal])}",
                             f"after: `adapter_streams_in_flight` {in_flight}, "
                             f"`adapter_upstream_slots_in_use` {slots}"], measured))
    return rows


# --- 2. schema bomb -----------------------------------------------------------------------------

BOMB_LEVELS = 20


def schema_bomb(levels: int = BOMB_LEVELS) -> dict[str, Any]:
    """$defs A0..A{levels}: each A_i has two properties that both refer to A_{i+1}."""
    defs: dict[str, Any] = {
        f"A{i}": {"type": "object", "properties": {"x": {"$ref": f"#/$defs/A{i + 1}"},
                                                   "y": {"$ref": f"#/$defs/A{i + 1}"}}}
        for i in range(levels)}
    defs[f"A{levels}"] = {"type": "string"}
    return {"type": "object", "properties": {"root": {"$ref": "#/$defs/A0"}}, "$defs": defs}


async def schema_bomb_request(bench: Bench) -> list[Row]:
    schema = schema_bomb()
    tool = {"type": "function", "function": {"name": "bomb", "parameters": schema}}
    with bench.adapter("schema") as adapter:
        await bench.reset_upstream()
        async with client(adapter) as http, measuring(adapter) as measured:
            answer = await call(http, "POST", CHAT, 90, json=chat(stream=False, tools=[tool]))
        sent = sum(body["bytes"] for body in (await bench.upstream_stats())["bodies"])
        status = with_crash(answer.status, adapter)
    return [Row("2", f"tool schema of {len(json.dumps(schema))} bytes, `$defs` referring to "
                     f"the next twice, {BOMB_LEVELS} levels", status,
                [f"time to answer {measured.seconds:.2f} s",
                 f"adapter CPU {measured.cpu_s or 0:.2f} s",
                 f"upstream received {mib(sent)}", *param_of(answer)], measured)]


def param_of(answer: Answer) -> list[str]:
    """The error's code and param, when the answer is an OpenAI error."""
    code, param = answer.error_field("code"), answer.error_field("param")
    if code is None and param is None:
        return []
    shown = param if param is None or len(param) < 60 else param[:57] + "..."
    return [f"code `{code}`, param `{shown}`"]


# --- 3. many image URLs -------------------------------------------------------------------------

async def image_urls(bench: Bench) -> list[Row]:
    """100 URLs (the issue's request), then 32 (the new per-request maximum of URLs)."""
    return [await urls_request(bench, 100), await urls_request(bench, 32)]


async def urls_request(bench: Bench, count: int) -> Row:
    urls = [f"{bench.upstream}/img/{n}.png" for n in range(count)]
    content = [{"type": "text", "text": "Describe these."},
               *({"type": "image_url", "image_url": {"url": url}} for url in urls)]
    body = chat(stream=False, content=content)
    with bench.adapter("urls", ADAPTER_FETCH_ALLOW_PRIVATE="1") as adapter:
        await bench.reset_upstream()
        async with client(adapter) as http, measuring(adapter) as measured:
            answer = await call(http, "POST", CHAT, 90, json=body)
        stats = await bench.upstream_stats()
        status = with_crash(answer.status, adapter)
    sent = sum(item["bytes"] for item in stats["bodies"])
    return Row("3", f"{count} image URLs ({len(json.dumps(body)) / 1024:.1f} KB request, "
                    "10 MiB images on 127.0.0.1)", status,
               [f"downloads at once (image server): {stats['images_max_concurrent']}",
                f"images asked for {stats['images_started']}, sent whole "
                f"{stats['images_served']}",
                f"upstream received {mib(sent)}", f"time {measured.seconds:.2f} s",
                *param_of(answer)], measured)


# --- 4. image edit: 16 large images, n=10 -------------------------------------------------------


async def image_edit(bench: Bench) -> list[Row]:
    header = png_header()
    sizes = [3 * MIB + i * (5 * MIB // 4) // 15 for i in range(16)]  # 3 to 4.25 MiB
    files = [("image[]", (f"i{i}.png", header + bytes(size - len(header)), "image/png"))
             for i, size in enumerate(sizes)]
    form = {"model": "gemini-2.5-flash-image", "prompt": "Make it blue.", "n": "10"}
    with bench.adapter("edit") as adapter:
        await bench.reset_upstream()
        async with client(adapter) as http, measuring(adapter) as measured:
            answer = await call(http, "POST", "/v1/images/edits", 120, files=files, data=form)
        await asyncio.sleep(1)
        later = adapter.usage()
        bodies = (await bench.upstream_stats())["bodies"]
        status = with_crash(answer.status, adapter)
    per_call = sorted({body["bytes"] for body in bodies})
    shown = ", ".join(mib(size) for size in per_call) or "none"
    return [Row("4", f"image edit, 16 images of 3 to 4.25 MiB ({mib(sum(sizes))}), `n=10`",
                status,
                [f"upstream calls {len(bodies)}, each {shown}",
                 f"RSS 1 s after {later.rss_kib / 1024:.0f} MiB" if later else "RSS after: —",
                 f"time {measured.seconds:.2f} s", *param_of(answer)], measured)]


# --- 5. slow reader -----------------------------------------------------------------------------

WRITE_TIMEOUT = 2.0
SLOW_READER_WAIT = WRITE_TIMEOUT + 4


def raw_request(port: int, path: str, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body).encode()
    return (f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nauthorization: "
            f"{AUTH['authorization']}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(payload)}\r\n\r\n").encode() + payload


def drained_to_end(sock: socket.socket, seconds: float) -> bool:
    """Read what the socket holds for up to `seconds`: True if the peer closed it."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if not sock.recv(1 << 20):
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


async def slow_reader(bench: Bench) -> list[Row]:
    body = chat(model="gemini-big")
    with bench.adapter("slow", ADAPTER_WRITE_TIMEOUT=f"{WRITE_TIMEOUT:g}") as adapter:
        await bench.reset_upstream()
        async with client(adapter) as http:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            try:
                sock.connect(("127.0.0.1", adapter.port))
                sock.sendall(raw_request(adapter.port, CHAT, body))
                async with measuring(adapter) as measured:
                    await asyncio.sleep(SLOW_READER_WAIT)  # the client reads nothing
                    in_flight = await metric(http, adapter.url, "adapter_streams_in_flight")
                    stats = await bench.upstream_stats()
                closed = await asyncio.to_thread(drained_to_end, sock, 3)
            finally:
                sock.close()
        status = with_crash("stream not read", adapter)
    return [Row("5", f"streamed chat of a 50 MiB answer, never read (write timeout "
                     f"{WRITE_TIMEOUT:g} s)", status,
                [f"after {SLOW_READER_WAIT:g} s: `adapter_streams_in_flight` {in_flight}",
                 f"upstream stream still open: {'yes' if stats['open_streams'] else 'no'} "
                 f"(fake sent {mib(stats['big_sent_bytes'])})",
                 f"adapter closed the client connection: {'yes' if closed else 'no'}"],
                measured)]


# --- 6. store growth ----------------------------------------------------------------------------

TURNS = 20


def store_files(path: str) -> tuple[int, int]:
    """Bytes of the store's main file and of its -wal file."""
    sizes = [os.path.getsize(p) if os.path.exists(p) else 0 for p in (path, f"{path}-wal")]
    return sizes[0], sizes[1]


async def store_growth(bench: Bench) -> list[Row]:
    words = "The quick brown fox jumps over the lazy dog. "
    first = words * (2 * MIB // len(words))
    with bench.adapter("store") as adapter:
        path = str(adapter.log_path.parent / "responses.sqlite3")
        statuses = []
        async with client(adapter) as http, measuring(adapter) as measured:
            answer = await call(http, "POST", "/v1/responses", 60,
                                json={"model": MODEL, "input": first, "store": True})
            statuses.append(answer.status)
            for turn in range(TURNS):
                if answer.response is None or answer.response.status_code != 200:
                    break
                previous = answer.response.json()["id"]
                answer = await call(http, "POST", "/v1/responses", 60,
                                    json={"model": MODEL, "previous_response_id": previous,
                                          "input": f"Turn {turn + 1}: go on.", "store": True})
                statuses.append(answer.status)
        main, wal = store_files(path)
        mode = f"{stat.S_IMODE(os.stat(path).st_mode):04o}" if os.path.exists(path) else "—"
        status = with_crash(tally(statuses), adapter)
    return [Row("6", f"{mib(len(first))} first message, continued {TURNS} times with "
                     "`previous_response_id`", status,
                [f"store on disk {mib(main + wal)} (file {mib(main)}, -wal {mib(wal)})",
                 f"file mode {mode}", f"time {measured.seconds:.2f} s"], measured)]


# --- 7. 500s on bad input, and a key inside a stream ---------------------------------------------


def with_image(url: str) -> dict[str, Any]:
    return chat(stream=False, content=[{"type": "text", "text": "What is this?"},
                                       {"type": "image_url", "image_url": {"url": url}}])


BAD_INPUTS: list[tuple[str, str, dict[str, Any]]] = [
    ("100 KB model name", CHAT, chat(stream=False, model="m" * 100_000)),
    ("image_url `http://0177.0.0.1/`", CHAT, with_image("http://0177.0.0.1/")),
    ("image_url `http://[::1/`", CHAT, with_image("http://[::1/")),
    ("image_url of 70 KB (`http://aaa…a.example/`)", CHAT,
     with_image("http://" + "a" * 70_000 + ".example/")),
    ("Responses input item with an extra field nested 300 deep", "/v1/responses",
     {"model": MODEL, "input": [{"type": "message", "role": "user", "content": "Hi",
                                 "extra": deep(300)}]}),
]


async def bad_input(bench: Bench) -> list[Row]:
    rows = []
    with bench.adapter("bad-input") as adapter:
        async with client(adapter) as http:
            for label, path, body in BAD_INPUTS:
                await bench.reset_upstream()
                async with measuring(adapter) as measured:
                    answer = await call(http, "POST", path, 30, **as_json(body))
                calls = len((await bench.upstream_stats())["bodies"])
                rows.append(Row("7", label, with_crash(answer.status, adapter),
                                [*param_of(answer), f"upstream called: {calls}"], measured))
            async with measuring(adapter) as measured:
                answer = await call(http, "POST", CHAT, 30, json=chat(model="gemini-leak"))
            text = answer.response.text if answer.response is not None else ""
            rows.append(Row("7", "error event echoing the Gemini key inside a 200 stream",
                            with_crash(answer.status, adapter),
                            [f"key in the client's body: {'yes' if SERVER_KEY in text else 'no'}",
                             f"error event passed on: {'yes' if 'error' in text else 'no'}"],
                            measured))
    return rows


# --- 8. isolation of stored responses -------------------------------------------------------------


async def isolation(bench: Bench) -> list[Row]:
    """Pass-through mode (no GEMINI_API_KEY): the client's key is its Gemini key."""
    key_a = {"authorization": "Bearer AIzaSyTenantA-0000000000000000000000000"}
    key_b = {"authorization": "Bearer AIzaSyTenantB-0000000000000000000000000"}
    with bench.adapter("isolation", GEMINI_API_KEY="") as adapter:
        async with httpx.AsyncClient(base_url=adapter.url) as http, \
                measuring(adapter) as measured:
            created = await call(http, "POST", "/v1/responses", 30, headers=key_a,
                                 json={"model": MODEL, "input": "My secret plan.", "store": True})
            if created.response is None or created.response.status_code != 200:
                return [Row("8", "response created with key A",
                            with_crash(created.status, adapter), [], measured)]
            rid = created.response.json()["id"]
            item = f"/v1/responses/{rid}"
            checks = [("GET, key B", "GET", item, key_b, None),
                      ("GET, no Authorization", "GET", item, {}, None),
                      ("GET input_items, key B", "GET", f"{item}/input_items", key_b, None),
                      ("continue with `previous_response_id`, key B", "POST", "/v1/responses",
                       key_b, {"model": MODEL, "input": "And?", "previous_response_id": rid}),
                      ("continue from a made-up id, key B", "POST", "/v1/responses", key_b,
                       {"model": MODEL, "input": "And?", "previous_response_id": f"{rid}0"}),
                      ("GET a made-up id, key B", "GET", f"{item}0", key_b, None),
                      ("DELETE, key B", "DELETE", item, key_b, None),
                      ("GET, key A (the owner), afterwards", "GET", item, key_a, None)]
            seen = []
            for label, method, path, headers, body in checks:
                answer = await call(http, method, path, 30, headers=headers, json=body)
                seen.append(f"{label}: {with_crash(answer.status, adapter)}")
    return [Row("8", "response stored with key A (pass-through mode), then asked for by others",
                f"create: {created.status}", seen, measured)]


SCENARIOS: dict[str, Scenario] = {
    "1": leaked_slots, "2": schema_bomb_request, "3": image_urls, "4": image_edit,
    "5": slow_reader, "6": store_growth, "7": bad_input, "8": isolation,
}
