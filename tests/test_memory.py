"""Freed memory is given back to the system where the C library allows it, and never breaks the bot."""

from __future__ import annotations

import asyncio
import platform

import pytest

from bot import memory

HANG_GUARD = 20  # seconds; only stops a broken test from hanging, asserts nothing about speed


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_on_glibc_freed_memory_is_given_back() -> None:
    blocks = [bytearray(256 * 1024) for _ in range(64)]  # 16 MB, then freed
    del blocks
    assert memory.release() is True


def test_without_malloc_trim_it_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_TRIM", None)
    assert memory.release() is False
    looping = memory.keep_released(every=3600)
    try:
        with pytest.raises(StopIteration):  # done at its first step: it never waited for anything
            looping.send(None)
    finally:
        looping.close()


async def test_the_loop_releases_until_cancelled(monkeypatch: pytest.MonkeyPatch) -> None:
    """The third release cancels the loop (as the bot's shutdown does): it released each turn,
    with `malloc_trim(0)`, and ends cancelled right there, releasing nothing more."""
    loop = asyncio.get_running_loop()
    calls: list[int] = []

    def trim(pad: int) -> int:  # runs on a worker thread, as the real one does
        calls.append(pad)
        if len(calls) == 3:
            loop.call_soon_threadsafe(task.cancel)
        return 1

    monkeypatch.setattr(memory, "_TRIM", trim)
    task = asyncio.create_task(memory.keep_released(every=0))
    async with asyncio.timeout(HANG_GUARD):
        await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled() and calls == [0, 0, 0]
