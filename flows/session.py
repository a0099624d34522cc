"""One step of a registered user's conversation: `step(state, user, input, env) -> Transition`.

Theory of operation: commands work from anywhere (/cancel, /help, /language, /new); a button
press is first checked against the token of the prompt it belongs to, so a press on an older
prompt is answered "expired" and changes nothing; anything else goes to the open step. Every
answer a step refuses leaves the state as it was and says why, in the user's language (the
runner renders every `Text` for its recipient after the effects are applied, so a language
change is already visible in the reply that confirms it).
"""

from __future__ import annotations

from flows import intake
from flows.intake import CHANGEABLE, FIELD_NAMES, STEPS
from flows.model import (
    Attachment,
    Choice,
    Command,
    Effect,
    Env,
    Input,
    LogQuestion,
    Message,
    Role,
    Said,
    SetLanguage,
    ToCoordinators,
    ToUser,
    Transition,
    User,
)
from flows.state import Conversation, Draft, Step
from flows.text import Text, lang, ltr, plain, t

COMMANDS: dict[Role, tuple[str, ...]] = {
    Role.VOLUNTEER: ("new", "cancel", "language", "help"),
    Role.MEMBER: ("language", "help"),
    Role.COORDINATOR: ("language", "help"),
}

COMMAND_HELP: dict[str, Text] = {
    "new": t("log a parent's question"),
    "cancel": t("stop what you are doing; nothing is saved"),
    "language": t("choose your language"),
    "help": t("what I can do for you"),
}


def _say(user: User, *parts: Text | tuple[Text, ...], buttons=()) -> Message:
    return Message(to=ToUser(user_id=user.id), parts=parts, buttons=buttons)


def bot_disclosure() -> Text:
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
    return (bot_disclosure(), (t("What you can do:"), *lines))


def ask(state: Conversation, user: User, step: Step, draft: Draft, *before: Text) -> Transition:
    """Put the prompt of `step` to the user, with fresh buttons that expire the older ones."""
    token = state.token + 1
    new_state = Conversation(step=step, draft=draft, token=token)
    if step is Step.REVIEW:
        parts = (t("Please check the question:"), tuple(intake.summary(draft)))
        options = [("save", t("Save")), ("change", t("Change something")), ("cancel", t("Cancel"))]
        keyboard = intake.buttons(options, 1, token)
    elif step is Step.CHANGE:
        parts = (t("What do you want to change?"),)
        options = [(s.value, FIELD_NAMES[s]) for s in CHANGEABLE] + [("back", t("Back to the summary"))]
        keyboard = intake.buttons(options, 2, token)
    else:
        spec = STEPS[step]
        parts = (spec.prompt(),)
        keyboard = intake.buttons(spec.options(), spec.per_row, token)
    message = _say(user, *before, *parts, buttons=keyboard)
    return Transition(state=new_state, messages=(message,))


def reask(state: Conversation, user: User, env: Env, *before: Text) -> Transition:
    """The open step again, after a refusal or a detour; a button step gets its buttons back."""
    if state.step is Step.LANGUAGE:
        return _language_menu(state, user, env, *before)
    assert state.step is not None and state.draft is not None
    if before and state.step in STEPS and STEPS[state.step].take_text is not None:
        return Transition(state=state, messages=(_say(user, *before),))  # the reason says what to type
    return ask(state, user, state.step, state.draft, *before)


def _language_menu(state: Conversation, user: User, env: Env, *before: Text) -> Transition:
    token = state.token + 1
    options = [(code, plain(lang(code, own=True))) for code in env.languages]
    resume = state.resume if state.step is Step.LANGUAGE else state.step
    new_state = state.model_copy(update={"step": Step.LANGUAGE, "token": token, "resume": resume})
    message = _say(user, *before, t("Choose your language:"), buttons=intake.buttons(options, 3, token))
    return Transition(state=new_state, messages=(message,))


def _set_language(state: Conversation, user: User, code: str) -> Transition:
    """Switch the language, then go back to whatever was open before the menu."""
    effect = SetLanguage(user_id=user.id, language=code)
    user = user.model_copy(update={"language": code})
    # TRANSLATORS: {language} is the language's name as Babel writes it in this language
    # (e.g. "Turks" in Dutch). Phrase the sentence so that the plain name fits.
    done = t("From now on I will write to you in this language: {language}.", language=lang(code))
    back = state.resume if state.step is Step.LANGUAGE else state.step
    resumed = state.model_copy(update={"step": back, "resume": None})
    if back is None or resumed.draft is None:
        moved = Transition(state=resumed, messages=(_say(user, done),))
    else:
        moved = ask(resumed, user, back, resumed.draft, done)
    return moved.model_copy(update={"effects": (effect,)})


def _command(state: Conversation, user: User, command: Command, env: Env) -> Transition:
    name = command.name
    if name not in COMMANDS[user.role] and name != "start":
        if name in COMMAND_HELP:
            return Transition(state=state, messages=(_say(user, t("That command is not for your role."), *help_parts(user)),))
        return Transition(
            state=state,
            messages=(_say(user, t("I do not know the command {command}. Send /help to see what you can do.", command=ltr(f"/{name}"))),),
        )
    if name in ("start", "help"):
        return Transition(state=state, messages=(_say(user, *help_parts(user)),))
    if name == "language":
        code = command.args.strip().lower().replace("-", "_")
        if code in env.languages:
            return _set_language(state, user, code)
        return _language_menu(state, user, env)
    if name == "cancel":
        return _cancel(state, user)
    # /new
    if state.draft is not None:
        return reask(state, user, env, t("You are already logging a question. Carry on below, or send /cancel to stop."))
    return ask(state, user, intake.ORDER[0], Draft())


