"""When a person leaves Wijkbrug: their access revoked, or their account erased.

What happens to each of a member's open cases is decided in flows (`flows.case_followup.member_left`:
back to the team's coordinator, the volunteer told and offered someone else, the timers
stopped); this module carries it out, in one transaction, and forgets what still waited in the
outbox for the person who left, on every channel. From then on nothing is delivered to them:
rendering (bot/rendering.py) skips a revoked account, an erased one no longer exists, and the
delivery worker sends no message whose row was dropped (even one it had already taken up).
"""

from __future__ import annotations

from bot import effects, loading, rendering
from bot.context import Work
from bot.core import Core
from db import cases as stored_cases
from db import outbox, privacy, users, whatsapp
from db.connection import lock_everything, transaction
from flows import case_followup, cases


async def hand_on(work: Work, user_id: int) -> int:
    """Hand on every open case whose member is `user_id`; returns how many (inside a transaction)."""
    handed = 0
    core = work.core
    for record in await stored_cases.of_member(core.conn, user_id, cases.OPEN, core.vault):
        view = await loading.view(core, work, record)
        messages, done = case_followup.member_left(view, core.clock())
        await effects.apply(work, tuple(done))
        for message in messages:
            await rendering.deliver(work, message)
        handed += 1
    return handed


async def revoke(core: Core, user_id: int) -> bool:
    """End an account's access: their open cases are handed on and nothing more reaches them."""
    now = core.clock()
    async with transaction(core.conn):
        await lock_everything(core.conn)  # their cases, outbox and addresses, with nobody acting on them
        if await users.get(core.conn, user_id) is None or not await users.revoke(core.conn, user_id, now):
            return False
        await outbox.drop_person(core.conn, user_id)
        await whatsapp.forget_person(core.conn, user_id)
        await hand_on(Work(core), user_id)
        await privacy.audit(core.conn, "operator", "revoke", f"user:{user_id}", now)
    return True


async def erase(core: Core, user_id: int) -> privacy.Erased | None:
    """Erase a person's account after handing on their open cases, in one transaction; what
    still waited in the outbox for them goes too (it holds case content)."""
    now = core.clock()
    async with transaction(core.conn):
        await lock_everything(core.conn)
        if await users.get(core.conn, user_id) is None:
            return None
        handed = await hand_on(Work(core), user_id)
        dropped = await outbox.drop_person(core.conn, user_id)
        await whatsapp.forget_person(core.conn, user_id)  # before erase_user: it finds them by their addresses
        erased = await privacy.erase_user(core.conn, user_id, now)
    assert erased is not None
    if handed:
        erased.items.append(f"{handed} open request(s) handed to the wijkteam's coordinator")
    if dropped:
        erased.items.append(f"{dropped} message(s) not yet sent to them")
    return erased
