"""Every step's rules in one place: `SPECS` maps each `Step` to its `StepSpec` (flows/spec.py).

Theory of operation: the intake's steps take their answers into the draft (flows/intake.py says
what each answer may be); the review saves the question and offers the people who fit it; the
request's steps are in flows/request_steps.py and the case detours in flows/case_steps.py. The
/language menu and /contacts are detours over whatever step was open.
"""

from __future__ import annotations

from flows import cards, case_steps, intake, matching, request, request_steps, safety, suggest
from flows.asking import ask, reply, resume, say
from flows.intake import CHANGEABLE, FIELD_NAMES
from flows.model import Env, LogQuestion, SetLanguage, SetQuestionWijk, Transition, User
from flows.spec import Part, Prompt, Refusal, StepSpec, Taken
from flows.state import Conversation, Draft, Saved, Step
from flows.terms import Scope
from flows.text import Text, lang, layout, ltr, plain, t

# ---- the intake ---------------------------------------------------------------------------


def advance(state: Conversation, user: User, draft: Draft, env: Env) -> Transition:
    """Take an accepted answer: the safety reply first when a child is in danger, then the next step
    (flows/safety.py decides who is alerted, at the danger answer or once the postcode is known)."""
    if state.step is Step.POSTCODE:
        alerts, told, draft = safety.on_postcode(user, env, draft)
        moved = ask(state, user, env, intake.next_step(draft), *told, draft=draft)
        return moved.model_copy(update={"messages": (*alerts, *moved.messages)})
    if not (state.step is Step.DANGER and draft.urgent):
        return ask(state, user, env, intake.next_step(draft), draft=draft)
    # The safety text stands alone, first, so it is not lost above the next question.
    first, draft = safety.on_danger(user, env, draft)
    moved = ask(state, user, env, intake.next_step(draft), t("Thank you. Let us go on with the question."), draft=draft)
    return moved.model_copy(update={"messages": (*first, *moved.messages)})


def _intake(step: Step) -> StepSpec:
    """A step of the intake: flows/intake.py says what it asks and what an answer may be."""
    field = intake.STEPS[step]

    def prompt(state: Conversation, user: User, env: Env) -> Prompt:
        return Prompt((field.prompt(),), field.options(), field.per_row)

    def take_choice(state: Conversation, user: User, env: Env, value: str) -> Taken:
        answer = field.take_choice(state.draft or Draft(), value)
        return answer if isinstance(answer, Refusal) else advance(state, user, answer, env)

    if field.take_text is None:
        return StepSpec(prompt=prompt, take_choice=take_choice)
    take = field.take_text

    def take_text(state: Conversation, user: User, env: Env, text: str) -> Taken:
        assert state.draft is not None
        answer = take(state.draft, text, env)
        return answer if isinstance(answer, Refusal) else advance(state, user, answer, env)

    return StepSpec(prompt=prompt, take_choice=take_choice, take_text=take_text, typed=True)


# ---- the review, and what follows saving ----------------------------------------------------


def _review_prompt(state: Conversation, user: User, env: Env) -> Prompt:
    assert state.draft is not None
    options = [("save", t("Save")), ("change", t("Change something")), ("cancel", t("Cancel"))]
    if state.draft.urgent:
        options.insert(2, safety.review_option())
    return Prompt((t("Please check the question:"), tuple(intake.summary(state.draft))), options, 1)


