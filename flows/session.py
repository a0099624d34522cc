"""One step of a registered user's conversation: `step(state, user, input, env) -> Transition`.

Theory of operation: commands work from anywhere; a button press is first checked against the
token of the prompt it belongs to, so a press on an older prompt is answered "expired" and
changes nothing; anything else goes to the open step. Every answer a step refuses leaves the
state as it was and says why, in the user's language (the runner renders every `Text` for its
recipient after the effects are applied, so a language change is already visible in the reply
that confirms it). The /language and /contacts menus are detours: after them, the step that was
open is asked again.
"""

from __future__ import annotations

import re

from flows import cards, case_rules, cases, intake, matching, request, safety, suggest, summary
from flows.away import parse_day
from flows.intake import CHANGEABLE, FIELD_NAMES, STEPS
from flows.model import (
    Attachment,
    Button,
    Choice,
    Command,
    Env,
    EraseParent,
    Input,
    LogQuestion,
    Message,
    Role,
    Said,
    SetAway,
    SetLanguage,
    SetQuestionWijk,
    ToUser,
    Transition,
    Upload,
    User,
)
from flows.state import Conversation, Draft, Request, Saved, Step
from flows.text import Day, Text, lang, layout, ltr, plain, t, tn

COMMANDS: dict[Role, tuple[str, ...]] = {
    Role.VOLUNTEER: ("new", "cases", "contacts", "cancel", "language", "help"),
    Role.MEMBER: ("inbox", "contacts", "away", "back", "cancel", "language", "help"),
    Role.COORDINATOR: ("summary", "export", "contacts", "language", "help"),
}

COMMAND_HELP: dict[str, Text] = {
    "new": t("log a parent's question"),
    "cases": t("your requests and where they stand"),
    "inbox": t("the requests waiting for you"),
    "summary": t("the week's summary (also: /summary last, /summary 2026-W47)"),
    "export": t("the week's figures as a CSV file, without names"),
    "contacts": t("the wijkteams and their people, by wijk"),
    "away": t("say you are away until a date"),
    "back": t("say you are back"),
    "cancel": t("stop what you are doing; nothing is saved"),
    "language": t("choose your language"),
    "help": t("what I can do for you"),
}

TYPED = (*request.TYPED, Step.DECLINE_TEXT, Step.NOTE_TEXT)
DETOURS = (Step.LANGUAGE, Step.BROWSE, Step.DECLINE_REASON, Step.DECLINE_TEXT, Step.NOTE_TEXT)
# Menus someone may walk away from: typing or a command instead of a press goes on where they were.
# (/contacts keeps asking for a wijk: its answer is what the volunteer came for.)
MENUS = (Step.LANGUAGE,)
Keyboard = tuple[tuple[Button, ...], ...]


def _say(user: User, *parts: Text | tuple[Text, ...], buttons: Keyboard = ()) -> Message:
    return Message(to=ToUser(user_id=user.id), parts=parts, buttons=buttons)


def _reply(state: Conversation, user: User, *parts: Text | tuple[Text, ...]) -> Transition:
    return Transition(state=state, messages=(_say(user, *parts),))


def bot_disclosure(role: Role) -> Text:
    """What the bot is, and which person to turn to: a coordinator is that person for the others."""
    if role is Role.COORDINATOR:
        return t(
            "I am Wijkbrug, a bot. I do not give advice myself: I help you reach the right people. "
            "To talk to a person about Wijkbrug, contact its operator, who sent you your invite link."
        )
    return t(
        "I am Wijkbrug, a bot. I do not give advice myself: I help you reach the right people. "
        "To talk to a person, contact your organisation's coordinator."
    )


def help_parts(user: User) -> tuple[Text | tuple[Text, ...], ...]:
    lines = tuple(
        # TRANSLATORS: one line of the command list, e.g. "/new – log a parent's question".
        t("{command} – {meaning}", command=ltr(f"/{name}"), meaning=COMMAND_HELP[name])
        for name in COMMANDS[user.role]
    )
    return (bot_disclosure(user.role), (t("What you can do:"), *lines))


# ---- prompts ------------------------------------------------------------------------------


