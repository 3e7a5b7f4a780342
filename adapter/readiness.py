"""Readiness (`GET /ready`) and the drain that SIGTERM begins.

`/health` says the process is alive; `/ready` says whether a load balancer should send it new
requests: only once the lifespan has started, while the store and Redis (each when configured)
answer, and not after SIGTERM. On SIGTERM the replica drains: `/ready` fails at once, but the
listener stays open and requests are served for ADAPTER_DRAIN_DELAY seconds, long enough for the
load balancer's next checks to take the replica out; only then does uvicorn's own shutdown begin
(listener closed, ADAPTER_SHUTDOWN_GRACE for the streams in flight).

uvicorn installs its SIGTERM handler in each serving process (the only process, or each worker)
before the app's lifespan starts; `drain_on_sigterm`, called from the lifespan, puts itself in
front of that handler and hands the signal on after the delay. So the drain works the same with
one process and with `--workers N` (whose supervisor passes SIGTERM on to every worker).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .replies import JSONResponse

log = logging.getLogger("adapter")

CHECK_TIMEOUT = 2.0  # seconds a dependency may take to answer a readiness check
# What the readiness checks ping, each when the app's state has it: the name the answer gives
# it, and where it is in `app.state`. Each has an `async ping()` that raises (or answers False)
# when its server cannot be reached (and answers True when none is configured).
DEPENDENCIES = (("store", ("adapter", "store")), ("redis", ("fleet",)))


class Readiness:
    """This process's phase (starting, ready, draining) and the `GET /ready` endpoint."""

    def __init__(self, replica: str) -> None:
        self.replica = replica
        self.phase = "starting"

    def started(self) -> None:
        if self.phase == "starting":
            self.phase = "ready"

    def drain(self) -> None:
        self.phase = "draining"

    @property
    def draining(self) -> bool:
        return self.phase == "draining"

    async def endpoint(self, request: Request) -> Response:
        """GET /ready: 200 {"status": "ready"} or 503 with the reasons."""
        checks = await check_dependencies(request.app.state)
        reasons = [f"{name}: {result}" for name, result in checks.items() if result != "ok"]
        if self.phase != "ready":
            reasons.insert(0, self.phase)
        body: dict[str, Any] = {"status": "ready" if not reasons else "not_ready",
                                "replica": self.replica, "phase": self.phase, "checks": checks}
        if reasons:
            body["reasons"] = reasons
        return JSONResponse(body, status_code=503 if reasons else 200)


async def check_dependencies(state: object) -> dict[str, str]:
    """Each dependency in the app's `state` that can be pinged: "ok", or why not."""
    pings = {}
    for name, path in DEPENDENCIES:
        found = state
        for attribute in path:
            found = getattr(found, attribute, None)
        ping = getattr(found, "ping", None)
        if callable(ping):
            pings[name] = ping
    results = await asyncio.gather(*(_check(ping) for ping in pings.values()))
    return dict(zip(pings, results, strict=True))


async def _check(ping: Callable[[], Any]) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            answer = await ping()
    except TimeoutError:
        return f"unreachable (no answer within {CHECK_TIMEOUT:g} s)"
    except Exception as exc:  # whatever the driver raises: the server cannot be used now
        return f"unreachable ({type(exc).__name__})"
    return "unreachable" if answer is False else "ok"


def drain_on_sigterm(readiness: Readiness, delay: float) -> Callable[[], None] | None:
    """Put the drain in front of this process's SIGTERM handler (uvicorn's): the first SIGTERM
    fails readiness and hands the signal on `delay` seconds later; a second one hands it on at
    once. Returns the undo; None (nothing done) when `delay` is 0, outside the main thread, or
    with no Python handler to hand the signal to (not served by uvicorn)."""
    if delay <= 0 or threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return None
    loop = asyncio.get_running_loop()
    timer: list[asyncio.TimerHandle] = []

    def hand_on(sig: int) -> None:
        for pending in timer:
            pending.cancel()
        previous(sig, None)

    def begin(sig: int) -> None:
        log.info("SIGTERM: draining for %g s (/ready answers 503, requests are still served), "
                 "then shutting down", delay)
        timer.append(loop.call_later(delay, hand_on, sig))

    def handler(sig: int, frame: FrameType | None) -> None:
        # A signal handler may interrupt the loop anywhere: schedule through the thread-safe
        # door, which also wakes the loop.
        if readiness.draining:
            loop.call_soon_threadsafe(hand_on, sig)
            return
        readiness.drain()
        loop.call_soon_threadsafe(begin, sig)

    signal.signal(signal.SIGTERM, handler)

    def undo() -> None:
        if signal.getsignal(signal.SIGTERM) is handler:
            signal.signal(signal.SIGTERM, previous)

    return undo