def _review(state: Conversation, user: User, env: Env, value: str) -> Taken:
    draft = state.draft
    assert draft is not None
    if value == "cancel":
        return cancel(state, user)
    if value == "change":
        return ask(state, user, env, Step.CHANGE)
    if value == "not_urgent":
        messages, told, corrected = safety.correct(user, env, draft)
        moved = ask(state, user, env, Step.REVIEW, *told, draft=corrected)
        return moved.model_copy(update={"messages": (*messages, *moved.messages)})
    wijk = env.directory.wijk_by_pc4.get(draft.pc4 or "")
    effect = LogQuestion(
        code=env.new_code,
        volunteer_id=user.id,
        org_id=user.org_id or "",
        urgent=bool(draft.urgent),
        theme=draft.theme or "other",
        age_group=draft.age_group or "",
        parent_language=draft.parent_language or "",
        pc4=draft.pc4 or "",
        wijk=wijk,
        text=draft.text or "",
        created_at=env.now,
        text_language=user.language,  # the language the volunteer writes in (docs/handover.md)
    )
    saved = Saved(
        code=env.new_code, theme=effect.theme, parent_language=effect.parent_language, urgent=effect.urgent, wijk=wijk,
        text_language=user.language,
    )
    done = t("Saved. The question code is {code}; use it when you talk about this question.", code=ltr(env.new_code))
    if wijk is not None:
        return offer(state, user, env, saved, done).model_copy(update={"effects": (effect,)})
    if not env.directory.wijken:
        message = say(user, done, *suggest.services(saved, env), t("Send /new to log another question."))
        return Transition(state=Conversation(token=state.token + 1), messages=(message,), effects=(effect,))
    unknown = t(
        "I do not know postcode {postcode}: it may be outside the city, or new.",
        postcode=ltr(draft.pc4 or ""),
    )
    moved = ask(Conversation(token=state.token), user, env, Step.PICK_WIJK, done, unknown, saved=saved)
    return moved.model_copy(update={"effects": (effect,)})


def _change_prompt(state: Conversation, user: User, env: Env) -> Prompt:
    options = [(s.value, FIELD_NAMES[s]) for s in CHANGEABLE] + [("back", t("Back to the summary"))]
    return Prompt((t("What do you want to change?"),), options, 2)


def _change(state: Conversation, user: User, env: Env, value: str) -> Taken:
    return ask(state, user, env, Step.REVIEW if value == "back" else Step(value))


def offer(state: Conversation, user: User, env: Env, saved: Saved, *before: Text, alert: bool = True) -> Transition:
    """The best people for a saved question, and the offer to ask one of them for a handover.
    An urgent question also reaches the wijkteam's coordinator now (once: `alert`)."""
    wijk = env.directory.wijk(saved.wijk or "")
    assert wijk is not None
    parts = [*before, *suggest.suggestions(saved, wijk, env)]
    alerts = []
    if saved.urgent and alert:
        org = env.directory.organisation_name(user.org_id)
        org_alerted = safety.org_scope(user) in env.alertable
        alerts = [  # only to a team that has a coordinator now: an alert must not wait unseen
            safety.urgent_alert(team.id, saved.code, wijk.name, saved.theme, org, org_alerted, user.id)
            for team in env.directory.teams_by_wijk.get(wijk.code, ())
            if str(Scope.team(team.id)) in env.alertable
        ]
    offered = Conversation(token=state.token, saved=saved)
    if request.reachable_matches(offered, env):
        moved = ask(offered, user, env, Step.SUGGESTED, *parts)
    else:
        found = matching.rank(
            env.directory, wijk.code, saved.theme, saved.parent_language, env.today, env.open_handovers
        )
        tail = [request.unreachable_note()] if found else []
        moved = reply(Conversation(token=state.token + 1), user, *parts, *tail, t("Send /new to log another question."))
    return moved.model_copy(update={"messages": (*alerts, *moved.messages)})


def _pick_wijk_prompt(state: Conversation, user: User, env: Env) -> Prompt:
    options = [*suggest.wijk_options(env), ("unknown", t("I do not know"))]
    return Prompt((t("Which wijk does the family live in?"),), options, 2)


def _picked_wijk(state: Conversation, user: User, env: Env, value: str) -> Taken:
    saved = state.saved
    assert saved is not None
    cleared = Conversation(token=state.token + 1)
    if value == "unknown":
        return reply(
            cleared,
            user,
            t("Then ask the family which neighbourhood they live in, or look through the wijkteams with /contacts."),
            *suggest.services(saved, env),
        )
    effect = SetQuestionWijk(code=saved.code, org_id=user.org_id or "", wijk=value)
    moved = offer(state, user, env, saved.model_copy(update={"wijk": value}))
    return moved.model_copy(update={"effects": (effect, *moved.effects)})


def question_line(saved: Saved, env: Env) -> Text:
    wijk = env.directory.wijk(saved.wijk or "")
    return layout(
        "{code} · {theme} · {wijk}",
        code=ltr(saved.code),
        theme=intake.THEMES.get(saved.theme, intake.THEMES["other"]),
        wijk=wijk.name if wijk else t("wijk unknown"),
    )