def _prompt(step: Step, state: Conversation, user: User, env: Env) -> tuple[tuple[Text | tuple[Text, ...], ...], list[tuple[str, Text]], int]:
    """What `step` asks: its text, its options (value, label) and how many buttons per row."""
    if step is Step.REVIEW:
        assert state.draft is not None
        options = [("save", t("Save")), ("change", t("Change something")), ("cancel", t("Cancel"))]
        if state.draft.urgent:
            options.insert(2, safety.review_option())
        return (t("Please check the question:"), tuple(intake.summary(state.draft))), options, 1
    if step is Step.CHANGE:
        options = [(s.value, FIELD_NAMES[s]) for s in CHANGEABLE] + [("back", t("Back to the summary"))]
        return (t("What do you want to change?"),), options, 2
    if step is Step.LANGUAGE:
        return (t("Choose your language:"),), [(code, plain(lang(code, own=True))) for code in env.languages], 3
    if step is Step.BROWSE:
        return (t("Which wijk do you want to see?"),), suggest.wijk_options(env), 2
    if step is Step.PICK_QUESTION:
        options = [(q.code, _question_line(q, env)) for q in env.my_questions]
        return (t("Which question do you want to ask someone about?"),), options, 1
    if step is Step.PICK_WIJK:
        options = [*suggest.wijk_options(env), ("unknown", t("I do not know"))]
        return (t("Which wijk does the family live in?"),), options, 2
    if step in request.STEPS:
        return request.prompt(step, state, user, env)
    if step is Step.DECLINE_REASON:
        return (t("Why can you not take {case}?", case=ltr(state.case_id or "")),), list(cases.DECLINE_REASONS.items()), 1
    if step is Step.DECLINE_TEXT:
        return (t("Please type the reason in a few words; the volunteer will read it."),), [], 1
    if step is Step.NOTE_TEXT:
        return (t("Type your message about {case}; I will pass it on.", case=ltr(state.case_id or "")),), [], 1
    spec = STEPS[step]
    return (spec.prompt(),), spec.options(), spec.per_row


def ask(state: Conversation, user: User, env: Env, step: Step, *before: Text | tuple[Text, ...], **changes) -> Transition:
    """Put the prompt of `step`, with fresh buttons that expire the older ones."""
    token = state.token + 1
    new_state = state.model_copy(update={"step": step, "token": token, **changes})
    parts, options, per_row = _prompt(step, new_state, user, env)
    message = _say(user, *before, *parts, buttons=intake.buttons(options, per_row, token))
    return Transition(state=new_state, messages=(message,))


def reask(state: Conversation, user: User, env: Env, *before: Text) -> Transition:
    """The open step again, after a refusal; a step that wants typing just gets the reason."""
    assert state.step is not None
    wants_text = (state.step in STEPS and STEPS[state.step].take_text is not None) or state.step in TYPED
    if before and wants_text:
        return _reply(state, user, *before)  # the reason says what to type
    return ask(state, user, env, state.step, *before)


def _detour(state: Conversation, user: User, env: Env, step: Step, *before: Text, **changes) -> Transition:
    resume = state.resume if state.step in DETOURS else state.step
    return ask(state, user, env, step, *before, resume=resume, **changes)


def _leave_menu(state: Conversation) -> Conversation:
    """The state as it was before a menu was opened over it."""
    back = state.resume
    if back in STEPS and state.draft is None:
        back = None
    return state.model_copy(update={"step": back, "resume": None})


def _resume(state: Conversation, user: User, env: Env, *before: Text | tuple[Text, ...]) -> Transition:
    """Back from a detour to the step that was open before it (if any)."""
    back = state.resume if state.step in DETOURS else state.step
    resumed = state.model_copy(update={"step": back, "resume": None, "case_id": None})
    if back is None or (back in STEPS and resumed.draft is None):
        idle = resumed.model_copy(update={"step": None})
        return _reply(idle, user, *before) if before else Transition(state=idle)
    saved = resumed.saved
    if back is Step.SUGGESTED and saved is not None and state.step is Step.BROWSE:
        # After other wijken's people, say again which question (and wijk) the offer is for.
        wijk = env.directory.wijk(saved.wijk or "")
        again = t(
            "Back to question {code}: the people on the buttons below are of the wijkteam of {wijk} and fit that question.",
            code=ltr(saved.code),
            wijk=wijk.name if wijk else "–",
        )
        before = (*before, again)
    return ask(resumed, user, env, back, *before)


