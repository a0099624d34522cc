"""Running a group of tasks that are meant to run until the process stops: the bot, a channel, its loops."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from typing import Any

Jobs = Mapping[str, Coroutine[Any, Any, Any]]


async def until_one_ends(forever: Jobs, helpers: Jobs | None = None) -> None:
    """Run `forever` (by name) until one of them ends, then cancel all of them and `helpers` (jobs
    that may end by themselves, such as publishing a menu once) and wait until they have stopped.

    None of `forever` is meant to end: one that raises stops the rest and its exception is raised
    here; one that returns stops the rest too (a channel that quietly stopped would leave its people
    unanswered). Cancelling this coroutine (Ctrl-C, SIGTERM) cancels them all the same way."""
    running = [asyncio.create_task(job, name=name) for name, job in forever.items()]
    extra = [asyncio.create_task(job, name=name) for name, job in (helpers or {}).items()]
    try:
        if running:
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
    finally:
        for task in (*running, *extra):
            task.cancel()
        await asyncio.gather(*running, *extra, return_exceptions=True)