def _cancel(state: Conversation, user: User) -> Transition:
    cleared = Conversation(token=state.token + 1)
    if state.draft is None:
        return Transition(state=cleared, messages=(_say(user, t("There is nothing to cancel.")),))
    lines = intake.summary(state.draft)
    parts: list[Text | tuple[Text, ...]] = []
    if lines:
        parts += [t("Cancelled. These answers were discarded; nothing was saved:"), tuple(lines)]
    else:
        parts.append(t("Cancelled. Nothing was saved."))
    if state.draft.urgent:
        parts.append(t("The coordinator was already told that a child may be in danger; that alert stands."))
    parts.append(t("Send /new to start again."))
    return Transition(state=cleared, messages=(_say(user, *parts),))


def _expired() -> Text:
    return t("This choice has expired. Please use the latest message.")


def _choice(state: Conversation, user: User, choice: Choice, env: Env) -> Transition:
    token, _, value = choice.data.partition("|")
    if state.step is None or token != str(state.token):
        return Transition(state=state, notice=_expired())
    if state.step is Step.LANGUAGE:
        if value not in env.languages:
            return Transition(state=state, notice=_expired())
        moved = _set_language(state, user, value)
        return moved.model_copy(update={"chosen": plain(lang(value, own=True))})
    draft = state.draft
    assert draft is not None
    if state.step is Step.REVIEW:
        return _review(state, user, value, env)
    if state.step is Step.CHANGE:
        if value == "back":
            return ask(state, user, Step.REVIEW, draft).model_copy(update={"chosen": t("Back to the summary")})
        if value not in {s.value for s in CHANGEABLE}:
            return Transition(state=state, notice=_expired())
        return ask(state, user, Step(value), draft).model_copy(update={"chosen": FIELD_NAMES[Step(value)]})
    spec = STEPS[state.step]
    answer = spec.take_choice(draft, value)
    if answer.draft is None:
        return Transition(state=state, notice=_expired())
    chosen = dict(spec.options()).get(value)
    return _advance(state, user, answer.draft, env).model_copy(update={"chosen": chosen})


def _advance(state: Conversation, user: User, draft: Draft, env: Env) -> Transition:
    """Take an accepted answer: the safety reply first when a child is in danger, then the next step."""
    if not (state.step is Step.DANGER and draft.urgent):
        return ask(state, user, intake.next_step(draft), draft)
    # The safety text stands alone, first, so it is not lost above the next question.
    first = [_say(user, *intake.danger_messages())]
    if user.org_id is not None:
        first.append(Message(to=ToCoordinators(org_id=user.org_id), parts=(intake.coordinator_alert(user.name, env.now),)))
    moved = ask(state, user, intake.next_step(draft), draft, t("Thank you. Let us go on with the question."))
    return moved.model_copy(update={"messages": (*first, *moved.messages)})


def _review(state: Conversation, user: User, value: str, env: Env) -> Transition:
    draft = state.draft
    assert draft is not None
    if value == "cancel":
        return _cancel(state, user).model_copy(update={"chosen": t("Cancel")})
    if value == "change":
        return ask(state, user, Step.CHANGE, draft).model_copy(update={"chosen": t("Change something")})
    if value != "save":
        return Transition(state=state, notice=_expired())
    effect: Effect = LogQuestion(
        code=env.new_code,
        volunteer_id=user.id,
        org_id=user.org_id or "",
        urgent=bool(draft.urgent),
        theme=draft.theme or "other",
        age_group=draft.age_group or "",
        parent_language=draft.parent_language or "",
        pc4=draft.pc4 or "",
        text=draft.text or "",
        created_at=env.now,
    )
    saved = _say(
        user,
        t("Saved. The question code is {code}; use it when you talk about this question.", code=ltr(env.new_code)),
        t("Send /new to log another question."),
    )
    return Transition(
        state=Conversation(token=state.token + 1),
        messages=(saved,),
        effects=(effect,),
        chosen=t("Save"),
    )


def step(state: Conversation, user: User, event: Input, env: Env) -> Transition:
    if isinstance(event, Command):
        return _command(state, user, event, env)
    if isinstance(event, Choice):
        return _choice(state, user, event, env)
    if state.step is Step.LANGUAGE:
        return reask(state, user, env, t("Please choose one of the buttons."))
    if state.step is None or state.draft is None:
        hint = t("To log a parent's question, send /new.") if user.role is Role.VOLUNTEER else None
        parts = (hint, t("Send /help to see what you can do.")) if hint else (t("Send /help to see what you can do."),)
        return Transition(state=state, messages=(_say(user, *parts),))
    if state.step in (Step.REVIEW, Step.CHANGE):
        return reask(state, user, env, t("Please choose one of the buttons."))
    spec = STEPS[state.step]
    if isinstance(event, Attachment):
        return reask(state, user, env, t("I can only read typed text and button presses here."))
    assert isinstance(event, Said)
    if spec.take_text is None:
        return reask(state, user, env, t("Please choose one of the buttons."))
    answer = spec.take_text(state.draft, event.text)
    if answer.draft is None:
        return reask(state, user, env, *answer.refusal)
    return _advance(state, user, answer.draft, env)