# ---- commands -----------------------------------------------------------------------------


def _command(state: Conversation, user: User, command: Command, env: Env) -> Transition:
    name = command.name
    if name not in COMMANDS[user.role] and name != "start":
        if name in COMMAND_HELP:
            return _reply(state, user, t("That command is not for your role."), *help_parts(user))
        unknown = t("I do not know the command {command}. Send /help to see what you can do.", command=ltr(f"/{name}"))
        return _reply(state, user, unknown)
    if name in ("start", "help"):
        return _reply(state, user, *help_parts(user))
    if name == "language":
        return _language_command(state, user, env, command.args)
    if name == "contacts":
        if not env.directory.wijken:
            return _reply(state, user, t("The directory of wijkteams is empty; the operator has not loaded it yet."))
        return _detour(state, user, env, Step.BROWSE)
    if name == "cancel":
        return _cancel(state, user)
    if name in ("away", "back"):
        return _availability(state, user, env, name, command.args)
    if name in ("inbox", "cases"):
        return _list_cases(state, user, env)
    if name in ("summary", "export"):
        return _summary(state, user, env, name, command.args)
    # /new
    if state.draft is not None:
        return reask(state, user, env, t("You are already logging a question. Carry on below, or send /cancel to stop."))
    # A fresh start: a request being put together (the parent's name and number) is dropped.
    return ask(Conversation(token=state.token), user, env, intake.ORDER[0], draft=Draft())


def _language_command(state: Conversation, user: User, env: Env, args: str) -> Transition:
    """/language, /language tr or /language Turks: set it if Wijkbrug writes it; otherwise say so,
    and show the languages it writes in."""
    asked = intake.clean_text(args)[: intake.OTHER_LANGUAGE_LIMIT]
    if not asked:
        return _detour(state, user, env, Step.LANGUAGE)
    code = asked.lower().replace("-", "_")
    if code not in env.languages and env.language_of is not None:
        code = env.language_of(asked) or code
    if code in env.languages:
        return _set_language(state, user, env, code)
    named = env.language_of(asked) if env.language_of is not None else None
    if named is None and re.fullmatch(r"[a-z]{2,3}(_[a-z]{2,4})?", code):
        named = code  # a language code (de, pt_br): named by Babel if it knows it, else shown as typed
    if named is None:  # not a language: not repeated back (it could be anything)
        nope = t("That is not one of the languages I write in.")
    else:
        # TRANSLATORS: {language} is a language's name (e.g. "German"), or a code such as "xx".
        nope = t("{language} is not one of the languages I write in.", language=lang(named))
    return _detour(state, user, env, Step.LANGUAGE, nope)


def _set_language(state: Conversation, user: User, env: Env, code: str) -> Transition:
    effect = SetLanguage(user_id=user.id, language=code)
    user = user.model_copy(update={"language": code})
    # TRANSLATORS: {language} is the language's name as Babel writes it in this language
    # (e.g. "Turks" in Dutch). Phrase the sentence so that the plain name fits.
    done = t("From now on I will write to you in this language: {language}.", language=lang(code))
    return _resume(state, user, env, done).model_copy(update={"effects": (effect,)})


def _cancel(state: Conversation, user: User) -> Transition:
    cleared = Conversation(token=state.token + 1)  # drops the draft, and a request's parent details
    if state.draft is None:
        if state.request is not None:
            return _reply(cleared, user, t("Cancelled: nothing was sent."))
        return _reply(cleared, user, t("There is nothing to cancel."))
    lines = intake.summary(state.draft)
    parts: list[Text | tuple[Text, ...]] = []
    if lines:
        parts += [t("Cancelled. These answers were discarded; nothing was saved:"), tuple(lines)]
    else:
        parts.append(t("Cancelled. Nothing was saved."))
    if (note := safety.cancel_note(state.draft)) is not None:
        parts.append(note)
    parts.append(t("Send /new to start again."))
    return _reply(cleared, user, *parts)


