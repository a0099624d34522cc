"""Freed memory is given back to the system where the C library allows it, and never breaks the bot."""

from __future__ import annotations

import asyncio
import platform

import pytest

from bot import memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_on_glibc_freed_memory_is_given_back() -> None:
    blocks = [bytearray(256 * 1024) for _ in range(64)]  # 16 MB, then freed
    del blocks
    assert memory.release() is True


async def test_without_malloc_trim_it_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_TRIM", None)
    assert memory.release() is False
    await asyncio.wait_for(memory.keep_released(every=0.01), timeout=1)  # returns at once


async def test_the_loop_releases_until_cancelled(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(memory, "_TRIM", lambda pad: calls.append(pad) or 1)
    task = asyncio.create_task(memory.keep_released(every=0.01))
    await asyncio.sleep(0.1)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert len(calls) >= 3 and set(calls) == {0}
