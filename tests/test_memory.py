"""The trimmer hands freed memory back after large requests, and only then."""

from __future__ import annotations

import asyncio

import pytest

from adapter import memory
from adapter.memory import LARGE_BODY, WINDOW, Trimmer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_small_bodies_are_not_worth_a_trim() -> None:
    trimmer = Trimmer(trim=lambda pad: 1, clock=Clock())
    trimmer.note(LARGE_BODY - 1)
    assert not trimmer.due()


def test_a_large_body_makes_trims_due_for_a_while() -> None:
    clock = Clock()
    trimmer = Trimmer(trim=lambda pad: 1, clock=clock)
    trimmer.note(LARGE_BODY)
    assert trimmer.due()
    clock.now += WINDOW - 0.5  # its request may still be running: keep trimming
    assert trimmer.due()
    clock.now += 1
    assert not trimmer.due()


async def test_run_trims_while_due(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "INTERVAL", 0.01)
    calls: list[int] = []
    trimmer = Trimmer(trim=lambda pad: calls.append(pad) or 1)
    async with trimmer.running():
        await asyncio.sleep(0.05)
        assert calls == []  # nothing large yet
        trimmer.note(64 * LARGE_BODY)
        for _ in range(100):
            if calls:
                break
            await asyncio.sleep(0.01)
    assert calls and set(calls) == {0}


def test_glibc_is_found_here() -> None:
    # The machines this runs on are glibc Linux; elsewhere the trimmer is a no-op.
    assert memory._malloc_trim() is not None