def _availability(state: Conversation, user: User, env: Env, name: str, args: str) -> Transition:
    if user.contact_id is None or env.directory.contact(user.contact_id) is None:
        return _reply(state, user, t("Your account is not linked to an entry of the wijkteam directory. Please ask the operator."))
    if name == "back":
        effect = SetAway(contact_id=user.contact_id, until=None)
        done = t("Welcome back! Volunteers can find you again, and requests come to you again.")
        return Transition(state=state, messages=(_say(user, done),), effects=(effect,))
    day = parse_day(args, env.today)
    if day is None:
        return _reply(
            state,
            user,
            t(
                "Until which day are you away? Send it like this: {example1} or {example2} "
                "(a date from today up to a year ahead).",
                example1=ltr("/away 24-12"),
                example2=ltr("/away 2027-01-06"),
            ),
        )
    effects: list = [SetAway(contact_id=user.contact_id, until=day)]
    done = t(
        "You are away until {day}. Until then volunteers are sent to your colleagues. Send /back when you are back earlier.",
        day=Day(on=day),
    )
    messages = [_say(user, done)]
    # Requests still waiting for this member go to the team's coordinator now, not after the timers.
    for case in env.my_cases:
        if case.member_id == user.id and case.status == case_rules.WAITING:
            told, changed = cases.escalate(case, t("{name} is away until {day}.", name=case.contact_name, day=Day(on=day)), env.now)
            messages += told
            effects += changed
    return Transition(state=state, messages=tuple(messages), effects=tuple(effects))


# ---- button presses -----------------------------------------------------------------------


def _expired() -> Text:
    return t("This choice has expired. Please use the latest message.")


def _choice(state: Conversation, user: User, choice: Choice, env: Env) -> Transition:
    token, _, value = choice.data.partition("|")
    if state.step is None or token != str(state.token):
        return Transition(state=state, notice=_expired())
    _, options, _ = _prompt(state.step, state, user, env)
    chosen = dict(options).get(value)
    if chosen is None:  # forged, or from a menu whose options changed
        return Transition(state=state, notice=_expired())
    if state.step is Step.LANGUAGE:
        moved = _set_language(state, user, env, value)
    elif state.step is Step.BROWSE:
        moved = _resume(state, user, env, *_wijk_contacts(value, env))
    elif state.step is Step.PICK_WIJK:
        moved = _picked_wijk(state, user, env, value)
    elif state.step is Step.PICK_QUESTION:
        moved = _picked_question(state, user, env, value)
    elif state.step is Step.REVIEW:
        moved = _review(state, user, value, env)
    elif state.step is Step.CHANGE:
        target = Step.REVIEW if value == "back" else Step(value)
        moved = ask(state, user, env, target)
    elif state.step in request.STEPS:
        moved = _request_choice(state, user, env, value)
    elif state.step is Step.DECLINE_REASON:
        if value == "other":
            moved = ask(state, user, env, Step.DECLINE_TEXT)
        else:
            moved = _decline(state, user, env, value, None)
    else:
        answer = STEPS[state.step].take_choice(state.draft or Draft(), value)
        if answer.draft is None:
            return Transition(state=state, notice=_expired())
        moved = _advance(state, user, answer.draft, env)
    return moved.model_copy(update={"chosen": chosen})


def _advance(state: Conversation, user: User, draft: Draft, env: Env) -> Transition:
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


def _review(state: Conversation, user: User, value: str, env: Env) -> Transition:
    draft = state.draft
    assert draft is not None
    if value == "cancel":
        return _cancel(state, user)
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
        return _offer(state, user, env, saved, done).model_copy(update={"effects": (effect,)})
    if not env.directory.wijken:
        message = _say(user, done, *suggest.services(saved, env), t("Send /new to log another question."))
        return Transition(state=Conversation(token=state.token + 1), messages=(message,), effects=(effect,))
    unknown = t(
        "I do not know postcode {postcode}: it may be outside the city, or new.",
        postcode=ltr(draft.pc4 or ""),
    )
    moved = ask(Conversation(token=state.token), user, env, Step.PICK_WIJK, done, unknown, saved=saved)
    return moved.model_copy(update={"effects": (effect,)})


