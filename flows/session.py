"""One step of a registered user's conversation: `step(state, user, input, env) -> Transition`.

Theory of operation: commands work from anywhere (flows/commands.py); a button press is first
checked against the token of the prompt it belongs to, so a press on an older prompt is answered
"expired" and changes nothing; anything else goes to the open step's spec (flows/steps.py: its
prompt, its options, and how it takes a press, typing or a file), and the next prompt is asked.
Every answer a step refuses (a `Refusal`) leaves the state as it was and says why, in the user's
language (the runner renders every `Text` for its recipient after the effects are applied, so a
language change is already visible in the reply that confirms it). The /language and /contacts
menus are detours: after them, the step that was open is asked again. A press on a case's button
goes to `case_action` (flows/case_steps.py).
"""

from __future__ import annotations

from flows import codec
from flows.asking import ask, expired, leave_menu, reask, reply
from flows.case_steps import case_action
from flows.cases import on_timer
from flows.commands import COMMAND_HELP, COMMANDS, bot_disclosure, command, help_parts, weekly_push
from flows.model import Attachment, Choice, Command, Env, Input, Role, Transition, User
from flows.spec import Refusal
from flows.state import Conversation
from flows.steps import spec_of
from flows.text import t

__all__ = ["COMMANDS", "COMMAND_HELP", "ask", "bot_disclosure", "case_action", "help_parts", "on_timer", "reask", "step", "weekly_push"]


def _choice(state: Conversation, user: User, choice: Choice, env: Env) -> Transition:
    press = codec.decode(choice.data)
    if state.step is None or not isinstance(press, codec.StepPress) or press.token != state.token:
        return Transition(state=state, notice=expired())
    spec = spec_of(state.step)
    chosen = dict(spec.prompt(state, user, env).options).get(press.value)
    if chosen is None:  # forged, or from a menu whose options changed
        return Transition(state=state, notice=expired())
    taken = spec.take_choice(state, user, env, press.value)
    if isinstance(taken, Refusal):
        return Transition(state=state, notice=expired())
    return taken.model_copy(update={"chosen": chosen})


def step(state: Conversation, user: User, event: Input, env: Env) -> Transition:
    if state.step is not None and spec_of(state.step).menu and not isinstance(event, Choice):
        state = leave_menu(state)  # a menu does not hold anyone: they go on where they were
    if isinstance(event, Command):
        return command(state, user, event, env)
    if isinstance(event, Choice):
        return _choice(state, user, event, env)
    if state.step is None:
        hint = t("To log a parent's question, send /new.") if user.role is Role.VOLUNTEER else None
        return reply(state, user, *([hint] if hint else []), t("Send /help to see what you can do."))
    spec = spec_of(state.step)
    if isinstance(event, Attachment):
        taken = spec.take_attachment(state, user, env, event)
    else:
        taken = spec.take_text(state, user, env, event.text)
    if isinstance(taken, Refusal):
        return reask(state, user, env, *taken.reasons)
    return taken
