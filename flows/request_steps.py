"""The steps of a handover request (or consult) as `StepSpec`s: what each asks is in
flows/request.py (`prompt`), how each answer is taken is here."""

from __future__ import annotations

from flows import request, sending
from flows.asking import ask, reply, say
from flows.model import Attachment, EraseParent, Env, Transition, User
from flows.spec import Prompt, Refusal, StepSpec, Taken
from flows.state import Conversation, Request, Step
from flows.terms import CaseKind
from flows.text import t


def _prompt(state: Conversation, user: User, env: Env) -> Prompt:
    assert state.step is not None
    return Prompt(*request.prompt(state.step, state, user, env))


def _current(state: Conversation) -> Request:
    assert state.request is not None and state.saved is not None
    return state.request


def _suggested(state: Conversation, user: User, env: Env, value: str) -> Taken:
    current = state.request or Request(contact_id="")
    if value == "consult":
        # Asked after a decline, advice follows the declined case too: the chain and the
        # colleagues who declined stay with the request (only its kind changes).
        return ask(
            state, user, env, Step.SUGGESTED, request=current.model_copy(update={"kind": CaseKind.CONSULT, "way": None})
        )
    chosen = current.model_copy(update={"contact_id": value.removeprefix("to:")})
    nxt = state.model_copy(update={"request": request.with_short_language(chosen, env)})
    return ask(nxt, user, env, request.first(nxt, env))


def _short_choice(state: Conversation, user: User, env: Env, value: str) -> Taken:
    current = _current(state)
    if value == "skip":
        nxt = state.model_copy(update={"request": current.model_copy(update={"short_skipped": True})})
        return ask(nxt, user, env, request.first(nxt, env))
    return ask(
        state,
        user,
        env,
        Step.SHORT_VERSION,
        request=current.model_copy(update={"short_language": value.removeprefix("in:")}),
    )


def _short_text(state: Conversation, user: User, env: Env, text: str) -> Taken:
    short = request.take_short(text)
    if isinstance(short, Refusal):
        return short
    nxt = state.model_copy(update={"request": _current(state).model_copy(update={"short_text": short})})
    return ask(nxt, user, env, request.first(nxt, env))


def _way(state: Conversation, user: User, env: Env, value: str) -> Taken:
    current = _current(state)
    assert state.saved is not None
    language = request.consent_language(state.saved.parent_language, env.languages)
    nxt = state.model_copy(update={"request": current.model_copy(update={"way": value, "consent_language": language})})
    return ask(nxt, user, env, request.after_way(nxt))


def _consent(state: Conversation, user: User, env: Env, value: str) -> Taken:
    current = _current(state)
    assert state.saved is not None
    if value == "yes":
        return ask(state, user, env, request.after_consent(state))
    contact = env.directory.contact(current.contact_id)
    consult = current.model_copy(update={"kind": CaseKind.CONSULT, "way": None, "has_details": False})
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


def _typed(field: str, take: request.Taker, then: Step) -> StepSpec:
    """A step that takes one typed detail of the parent into the request."""

    def take_text(state: Conversation, user: User, env: Env, text: str) -> Taken:
        value = take(text)
        if isinstance(value, Refusal):
            return value
        return ask(state, user, env, then, request=_current(state).model_copy(update={field: value}))

    def skip(state: Conversation, user: User, env: Env, value: str) -> Taken:  # "No preference"
        return ask(state, user, env, then)

    return StepSpec(prompt=_prompt, take_choice=skip, take_text=take_text, typed=True)


def _attached(state: Conversation, user: User, env: Env, attachment: Attachment) -> Taken:
    refusal = request.take_attachment(attachment)
    if refusal is not None:
        return refusal
    done = _current(state).model_copy(
        update={"attachment_media": attachment.media, "attachment_file": attachment.file_id}
    )
    return ask(state, user, env, Step.SEND, request=done)


def _not_attached(state: Conversation, user: User, env: Env, text: str) -> Taken:
    return Refusal(t("Please send a photo or a document (a PDF, for example), or press “No attachment”."))


def _no_attachment(state: Conversation, user: User, env: Env, value: str) -> Taken:
    return ask(state, user, env, Step.SEND)


def _send(state: Conversation, user: User, env: Env, value: str) -> Taken:
    cleared = Conversation(token=state.token + 1)
    if value == "cancel":
        return reply(cleared, user, t("Cancelled: nothing was sent."))
    told, effects = sending.send(state, user, env)
    return Transition(state=cleared, messages=(*told, say(user, sending.sent_text(state, env))), effects=tuple(effects))


SPECS: dict[Step, StepSpec] = {
    Step.SUGGESTED: StepSpec(prompt=_prompt, take_choice=_suggested),
    Step.SHORT_VERSION: StepSpec(prompt=_prompt, take_choice=_short_choice, take_text=_short_text, typed=True),
    Step.WAY: StepSpec(prompt=_prompt, take_choice=_way),
    Step.CONSENT: StepSpec(prompt=_prompt, take_choice=_consent),
    Step.PARENT_NAME: _typed("first_name", request.take_name, Step.PARENT_PHONE),
    Step.PARENT_PHONE: _typed("phone", request.take_phone, Step.CALL_TIME),
    Step.CALL_TIME: _typed("call_time", request.take_call_time, Step.ATTACH),
    Step.ATTACH: StepSpec(
        prompt=_prompt, take_choice=_no_attachment, take_text=_not_attached, take_attachment=_attached, typed=True
    ),
    Step.SEND: StepSpec(prompt=_prompt, take_choice=_send),
}