def _picked_wijk(state: Conversation, user: User, env: Env, value: str) -> Transition:
    saved = state.saved
    assert saved is not None
    cleared = Conversation(token=state.token + 1)
    if value == "unknown":
        return _reply(
            cleared,
            user,
            t("Then ask the family which neighbourhood they live in, or look through the wijkteams with /contacts."),
            *suggest.services(saved, env),
        )
    effect = SetQuestionWijk(code=saved.code, org_id=user.org_id or "", wijk=value)
    moved = _offer(state, user, env, saved.model_copy(update={"wijk": value}))
    return moved.model_copy(update={"effects": (effect, *moved.effects)})


def _offer(state: Conversation, user: User, env: Env, saved: Saved, *before: Text, alert: bool = True) -> Transition:
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
            cases.urgent_alert(team.id, saved.code, wijk.name, saved.theme, org, org_alerted, user.id)
            for team in env.directory.teams_by_wijk.get(wijk.code, ())
            if f"team:{team.id}" in env.alertable
        ]
    offered = Conversation(token=state.token, saved=saved)
    if request.reachable_matches(offered, env):
        moved = ask(offered, user, env, Step.SUGGESTED, *parts)
    else:
        found = matching.rank(env.directory, wijk.code, saved.theme, saved.parent_language, env.today, env.open_handovers)
        tail = [request.unreachable_note()] if found else []
        moved = _reply(Conversation(token=state.token + 1), user, *parts, *tail, t("Send /new to log another question."))
    return moved.model_copy(update={"messages": (*alerts, *moved.messages)})


def _question_line(saved: Saved, env: Env) -> Text:
    wijk = env.directory.wijk(saved.wijk or "")
    return layout(
        "{code} · {theme} · {wijk}",
        code=ltr(saved.code),
        theme=intake.THEMES.get(saved.theme, intake.THEMES["other"]),
        wijk=wijk.name if wijk else t("wijk unknown"),
    )


def _picked_question(state: Conversation, user: User, env: Env, code: str) -> Transition:
    """A saved question picked from /cases: its contacts, ranked as right after the intake, and
    the usual request; its urgent alert went out when it was saved."""
    saved = next(q for q in env.my_questions if q.code == code)
    fresh = Conversation(token=state.token, saved=saved)
    chosen = t("For question {code}:", code=ltr(saved.code))
    if env.directory.wijk(saved.wijk or "") is not None:
        return _offer(fresh, user, env, saved, chosen, alert=False)
    if env.directory.wijken:
        return ask(fresh, user, env, Step.PICK_WIJK, chosen)
    return _reply(Conversation(token=state.token + 1), user, chosen, *suggest.services(saved, env))


def _request_choice(state: Conversation, user: User, env: Env, value: str) -> Transition:
    """A button of the handover request (see flows/request.py)."""
    current = state.request
    if state.step is Step.SUGGESTED:
        if value == "consult":
            # Asked after a decline, advice follows the declined case too: the chain and the
            # colleagues who declined stay with the request (only its kind changes).
            consult = (current or Request(contact_id="")).model_copy(update={"kind": "consult", "way": None})
            return ask(state, user, env, Step.SUGGESTED, request=consult)
        chosen = (current or Request(contact_id="")).model_copy(update={"contact_id": value.removeprefix("to:")})
        nxt = state.model_copy(update={"request": request.with_short_language(chosen, env)})
        return ask(nxt, user, env, request.first(nxt, env))
    assert current is not None and state.saved is not None
    if state.step is Step.SHORT_VERSION:
        if value == "skip":
            nxt = state.model_copy(update={"request": current.model_copy(update={"short_skipped": True})})
            return ask(nxt, user, env, request.first(nxt, env))
        return ask(state, user, env, Step.SHORT_VERSION, request=current.model_copy(update={"short_language": value.removeprefix("in:")}))
    if state.step is Step.WAY:
        language = request.consent_language(state.saved.parent_language, env.languages)
        nxt = state.model_copy(update={"request": current.model_copy(update={"way": value, "consent_language": language})})
        return ask(nxt, user, env, request.after_way(nxt))
    if state.step is Step.CONSENT:
        if value == "yes":
            return ask(state, user, env, request.after_consent(state))
        contact = env.directory.contact(current.contact_id)
        consult = current.model_copy(update={"kind": "consult", "way": None, "has_details": False})
        why = t(
            "Then nothing about the family is passed on. You can still ask {name} for advice, without naming the family.",
            name=contact.name if contact else "",
        )
        if not current.has_details:
            return ask(state, user, env, Step.SEND, why, request=consult)
        # The details were given for someone the parent agreed to, and for nobody else: they go now.
        erased = t("The parent's details from the earlier request are erased.")
        moved = ask(state, user, env, Step.SEND, why, erased, request=consult)
        erase = EraseParent(question_code=state.saved.code, org_id=user.org_id or "", at=env.now)
        return moved.model_copy(update={"effects": (erase,)})
    if state.step is Step.CALL_TIME:
        return ask(state, user, env, Step.ATTACH)
    if state.step is Step.ATTACH:
        return ask(state, user, env, Step.SEND)
    # Step.SEND
    cleared = Conversation(token=state.token + 1)
    if value == "cancel":
        return _reply(cleared, user, t("Cancelled: nothing was sent."))
    return Transition(state=cleared, messages=(_say(user, request.sent_text(state, env)),), effects=tuple(request.send(state, user, env)))


