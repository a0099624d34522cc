"""A press on a case's button, and the detours it opens (a decline's reason, a message to relay).

Who may do what is flows/case_rules.py's table; what each action does to the case, and who hears
what, is flows/cases.py. Answering a question about a case, or giving a decline reason, is a
detour: afterwards the step that was open is asked again.
"""

from __future__ import annotations

from flows import case_rules, cases, intake, request
from flows.asking import ask, detour, expired, reply, resume, say
from flows.model import Env, Transition, User
from flows.spec import Prompt, Refusal, StepSpec, Taken
from flows.state import Conversation, Request, Saved, Step
from flows.text import ltr, t, tn


def case_action(state: Conversation, user: User, case: cases.Case, action: str, version: int, env: Env) -> Transition:
    """A press on a case's button: what the table (flows.case_rules.TABLE) lets this side of the case
    do now, or a notice and nothing changed."""
    if version != case.version:
        return Transition(state=state, notice=expired())
    role = case_rules.role_of(user.id, case)
    if action not in case_rules.allowed(case, role):
        return Transition(state=state, notice=case_rules.not_allowed(case))
    if action == "show":
        return _show_case(state, user, case, role)
    if action == "note":
        return detour(state, user, env, Step.NOTE_TEXT, case_id=case.id)
    if action == "accept":
        messages, effects = cases.accept(case, env.now)
        return Transition(state=state, messages=tuple(messages), effects=tuple(effects), chosen=t("Accept"))
    if action == "decline":
        return detour(state, user, env, Step.DECLINE_REASON, case_id=case.id)
    if action in ("contact_made", "close"):
        status = "closed" if action == "close" else action
        messages, effects = cases.progress(case, env.now, status)
        chosen = t("Contact made") if action == "contact_made" else t("Closed")
        return Transition(state=state, messages=tuple(messages), effects=tuple(effects), chosen=chosen)
    if action == "withdraw":
        confirm = case_rules.button(case, "withdraw_yes", t("Yes, withdraw consent"))
        ask_ = t("Withdraw the parent's consent for {case}? Their details are erased at once and {name} is told.", case=ltr(case.id), name=case.contact_name)
        return Transition(state=state, messages=(say(user, ask_, buttons=((confirm,),)),))
    if action == "withdraw_yes":
        messages, effects = cases.withdraw(case, env.now)
        return Transition(state=state, messages=tuple(messages), effects=tuple(effects), chosen=t("Yes, withdraw consent"))
    assert action == "next" and case.question_code
    return _ask_someone_else(state, user, case, env)


def _ask_someone_else(state: Conversation, user: User, case: cases.Case, env: Env) -> Transition:
    assert case.question_code
    saved = Saved(
        code=case.question_code, theme=case.theme, parent_language=case.parent_language, urgent=case.urgent, wijk=case.wijk,
        text_language=case.question_language,
    )
    follow = Request(
        contact_id="", previous_id=case.id, has_details=case.parent is not None, excluded=(case.contact_id,),
        short_text=case.short_text, short_language=case.short_language,
    )
    offered = Conversation(token=state.token, saved=saved, request=follow)
    if not request.reachable_matches(offered, env):
        return reply(state, user, t("There is nobody else in this wijkteam who uses Wijkbrug and is available. Use /contacts to call someone directly."))
    return ask(offered, user, env, Step.SUGGESTED).model_copy(update={"chosen": t("Ask someone else")})


def _show_case(state: Conversation, user: User, case: cases.Case, role: str) -> Transition:
    if role == case_rules.MEMBER:
        return Transition(state=state, messages=(cases.to_member(case),))
    head = cases.summary_line(case)
    return Transition(state=state, messages=(say(user, head, cases._about(case), buttons=case_rules.buttons_for(case, role)),))


# ---- the detours about a case -------------------------------------------------------------


def _decline(state: Conversation, user: User, env: Env, reason: str, text: str | None) -> Transition:
    case = env.case
    if case is None or "decline" not in case_rules.allowed(case, case_rules.role_of(user.id, case)):
        return resume(state, user, env, t("This request has already been answered."))
    messages, effects = cases.decline(case, env.now, reason, text)
    resumed = resume(state, user, env)
    return resumed.model_copy(update={"messages": (*messages, *resumed.messages), "effects": tuple(effects)})


def _reason_prompt(state: Conversation, user: User, env: Env) -> Prompt:
    return Prompt((t("Why can you not take {case}?", case=ltr(state.case_id or "")),), list(cases.DECLINE_REASONS.items()), 1)


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
                "Your message is {n} character too long: at most {limit} fit. Nothing was passed on; please shorten it and send it again.",
                "Your message is {n} characters too long: at most {limit} fit. Nothing was passed on; please shorten it and send it again.",
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
    if case is None or "note" not in case_rules.allowed(case, case_rules.role_of(user.id, case)):
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
