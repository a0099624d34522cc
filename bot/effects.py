"""Storing what a flow decided: a registry from effect type to the handler that stores it, in the
transaction of the work that caused it. A flow returns the whole consequence of a step (the
request to a member and its reminder timers come back from the flow as messages and `Schedule`
effects), so a handler only stores; none decides anything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bot import rendering
from bot.context import Work
from db import cases as stored_cases
from db import directory as stored_directory
from db import questions, timers, users
from flows.model import (
    AddAttachment,
    ChangeCase,
    Effect,
    EraseParent,
    LogQuestion,
    OpenCase,
    RecordConsent,
    SaveParent,
    Schedule,
    SetAway,
    SetLanguage,
    SetQuestionWijk,
    Unschedule,
)
from flows.session import COMMAND_HELP, COMMANDS

E = TypeVar("E")
Handler = Callable[[Work, Any], Awaitable[None]]
HANDLERS: dict[type, Handler] = {}


def handles(kind: type[E]) -> Callable[[Callable[[Work, E], Awaitable[None]]], Callable[[Work, E], Awaitable[None]]]:
    def register(handler: Callable[[Work, E], Awaitable[None]]) -> Callable[[Work, E], Awaitable[None]]:
        HANDLERS[kind] = handler
        return handler

    return register


async def apply(work: Work, effects: tuple[Effect, ...] | list[Effect]) -> None:
    for effect in effects:
        await HANDLERS[type(effect)](work, effect)


@handles(SetLanguage)
async def _set_language(work: Work, effect: SetLanguage) -> None:
    await users.set_language(work.conn, effect.user_id, effect.language)
    work.forget(effect.user_id)
    fresh = await work.account(effect.user_id)
    if fresh is not None:  # the menu in the new language
        await rendering.publish_menu(work, fresh, COMMAND_HELP, COMMANDS[fresh.role])


@handles(SetQuestionWijk)
async def _set_question_wijk(work: Work, effect: SetQuestionWijk) -> None:
    await questions.set_wijk(work.conn, effect.org_id, effect.code, effect.wijk)


@handles(SetAway)
async def _set_away(work: Work, effect: SetAway) -> None:
    await stored_directory.set_away(work.conn, effect.contact_id, effect.until)


@handles(LogQuestion)
async def _log_question(work: Work, effect: LogQuestion) -> None:
    await questions.insert(work.conn, effect, work.core.vault)


@handles(RecordConsent)
async def _record_consent(work: Work, effect: RecordConsent) -> None:
    await stored_cases.record_consent(work.conn, effect)


@handles(SaveParent)
async def _save_parent(work: Work, effect: SaveParent) -> None:
    await stored_cases.save_parent(work.conn, effect, work.core.vault)


@handles(AddAttachment)
async def _add_attachment(work: Work, effect: AddAttachment) -> None:
    await stored_cases.add_attachment(work.conn, effect, work.core.vault)


@handles(OpenCase)
async def _open_case(work: Work, effect: OpenCase) -> None:
    await stored_cases.open_case(work.conn, effect, work.core.vault)


@handles(ChangeCase)
async def _change_case(work: Work, effect: ChangeCase) -> None:
    await stored_cases.change(work.conn, effect, work.core.vault)


@handles(EraseParent)
async def _erase_parent(work: Work, effect: EraseParent) -> None:
    await stored_cases.erase_parent(work.conn, effect.org_id, effect.question_code, effect.at)


@handles(Schedule)
async def _schedule(work: Work, effect: Schedule) -> None:
    await timers.schedule(work.conn, effect.timer, effect.case_id, effect.due_at)


@handles(Unschedule)
async def _unschedule(work: Work, effect: Unschedule) -> None:
    await timers.cancel(work.conn, effect.case_id, work.core.clock())