def _request_typed(state: Conversation, user: User, env: Env, event: Input) -> Transition:
    current = state.request
    assert current is not None
    if state.step is Step.ATTACH:
        if not isinstance(event, Attachment):
            return reask(state, user, env, t("Please send a photo or a document (a PDF, for example), or press “No attachment”."))
        refusal = request.take_attachment(event)
        if refusal is not None:
            return reask(state, user, env, refusal)
        done = current.model_copy(update={"attachment_media": event.media, "attachment_file": event.file_id})
        return ask(state, user, env, Step.SEND, request=done)
    if isinstance(event, Attachment):
        return reask(state, user, env, t("I can only read typed text and button presses here."))
    assert isinstance(event, Said)
    if state.step is Step.SHORT_VERSION:
        short = request.take_short(event.text)
        if isinstance(short, Text):
            return reask(state, user, env, short)
        nxt = state.model_copy(update={"request": current.model_copy(update={"short_text": short})})
        return ask(nxt, user, env, request.first(nxt, env))
    take, field, then = {
        Step.PARENT_NAME: (request.take_name, "first_name", Step.PARENT_PHONE),
        Step.PARENT_PHONE: (request.take_phone, "phone", Step.CALL_TIME),
        Step.CALL_TIME: (request.take_call_time, "call_time", Step.ATTACH),
    }[state.step]
    value = take(event.text)
    if isinstance(value, Text):
        return reask(state, user, env, value)
    return ask(state, user, env, then, request=current.model_copy(update={field: value}))


# ---- cases ------------------------------------------------------------------------------------


def case_action(state: Conversation, user: User, case: cases.Case, action: str, version: int, env: Env) -> Transition:
    """A press on a case's button: what the table (flows.case_rules.TABLE) lets this side of the case
    do now, or a notice and nothing changed."""
    if version != case.version:
        return Transition(state=state, notice=_expired())
    role = case_rules.role_of(user.id, case)
    if action not in case_rules.allowed(case, role):
        return Transition(state=state, notice=case_rules.not_allowed(case))
    if action == "show":
        return _show_case(state, user, case, role)
    if action == "note":
        return _note(state, user, env, case)
    if action == "accept":
        messages, effects = cases.accept(case, env.now)
        return Transition(state=state, messages=tuple(messages), effects=tuple(effects), chosen=t("Accept"))
    if action == "decline":
        return _decline_reason(state, user, env, case)
    if action in ("contact_made", "close"):
        status = "closed" if action == "close" else action
        messages, effects = cases.progress(case, env.now, status)
        chosen = t("Contact made") if action == "contact_made" else t("Closed")
        return Transition(state=state, messages=tuple(messages), effects=tuple(effects), chosen=chosen)
    if action == "withdraw":
        confirm = case_rules.button(case, "withdraw_yes", t("Yes, withdraw consent"))
        ask_ = t("Withdraw the parent's consent for {case}? Their details are erased at once and {name} is told.", case=ltr(case.id), name=case.contact_name)
        return Transition(state=state, messages=(_say(user, ask_, buttons=((confirm,),)),))
    if action == "withdraw_yes":
        messages, effects = cases.withdraw(case, env.now)
        return Transition(state=state, messages=tuple(messages), effects=tuple(effects), chosen=t("Yes, withdraw consent"))
    assert action == "next" and case.question_code
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
        return _reply(state, user, t("There is nobody else in this wijkteam who uses Wijkbrug and is available. Use /contacts to call someone directly."))
    return ask(offered, user, env, Step.SUGGESTED).model_copy(update={"chosen": t("Ask someone else")})


