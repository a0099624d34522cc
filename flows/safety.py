"""A child in danger: who is alerted, and what the volunteer is told — only what is true.

Theory of operation: the intake's first question is whether a child is in danger now. On "yes"
the volunteer sees 112 and Veilig Thuis at once (fixed, pre-translated text, intake.danger_messages).
Then the alert goes to whoever can act, as `Env.alertable` says (scopes with an active coordinator):

- the organisation's coordinator, if it has one: the volunteer is told they are being alerted;
- if it has none, nobody is alerted yet and the volunteer is told plainly to call Veilig Thuis
  themselves. When they give the family's postcode later in the intake, the coordinator of the
  wijkteam serving it is alerted then, if that team has one, and the volunteer is told so.

Every alert carries the volunteer (`Message.reach`: the channel turns it into a one-tap link). The
draft remembers who was alerted and when, so a "yes" pressed by mistake can be corrected from the
review: each of them then gets a second message saying the alert was a mistake.
"""

from __future__ import annotations

from flows import intake
from flows.model import Env, Message, Notice, ToCoordinators, ToUser, User
from flows.state import Draft, Step
from flows.terms import Scope
from flows.text import Text, ltr, t, when

VEILIG_THUIS = "0800-2000"
# The open steps whose answer may alert someone, or say who was alerted: only for these does a
# step need `Env.alertable` (the runner reads it from the database only then).
STEPS = frozenset({Step.DANGER, Step.POSTCODE, Step.REVIEW, Step.PICK_WIJK})


def _to(scope: str) -> ToCoordinators:
    found = Scope.parse(scope)
    return ToCoordinators(team_id=found.key) if found.kind == "team" else ToCoordinators(org_id=found.key)


def org_scope(user: User) -> str:
    return str(Scope.org(user.org_id or ""))


def on_danger(user: User, env: Env, draft: Draft) -> tuple[list[Message], Draft]:
    """The volunteer answered "yes": the safety text, then the alert to the organisation's
    coordinator if there is one. Returns the messages (safety text first) and the draft."""
    draft = draft.model_copy(update={"alert_at": env.now})
    org = org_scope(user)
    if user.org_id is not None and org in env.alertable:
        texts = [*intake.danger_messages(), t(
            "Your organisation's coordinator is being alerted and will contact you. "
            "You do not have to investigate or confront anyone yourself."
        )]
        alert = Message(
            to=_to(org),
            parts=(intake.coordinator_alert(user.name, env.now), _tap_hint(user)),
            reach=user.id,
            about=user.id,
            notice=Notice(kind="alert", org=env.directory.organisation_name(user.org_id, "")),
        )
        return [_say(user, *texts), alert], draft.model_copy(update={"alerted": (org,)})
    # TRANSLATORS: child-safety text, shown when nobody of the volunteer's organisation can be
    # alerted. Keep "Veilig Thuis" (the national advice and reporting centre for domestic violence
    # and child abuse). Native speakers should review this text.
    nobody = t(
        "Your organisation has no coordinator in Wijkbrug yet, so I cannot alert anyone there. "
        "Please call Veilig Thuis yourself now on {veilig_thuis}: tell them what you saw or heard, and they "
        "will advise you. You do not have to investigate or confront anyone yourself.",
        veilig_thuis=ltr(VEILIG_THUIS),
    )
    later = t("When you give the family's postcode further on, I will also alert the coordinator of their wijkteam, if that team uses Wijkbrug.")
    return [_say(user, *intake.danger_messages(), nobody, later)], draft


