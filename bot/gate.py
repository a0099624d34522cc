"""Who gets in, and who may do what, decided before any flow runs: the one place where access is
granted. A stranger gets in only with a usable invite (otherwise one polite answer, and nothing of
them is kept); a revoked person is told so and nothing they send is acted on; a press on a case's
buttons is checked against flows.case_rules for this side of the case, and a refusal is audited.
"""

from __future__ import annotations

from bot import rendering
from bot.context import Work
from bot.updates import Inbound
from db import alerts, invites, privacy, users
from db.users import Account
from flows import access
from flows.cases import Case
from flows.model import Command, Transition, User
from flows.names import clean_name
from flows.session import COMMAND_HELP, COMMANDS
from flows.state import Conversation


async def stranger(work: Work, channel: str, inbound: Inbound) -> str:
    """Let someone in with a usable invite; otherwise answer politely and store nothing of them."""
    core = work.core
    event = inbound.event
    code = event.args if isinstance(event, Command) and event.name == "start" else ""
    invite = await invites.find_usable(work.conn, code, core.clock()) if code else None
    if invite is None:
        if not core.flood.may_refuse(inbound.chat_id, core.flood.clock()):
            return "ignored"  # refused a moment ago: a stranger's flood gets one answer a minute
        language = core.catalogs.pick(inbound.language_code)
        await rendering.say_to(work, channel, inbound.chat_id, access.refuse_stranger(bool(code)), language)
        if inbound.pressed is not None:
            await rendering.answer_press(work, channel, inbound.chat_id, inbound.pressed.callback_id, None)
        return "refused"
    # The invite's language when the operator gave one (WhatsApp reports none), else the app's.
    given = invite.language if invite.language in core.catalogs.languages else None
    phone = None if given else inbound.language_code
    account = await users.create(
        work.conn,
        channel=channel,
        chat_id=inbound.chat_id,
        role=invite.role,
        org_id=invite.org_id,
        language=given or core.catalogs.pick(phone),
        display_name=clean_name(inbound.first_name),
        now=core.clock(),
        contact_id=invite.contact_id,
        team_id=invite.team_id,
    )
    work.remember(account)
    await invites.mark_used(work.conn, invite.code_hash, account.id, core.clock())
    await rendering.deliver(work, access.welcome(account.as_user(), await core.directory(), phone))
    await rendering.publish_menu(work, account, COMMAND_HELP, COMMANDS[account.role])
    if account.role == "coordinator":
        scope = f"team:{account.team_id}" if account.team_id else f"org:{account.org_id}"
        for held in await alerts.take(work.conn, scope):
            await rendering.deliver(work, held)
    return "registered"


async def known(work: Work, channel: str, inbound: Inbound, account: Account) -> str | None:
    """A registered person at the door: None to go on to their conversation, or what became of
    the update (a revoked person's, or a second invite)."""
    core = work.core
    if account.revoked_at:
        # Nothing of what a revoked person sends is acted on; they are told so, politely.
        await rendering.say_to(work, channel, inbound.chat_id, access.revoked(), account.language)
        if inbound.pressed is not None:
            await rendering.answer_press(work, channel, inbound.chat_id, inbound.pressed.callback_id, None)
        await privacy.refused(work.conn, f"user:{account.id}", "revoked", core.clock())
        return "refused"
    if account.unreachable_at and channel == account.channel:
        # They wrote again from the address that refused: they unblocked the bot. Acting on the web
        # page says nothing of an e-mail address a mail server refuses; only a delivery that
        # succeeds clears that (bot/email_send.py).
        await users.reachable_again(work.conn, account.id)
        work.forget(account.id)
    event = inbound.event
    if isinstance(event, Command) and event.name == "start" and event.args:
        await rendering.deliver(work, access.invite_not_used(account.as_user(), await core.directory()))
        return "handled"  # the invite stays unused: one chat, one account
    return None


async def may_press(
    work: Work, user: User, state: Conversation, case: Case | None, action: str, case_id: str
) -> Transition | None:
    """A press on a case's button: None if this side of the case may do `action` now (the table in
    flows.case_rules), else the refusal to answer with (audited; nothing else changes)."""
    if case is not None and access.may_act(user, case, action):
        return None
    await privacy.refused(work.conn, f"user:{user.id}", case_id, work.core.clock())
    return Transition(state=state, notice=access.refusal(user, case))