def _note(state: Conversation, user: User, env: Env, case: cases.Case) -> Transition:
    return _detour(state, user, env, Step.NOTE_TEXT, case_id=case.id)


def _decline_reason(state: Conversation, user: User, env: Env, case: cases.Case) -> Transition:
    return _detour(state, user, env, Step.DECLINE_REASON, case_id=case.id)


def _decline(state: Conversation, user: User, env: Env, reason: str, text: str | None) -> Transition:
    case = env.case
    if case is None or "decline" not in case_rules.allowed(case, case_rules.role_of(user.id, case)):
        return _resume(state, user, env, t("This request has already been answered."))
    messages, effects = cases.decline(case, env.now, reason, text)
    resumed = _resume(state, user, env)
    return resumed.model_copy(update={"messages": (*messages, *resumed.messages), "effects": tuple(effects)})


def _show_case(state: Conversation, user: User, case: cases.Case, role: str) -> Transition:
    if role == case_rules.MEMBER:
        return Transition(state=state, messages=(cases.to_member(case),))
    head = cases.summary_line(case)
    return Transition(state=state, messages=(_say(user, head, cases._about(case), buttons=case_rules.buttons_for(case, role)),))


def _summary(state: Conversation, user: User, env: Env, name: str, args: str = "") -> Transition:
    """A coordinator's weekly summary (text and chart), or the week's rows as CSV."""
    args, excel = summary.export_options(args)
    report = env.report
    if report is None:
        which = t("Which week? Send /{command}, /{command} last, or a week like {example}.", command=name, example=ltr("2026-W47"))
        found = summary.read_week(args, env.today)
        if isinstance(found, tuple) and found[0] == "no_such_week":
            return _reply(state, user, (t("Week {week} does not exist.", week=ltr(found[1])), which))
        if isinstance(found, tuple) and found[0] == "ahead":
            return _reply(state, user, (t("Week {week} has not begun yet.", week=ltr(found[1])), which))
        return _reply(state, user, which)
    dumped = report.model_dump(mode="json")
    if name == "export":
        caption: tuple[Text, ...] = (t("Week {week}: one row per question or request; codes only, no names or phone numbers.", week=ltr(report.week.label)),)
        if not excel:
            caption += (t("One column in Excel? Send /{command} excel for a file with “;” between the columns.", command=name),)
        upload = Upload(kind="csv", report=dumped, rows=env.export_rows, excel=excel)
        return Transition(state=state, messages=(Message(to=ToUser(user_id=user.id), parts=(caption,), upload=upload),))
    text = Message(to=ToUser(user_id=user.id), parts=tuple(summary.report_parts(report, env.directory)))
    chart = Message(to=ToUser(user_id=user.id), parts=(t("Questions by theme, and the handovers of week {week}.", week=ltr(report.week.label)),), upload=Upload(kind="chart", report=dumped))
    return Transition(state=state, messages=(text, chart))


def weekly_push(user: User, report: summary.Report, directory) -> list[Message]:
    """Monday's summary of last week, pushed to a coordinator."""
    dumped = report.model_dump(mode="json")
    intro = t("Good morning! Here is last week's summary.")
    text = Message(to=ToUser(user_id=user.id), parts=(intro, *summary.report_parts(report, directory)))
    chart = Message(to=ToUser(user_id=user.id), parts=(t("Questions by theme, and the handovers of week {week}.", week=ltr(report.week.label)),), upload=Upload(kind="chart", report=dumped))
    return [text, chart]


