"""When a person leaves Wijkbrug: their access revoked, or their account erased.

What happens to each of a member's open cases is decided in flows (`flows.cases.member_left`:
back to the team's coordinator, the volunteer told and offered someone else, the timers
stopped); this module carries it out with the runner, in the caller's transaction, and forgets
what still waited in the outbox for the person who left. From then on nothing is delivered to
them: the runner's `_deliver` skips a revoked account, an erased one no longer exists, and the
delivery worker sends no call whose row was dropped (even one it had already taken up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from db import cases as stored_cases
from db import outbox, privacy, users
from db.connection import transaction
from flows import cases

if TYPE_CHECKING:
    from bot.runner import Runner


async def hand_on(runner: Runner, user_id: int) -> int:
    """Hand on every open case whose member is `user_id`; returns how many (inside a transaction)."""
    handed = 0
    assert runner.vault is not None
    for record in await stored_cases.of_member(runner.conn, user_id, cases.OPEN, runner.vault):
        view = await runner.case(record.id)
        if view is None:
            continue
        messages, effects = cases.member_left(view, runner.clock())
        await runner._apply(tuple(effects))
        for message in messages:
            await runner._deliver(message)
        handed += 1
    return handed


async def _drop_waiting(runner: Runner, user_id: int) -> int:
    """Forget what still waits in the outbox for any of the person's addresses."""
    dropped = 0
    for address in await users.addresses(runner.conn, user_id):
        dropped += await outbox.drop_chat(runner.conn, address.channel, address.address)
    return dropped


async def revoke(runner: Runner, user_id: int) -> bool:
    """End an account's access: their open cases are handed on and nothing more reaches them."""
    now = runner.clock()
    async with transaction(runner.conn):
        if not await users.revoke(runner.conn, user_id, now):
            return False
        await _drop_waiting(runner, user_id)
        await hand_on(runner, user_id)
        await privacy.audit(runner.conn, "operator", "revoke", f"user:{user_id}", now)
    return True


async def erase(runner: Runner, user_id: int) -> privacy.Erased | None:
    """Erase a person's account after handing on their open cases, in one transaction; what
    still waited in the outbox for them goes too (it holds case content)."""
    now = runner.clock()
    async with transaction(runner.conn):
        if await users.get(runner.conn, user_id) is None:
            return None
        handed = await hand_on(runner, user_id)
        dropped = await _drop_waiting(runner, user_id)
        erased = await privacy.erase_user(runner.conn, user_id, now)
    assert erased is not None
    if handed:
        erased.items.append(f"{handed} open request(s) handed to the wijkteam's coordinator")
    if dropped:
        erased.items.append(f"{dropped} message(s) not yet sent to them")
    return erased