def _pick_question_prompt(state: Conversation, user: User, env: Env) -> Prompt:
    options = [(q.code, question_line(q, env)) for q in env.my_questions]
    return Prompt((t("Which question do you want to ask someone about?"),), options, 1)


def _picked_question(state: Conversation, user: User, env: Env, code: str) -> Taken:
    """A saved question picked from /cases: its contacts, ranked as right after the intake, and
    the usual request; its urgent alert went out when it was saved."""
    saved = next(q for q in env.my_questions if q.code == code)
    fresh = Conversation(token=state.token, saved=saved)
    chosen = t("For question {code}:", code=ltr(saved.code))
    if env.directory.wijk(saved.wijk or "") is not None:
        return offer(fresh, user, env, saved, chosen, alert=False)
    if env.directory.wijken:
        return ask(fresh, user, env, Step.PICK_WIJK, chosen)
    return reply(Conversation(token=state.token + 1), user, chosen, *suggest.services(saved, env))


# ---- leaving, the language, the directory -----------------------------------------------------


def cancel(state: Conversation, user: User) -> Transition:
    cleared = Conversation(token=state.token + 1)  # drops the draft, and a request's parent details
    if state.draft is None:
        if state.request is not None:
            return reply(cleared, user, t("Cancelled: nothing was sent."))
        return reply(cleared, user, t("There is nothing to cancel."))
    lines = intake.summary(state.draft)
    parts: list[Part] = []
    if lines:
        parts += [t("Cancelled. These answers were discarded; nothing was saved:"), tuple(lines)]
    else:
        parts.append(t("Cancelled. Nothing was saved."))
    if (note := safety.cancel_note(state.draft)) is not None:
        parts.append(note)
    parts.append(t("Send /new to start again."))
    return reply(cleared, user, *parts)


def set_language(state: Conversation, user: User, env: Env, code: str) -> Transition:
    effect = SetLanguage(user_id=user.id, language=code)
    user = user.model_copy(update={"language": code})
    # TRANSLATORS: {language} is the language's name as Babel writes it in this language
    # (e.g. "Turks" in Dutch). Phrase the sentence so that the plain name fits.
    done = t("From now on I will write to you in this language: {language}.", language=lang(code))
    return resume(state, user, env, done).model_copy(update={"effects": (effect,)})


def _language_prompt(state: Conversation, user: User, env: Env) -> Prompt:
    return Prompt((t("Choose your language:"),), [(code, plain(lang(code, own=True))) for code in env.languages], 3)


def wijk_contacts(code: str, env: Env) -> list[Part]:
    """/contacts for one wijk: its team(s) and everyone in them."""
    wijk = env.directory.wijk(code)
    assert wijk is not None
    parts: list[Part] = [t("The wijkteam of {wijk}:", wijk=wijk.name)]
    for team in env.directory.teams_by_wijk.get(code, ()):
        parts.append(cards.team_card(team))
        parts.extend(cards.person_card(c, env.today) for c in env.directory.contacts_by_team.get(team.id, ()))
    return parts


def _browse_prompt(state: Conversation, user: User, env: Env) -> Prompt:
    return Prompt((t("Which wijk do you want to see?"),), suggest.wijk_options(env), 2)


def _browsed(state: Conversation, user: User, env: Env, value: str) -> Taken:
    return resume(state, user, env, *wijk_contacts(value, env))


SPECS: dict[Step, StepSpec] = {
    **{step: _intake(step) for step in intake.ORDER},
    Step.REVIEW: StepSpec(prompt=_review_prompt, take_choice=_review),
    Step.CHANGE: StepSpec(prompt=_change_prompt, take_choice=_change),
    Step.PICK_WIJK: StepSpec(prompt=_pick_wijk_prompt, take_choice=_picked_wijk),
    Step.PICK_QUESTION: StepSpec(prompt=_pick_question_prompt, take_choice=_picked_question),
    Step.LANGUAGE: StepSpec(prompt=_language_prompt, take_choice=set_language, detour=True, menu=True),
    Step.BROWSE: StepSpec(prompt=_browse_prompt, take_choice=_browsed, detour=True),
    **request_steps.SPECS,
    **case_steps.SPECS,
}
assert set(SPECS) == set(Step), set(Step) - set(SPECS)


def spec_of(step: Step) -> StepSpec:
    return SPECS[step]
