"""A press on a case's button, and the detours it opens (a decline's reason, a message to relay).

Who may do what is flows/case_rules.py's table; what each action does to the case, and who hears
what, is flows/cases.py. Answering a question about a case, or giving a decline reason, is a
detour: afterwards the step that was open is asked again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flows import case_rules, cases, intake, request
from flows.asking import ask, detour, expired, reply, resume, say
from flows.model import Effect, Env, Message, Transition, User
from flows.spec import Prompt, Refusal, StepSpec, Taken
from flows.state import Conversation, Request, Saved, Step
from flows.terms import CaseAction, CaseStatus, Side
from flows.text import Text, ltr, t, tn


def case_action(state: Conversation, user: User, case: cases.Case, action: str, version: int, env: Env) -> Transition:
    """A press on a case's button: what the table (flows.case_rules.TRANSITIONS) lets this side of
    the case do now, or a notice and nothing changed."""
    if version != case.version:
        return Transition(state=state, notice=expired())
    side = case_rules.side_of(user.id, case)
    try:
        after = case_rules.move(case, side, action)
    except case_rules.NotAllowed:
        return Transition(state=state, notice=case_rules.not_allowed(case))
    done = _DONE.get(CaseAction(action))
    if after is not None and done is not None:  # the case moves on now
        messages, effects = _MOVES[CaseAction(action)](case, env.now, after)
        return Transition(state=state, messages=tuple(messages), effects=tuple(effects), chosen=done)
    if action == CaseAction.SHOW:
        return _show_case(state, user, case, side)
    if action in (CaseAction.NOTE, CaseAction.DECLINE):  # a detour: the message, or the reason first
        return detour(
            state, user, env, Step.NOTE_TEXT if action == CaseAction.NOTE else Step.DECLINE_REASON, case_id=case.id
        )
    if action == CaseAction.WITHDRAW:
        confirm = case_rules.button(case, CaseAction.WITHDRAW_YES, t("Yes, withdraw consent"))
        ask_ = t(
            "Withdraw the parent's consent for {case}? Their details are erased at once and {name} is told.",
            case=ltr(case.id),
            name=case.contact_name,
        )
        return Transition(state=state, messages=(say(user, ask_, buttons=((confirm,),)),))
    assert action == CaseAction.NEXT
    return _ask_someone_else(state, user, case, env)


Moved = tuple[list[Message], list[Effect]]
# What an action that moves the case on does, and how the pressed button is labelled afterwards.
_MOVES: dict[CaseAction, Callable[[cases.Case, datetime, CaseStatus], Moved]] = {
    CaseAction.ACCEPT: lambda case, now, after: cases.accept(case, now),
    CaseAction.CONTACT_MADE: cases.progress,
    CaseAction.CLOSE: cases.progress,
    CaseAction.WITHDRAW_YES: lambda case, now, after: cases.withdraw(case, now),
}
_DONE: dict[CaseAction, Text] = {
    CaseAction.ACCEPT: t("Accept"),
    CaseAction.CONTACT_MADE: t("Contact made"),
    CaseAction.CLOSE: t("Closed"),
    CaseAction.WITHDRAW_YES: t("Yes, withdraw consent"),
}


def _ask_someone_else(state: Conversation, user: User, case: cases.Case, env: Env) -> Transition:
    assert case.question_code
    saved = Saved(
        code=case.question_code, theme=case.theme, parent_language=case.parent_language, urgent=case.urgent,
        wijk=case.wijk, text_language=case.question_language,
    )
    follow = Request(
        contact_id="", previous_id=case.id, has_details=case.parent is not None, excluded=(case.contact_id,),
        short_text=case.short_text, short_language=case.short_language,
    )
    offered = Conversation(token=state.token, saved=saved, request=follow)
    if not request.reachable_matches(offered, env):
        return reply(
            state,
            user,
            t(
                "There is nobody else in this wijkteam who uses Wijkbrug "
                "and is available. Use /contacts to call someone directly."
            ),
        )
    return ask(offered, user, env, Step.SUGGESTED).model_copy(update={"chosen": t("Ask someone else")})


def _show_case(state: Conversation, user: User, case: cases.Case, side: Side) -> Transition:
    if side is Side.MEMBER:
        return Transition(state=state, messages=(cases.to_member(case),))
    head = cases.summary_line(case)
    return Transition(
        state=state, messages=(say(user, head, cases._about(case), buttons=case_rules.buttons_for(case, side)),)
    )


# ---- the detours about a case -------------------------------------------------------------


def _decline(state: Conversation, user: User, env: Env, reason: str, text: str | None) -> Transition:
    case = env.case
    if case is None or not case_rules.may(case, user.id, CaseAction.DECLINE):
        return resume(state, user, env, t("This request has already been answered."))
    messages, effects = cases.decline(case, env.now, reason, text)
    resumed = resume(state, user, env)
    return resumed.model_copy(update={"messages": (*messages, *resumed.messages), "effects": tuple(effects)})


def _reason_prompt(state: Conversation, user: User, env: Env) -> Prompt:
    return Prompt(
        (t("Why can you not take {case}?", case=ltr(state.case_id or "")),), list(cases.DECLINE_REASONS.items()), 1
    )


def _reason(state: Conversation, user: User, env: Env, value: str) -> Taken:
    if value == "other":
        return ask(state, user, env, Step.DECLINE_TEXT)
    return _decline(state, user, env, value, None)


def _typed_message(raw: str) -> str | Refusal:
    """A message someone typed about a case; never cut: too long, they shorten it."""
    text = intake.clean_text(raw)
    if not text:
        return Refusal(t("Please type your message."))
    if len(text) > intake.QUESTION_LIMIT:
        return Refusal(
            tn(
                "Your message is {n} character too long: at most {limit} fit. "
                "Nothing was passed on; please shorten it and send it again.",
                "Your message is {n} characters too long: at most {limit} fit. "
                "Nothing was passed on; please shorten it and send it again.",
                len(text) - intake.QUESTION_LIMIT,
                limit=intake.QUESTION_LIMIT,
            )
        )
    return text


def _reason_text(state: Conversation, user: User, env: Env, raw: str) -> Taken:
    text = _typed_message(raw)
    return text if isinstance(text, Refusal) else _decline(state, user, env, "other", text)


def _note_text(state: Conversation, user: User, env: Env, raw: str) -> Taken:
    text = _typed_message(raw)
    if isinstance(text, Refusal):
        return text
    case = env.case
    if case is None or not case_rules.may(case, user.id, CaseAction.NOTE):
        return resume(state, user, env, t("This request is closed; your message was not passed on."))
    resumed = resume(state, user, env, t("Passed on."))
    relayed, effects = cases.relay(case, user.id == case.member_id, text, env.now, user.language)
    return resumed.model_copy(update={"messages": (*relayed, *resumed.messages), "effects": tuple(effects)})


def _please_type(state: Conversation, user: User, env: Env, attachment: object) -> Taken:
    return Refusal(t("Please type your message."))


def _no_choice(state: Conversation, user: User, env: Env, value: str) -> Taken:
    return Refusal(t("Please type your message."))  # no options: never reached


def _decline_text_prompt(state: Conversation, user: User, env: Env) -> Prompt:
    return Prompt((t("Please type the reason in a few words; the volunteer will read it."),), [], 1)


def _note_text_prompt(state: Conversation, user: User, env: Env) -> Prompt:
    return Prompt((t("Type your message about {case}; I will pass it on.", case=ltr(state.case_id or "")),), [], 1)


SPECS: dict[Step, StepSpec] = {
    Step.DECLINE_REASON: StepSpec(prompt=_reason_prompt, take_choice=_reason, detour=True),
    Step.DECLINE_TEXT: StepSpec(
        prompt=_decline_text_prompt, take_choice=_no_choice, take_text=_reason_text, take_attachment=_please_type,
        typed=True, detour=True,
    ),
    Step.NOTE_TEXT: StepSpec(
        prompt=_note_text_prompt, take_choice=_no_choice, take_text=_note_text, take_attachment=_please_type,
        typed=True, detour=True,
    ),
}