def _list_cases(state: Conversation, user: User, env: Env) -> Transition:
    mine = [c for c in env.my_cases if (c.member_id == user.id) == (user.role is Role.MEMBER)]
    if user.role is Role.MEMBER:
        mine = [c for c in mine if c.status in cases.OPEN]
        if not mine:
            return _reply(state, user, t("No requests are waiting for you."))
        head = t("Requests for you:")
    else:
        if not mine and not env.my_questions:
            return _reply(state, user, t("You have not sent any requests yet. Log a question with /new."))
        head = t("Your requests:")
    lines = tuple(cases.summary_line(c) for c in mine)
    buttons = tuple((case_rules.button(c, "show", layout("{case}", case=ltr(c.id))),) for c in mine[:10])
    listed = Transition(state=state, messages=(_say(user, head, lines, buttons=buttons),) if mine else ())
    if user.role is Role.MEMBER or not env.my_questions:
        return listed
    # Saved questions nobody was asked about yet: pick one to ask someone now.
    waiting = t("Questions without a request yet:")
    if state.draft is not None:  # picking one would drop the question being logged
        later = t("To ask someone about one of them, first finish or /cancel the question you are logging.")
        lines_q = tuple(_question_line(q, env) for q in env.my_questions)
        return listed.model_copy(update={"messages": (*listed.messages, _say(user, waiting, lines_q, later))})
    picked = ask(state, user, env, Step.PICK_QUESTION, waiting, resume=None)
    return picked.model_copy(update={"messages": (*listed.messages, *picked.messages)})


def _wijk_contacts(code: str, env: Env) -> list[Text | tuple[Text, ...]]:
    """/contacts for one wijk: its team(s) and everyone in them."""
    wijk = env.directory.wijk(code)
    assert wijk is not None
    parts: list[Text | tuple[Text, ...]] = [t("The wijkteam of {wijk}:", wijk=wijk.name)]
    for team in env.directory.teams_by_wijk.get(code, ()):
        parts.append(cards.team_card(team))
        parts.extend(cards.person_card(c, env.today) for c in env.directory.contacts_by_team.get(team.id, ()))
    return parts


# ---- typing -------------------------------------------------------------------------------


def step(state: Conversation, user: User, event: Input, env: Env) -> Transition:
    if state.step in MENUS and not isinstance(event, Choice):
        state = _leave_menu(state)  # a menu does not hold anyone: they go on where they were
    if isinstance(event, Command):
        return _command(state, user, event, env)
    if isinstance(event, Choice):
        return _choice(state, user, event, env)
    if state.step is None:
        hint = t("To log a parent's question, send /new.") if user.role is Role.VOLUNTEER else None
        return _reply(state, user, *([hint] if hint else []), t("Send /help to see what you can do."))
    if state.step in request.TYPED:
        return _request_typed(state, user, env, event)
    if state.step in (Step.DECLINE_TEXT, Step.NOTE_TEXT):
        if not isinstance(event, Said) or not intake.clean_text(event.text):
            return reask(state, user, env, t("Please type your message."))
        text = intake.clean_text(event.text)
        if len(text) > intake.QUESTION_LIMIT:  # never cut what someone wrote: they shorten it
            too_long = tn(
                "Your message is {n} character too long: at most {limit} fit. Nothing was passed on; please shorten it and send it again.",
                "Your message is {n} characters too long: at most {limit} fit. Nothing was passed on; please shorten it and send it again.",
                len(text) - intake.QUESTION_LIMIT,
                limit=intake.QUESTION_LIMIT,
            )
            return reask(state, user, env, too_long)
        if state.step is Step.DECLINE_TEXT:
            return _decline(state, user, env, "other", text)
        case = env.case
        if case is None or "note" not in case_rules.allowed(case, case_rules.role_of(user.id, case)):
            return _resume(state, user, env, t("This request is closed; your message was not passed on."))
        resumed = _resume(state, user, env, t("Passed on."))
        relayed, effects = cases.relay(case, user.id == case.member_id, text, env.now, user.language)
        return resumed.model_copy(update={"messages": (*relayed, *resumed.messages), "effects": tuple(effects)})
    if isinstance(event, Attachment):
        return reask(state, user, env, t("I can only read typed text and button presses here."))
    spec = STEPS.get(state.step)
    if spec is None or spec.take_text is None:
        return reask(state, user, env, t("Please choose one of the buttons."))
    assert isinstance(event, Said) and state.draft is not None
    answer = spec.take_text(state.draft, event.text, env)
    if answer.draft is None:
        return reask(state, user, env, *answer.refusal)
    return _advance(state, user, answer.draft, env)