def on_postcode(user: User, env: Env, draft: Draft) -> tuple[list[Message], list[Text], Draft]:
    """The postcode of an urgent question is known: if nobody has been alerted, alert the
    coordinator of the wijkteam serving it. Returns the alerts, what to tell the volunteer, the draft."""
    if not draft.urgent or draft.alerted:
        return [], [], draft
    wijk_code = env.directory.wijk_by_pc4.get(draft.pc4 or "")
    wijk = env.directory.wijk(wijk_code or "")
    if wijk is None:
        return [], [], draft
    alerts: list[Message] = []
    told: list[Text] = []
    alerted: list[str] = []
    org = env.directory.organisation_name(user.org_id, user.org_id or "")
    for team in env.directory.teams_by_wijk.get(wijk.code, ()):
        scope = str(Scope.team(team.id))
        if scope not in env.alertable:
            continue
        alerted.append(scope)
        # TRANSLATORS: sent to a wijkteam's coordinator. Keep "Veilig Thuis" as it is.
        text = t(
            "Urgent ({when}): {volunteer}, a volunteer of {organisation}, reports that a child in {wijk} may be in "
            "danger right now. Their organisation has no coordinator in Wijkbrug, so you are alerted as the "
            "wijkteam's coordinator. They have been shown {emergency} and Veilig Thuis ({veilig_thuis}) and asked "
            "to call Veilig Thuis. Please contact them as soon as you can.",
            when=when(draft.alert_at or env.now),
            volunteer=user.name,
            organisation=org,
            wijk=wijk.name,
            emergency=ltr("112"),
            veilig_thuis=ltr(VEILIG_THUIS),
        )
        alerts.append(
            Message(
                to=_to(scope), parts=(text, _tap_hint(user)), reach=user.id, about=user.id,
                notice=Notice(kind="alert", org=org),
            )
        )
        told.append(t("I have alerted the coordinator of {team}, the wijkteam for this postcode; they can write to you here.", team=team.name))
    return alerts, told, draft.model_copy(update={"alerted": tuple(alerted)})


def correct(user: User, env: Env, draft: Draft) -> tuple[list[Message], list[Text], Draft]:
    """ "No child is in danger": the draft is no longer urgent, and everyone alerted hears it was a
    mistake. Returns their messages, what to tell the volunteer, the draft."""
    messages = [
        Message(
            to=_to(scope),
            parts=(
                t(
                    "Correction ({when}): the alert that {volunteer} sent at {sent} about a child in danger was a "
                    "mistake. As far as they know, no child is in danger. No action is needed.",
                    when=when(env.now),
                    volunteer=user.name,
                    sent=when(draft.alert_at or env.now, "time"),
                ),
            ),
            reach=user.id,
            about=user.id,
            notice=Notice(kind="news", org=env.directory.organisation_name(user.org_id, "")),
        )
        for scope in draft.alerted
    ]
    told = [t("Corrected: no child is in danger.")]
    if messages:
        told.append(t("I have told those who were alerted that it was a mistake."))
    return messages, told, draft.model_copy(update={"urgent": False, "alerted": (), "alert_at": None})


def cancel_note(draft: Draft) -> Text | None:
    """What /cancel says about a child in danger: an alert that went out stands."""
    if not draft.urgent:
        return None
    if draft.alerted:
        return t("The coordinator was already told that a child may be in danger; that alert stands.")
    return t(
        "Nobody could be alerted about the child in danger. If you are worried about a child, call Veilig Thuis on {veilig_thuis}.",
        veilig_thuis=ltr(VEILIG_THUIS),
    )


def _tap_hint(user: User) -> Text:
    return t("Tap the name below to write to {volunteer} directly.", volunteer=user.name)


def _say(user: User, *parts: Text) -> Message:
    return Message(to=ToUser(user_id=user.id), parts=parts)


def review_option() -> tuple[str, Text]:
    return ("not_urgent", t("Correct this: no child is in danger"))


def urgent_alert(team_id: str, code: str, wijk_name: str, theme: str, org_name: str, org_alerted: bool, volunteer_id: int) -> Message:
    """An urgent question reaches the wijkteam's coordinator at once: no timer, no consent step.
    It says whether the organisation's coordinator was alerted too, and carries the volunteer."""
    if org_alerted:
        head = t(
            "⚠️ Urgent question {code} in {wijk}: a volunteer of {organisation} reports that a child may be in danger. "
            "They have been shown 112 and Veilig Thuis, and their organisation's coordinator is alerted.",
            code=ltr(code),
            wijk=wijk_name,
            organisation=org_name,
        )
    else:
        head = t(
            "⚠️ Urgent question {code} in {wijk}: a volunteer of {organisation} reports that a child may be in danger. "
            "They have been shown 112 and Veilig Thuis; their organisation has no coordinator in Wijkbrug.",
            code=ltr(code),
            wijk=wijk_name,
            organisation=org_name,
        )
    return Message(
        to=ToCoordinators(team_id=team_id),
        parts=(head, t("{field}: {value}", field=t("Theme"), value=intake.THEMES.get(theme, intake.THEMES["other"]))),
        reach=volunteer_id,
        notice=Notice(kind="alert", code=code, org=org_name),
    )
