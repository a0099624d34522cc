"""Putting a step's prompt, and going back to a step: shared by every step and command.

`ask` puts a step's prompt (flows/steps.py) with fresh buttons, whose token expires the older
ones; `reask` asks the open step again after a refusal; `detour` opens a step over the open one
and `resume` goes back to it.
"""

from __future__ import annotations

from typing import Any

from flows import codec, intake
from flows.model import Button, Env, Message, ToUser, Transition, User
from flows.spec import Part
from flows.state import Conversation, Step
from flows.text import Text, ltr, t

Keyboard = tuple[tuple[Button, ...], ...]


def say(user: User, *parts: Part, buttons: Keyboard = ()) -> Message:
    return Message(to=ToUser(user_id=user.id), parts=parts, buttons=buttons)


def reply(state: Conversation, user: User, *parts: Part) -> Transition:
    return Transition(state=state, messages=(say(user, *parts),))


def expired() -> Text:
    return t("This choice has expired. Please use the latest message.")


def options_of(step: Step, state: Conversation, user: User, env: Env) -> dict[str, Text]:
    """The values (and labels) of the buttons `step` shows now."""
    from flows.steps import spec_of

    return dict(spec_of(step).prompt(state, user, env).options)


def ask(state: Conversation, user: User, env: Env, step: Step, *before: Part, **changes: Any) -> Transition:
    """Put the prompt of `step`, with fresh buttons that expire the older ones."""
    from flows.steps import spec_of

    token = state.token + 1
    new_state = state.model_copy(update={"step": step, "token": token, **changes})
    parts, options, per_row = spec_of(step).prompt(new_state, user, env)
    message = say(user, *before, *parts, buttons=codec.step_buttons(options, per_row, token))
    return Transition(state=new_state, messages=(message,))


def reask(state: Conversation, user: User, env: Env, *before: Text) -> Transition:
    """The open step again, after a refusal; a step that wants typing just gets the reason."""
    from flows.steps import spec_of

    assert state.step is not None
    if before and spec_of(state.step).typed:
        return reply(state, user, *before)  # the reason says what to type
    return ask(state, user, env, state.step, *before)


def is_detour(step: Step | None) -> bool:
    from flows.steps import spec_of

    return step is not None and spec_of(step).detour


def detour(state: Conversation, user: User, env: Env, step: Step, *before: Text, **changes: Any) -> Transition:
    resume = state.resume if is_detour(state.step) else state.step
    return ask(state, user, env, step, *before, resume=resume, **changes)


def leave_menu(state: Conversation) -> Conversation:
    """The state as it was before a menu was opened over it."""
    back = state.resume
    if back in intake.STEPS and state.draft is None:
        back = None
    return state.model_copy(update={"step": back, "resume": None})


def resume(state: Conversation, user: User, env: Env, *before: Part) -> Transition:
    """Back from a detour to the step that was open before it (if any)."""
    back = state.resume if is_detour(state.step) else state.step
    resumed = state.model_copy(update={"step": back, "resume": None, "case_id": None})
    if back is None or (back in intake.STEPS and resumed.draft is None):
        idle = resumed.model_copy(update={"step": None})
        return reply(idle, user, *before) if before else Transition(state=idle)
    saved = resumed.saved
    if back is Step.SUGGESTED and saved is not None and state.step is Step.BROWSE:
        # After other wijken's people, say again which question (and wijk) the offer is for.
        wijk = env.directory.wijk(saved.wijk or "")
        again = t(
            "Back to question {code}: the people on the buttons below "
            "are of the wijkteam of {wijk} and fit that question.",
            code=ltr(saved.code),
            wijk=wijk.name if wijk else "–",
        )
        before = (*before, again)
    return ask(resumed, user, env, back, *before)
