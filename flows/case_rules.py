"""Who may do what with a case, what it leads to, and the buttons each side is shown: one table.

Theory of operation (in the style of h11's `_state.py`): `TRANSITIONS` maps a case's kind and
status and the presser's side of the case (`side_of`: its volunteer, its member, or anyone else)
to the actions that side may take now, each with the status it leads to (`NO_CHANGE` for showing
the case, a message, asking to confirm a withdrawal or asking someone else; a decline's new status
is set once its reason is given). Everything else is derived from it and from nothing else: the
check of every press (`move`, which raises `NotAllowed` and changes nothing; `allowed`, used by
flows.access.may_act before any flow runs and again by flows.case_steps.case_action) and the
buttons each side is shown (`buttons_for`: the allowed actions in a fixed layout, `_LAYOUT`). So a
button that is not shown cannot be forged into an action either. Anyone who is not the case's
volunteer or member may do nothing; a refused press is answered with `not_allowed`. The parent's
details go to the member only while the case is accepted by them, and only when the parent's
consent for this case names them (`member_sees_parent`). A button carries
`c:<case>:<action>:<version>` (flows/codec.py), so a press on an older message is answered as
expired. What each action then does is in flows/cases.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flows import codec
from flows.model import Button
from flows.terms import CaseAction, CaseKind, CaseStatus, Side
from flows.text import Text, ltr, t

if TYPE_CHECKING:
    from flows.cases import Case

A, K, S = CaseAction, CaseKind, CaseStatus
NO_CHANGE = None  # the action leaves the status as it is

# Kept for the modules that name them (all are the enums' members, equal to the old strings).
WAITING = S.REQUESTED
LEFT = S.MEMBER_LEFT
VOLUNTEER, MEMBER, OTHER = Side.VOLUNTEER, Side.MEMBER, Side.OTHER
ROLES = tuple(Side)
ACTIONS = tuple(CaseAction)
KINDS = tuple(CaseKind)


def _open_volunteer() -> dict[CaseAction, CaseStatus | None]:
    """A handover's volunteer while it waits or runs: see it, send a message, withdraw consent."""
    return {A.SHOW: NO_CHANGE, A.NOTE: NO_CHANGE, A.WITHDRAW: NO_CHANGE, A.WITHDRAW_YES: S.WITHDRAWN}


_OVER: dict[CaseAction, CaseStatus | None] = {A.SHOW: NO_CHANGE}
# the case stays; a new one is opened
_ASK_ELSE: dict[CaseAction, CaseStatus | None] = {A.SHOW: NO_CHANGE, A.NEXT: NO_CHANGE}

# (kind, status, side) -> {action: the status it leads to}; anything not listed is refused.
TRANSITIONS: dict[tuple[CaseKind, CaseStatus, Side], dict[CaseAction, CaseStatus | None]] = {
    (K.HANDOVER, S.REQUESTED, Side.VOLUNTEER): _open_volunteer(),
    (K.HANDOVER, S.REQUESTED, Side.MEMBER): {
        A.SHOW: NO_CHANGE, A.NOTE: NO_CHANGE, A.ACCEPT: S.ACCEPTED, A.DECLINE: S.DECLINED,
    },
    (K.HANDOVER, S.ACCEPTED, Side.VOLUNTEER): _open_volunteer(),
    (K.HANDOVER, S.ACCEPTED, Side.MEMBER): {
        A.SHOW: NO_CHANGE, A.NOTE: NO_CHANGE, A.CONTACT_MADE: S.CONTACT_MADE, A.CLOSE: S.CLOSED,
    },
    (K.HANDOVER, S.CONTACT_MADE, Side.VOLUNTEER): _open_volunteer(),
    (K.HANDOVER, S.CONTACT_MADE, Side.MEMBER): {A.SHOW: NO_CHANGE, A.NOTE: NO_CHANGE, A.CLOSE: S.CLOSED},
    (K.HANDOVER, S.DECLINED, Side.VOLUNTEER): _ASK_ELSE,
    (K.HANDOVER, S.CLOSED, Side.VOLUNTEER): _OVER,
    (K.HANDOVER, S.WITHDRAWN, Side.VOLUNTEER): _OVER,
    (K.HANDOVER, S.MEMBER_LEFT, Side.VOLUNTEER): _ASK_ELSE,
    (K.HANDOVER, S.EXPIRED, Side.VOLUNTEER): _OVER,
    (K.CONSULT, S.REQUESTED, Side.VOLUNTEER): {A.SHOW: NO_CHANGE, A.NOTE: NO_CHANGE, A.CLOSE: S.CLOSED},
    (K.CONSULT, S.REQUESTED, Side.MEMBER): {A.SHOW: NO_CHANGE, A.NOTE: NO_CHANGE, A.CLOSE: S.CLOSED},
    (K.CONSULT, S.CLOSED, Side.VOLUNTEER): _OVER,
    (K.CONSULT, S.MEMBER_LEFT, Side.VOLUNTEER): _ASK_ELSE,
    (K.CONSULT, S.EXPIRED, Side.VOLUNTEER): _OVER,
}
MEMBER_SEES_PARENT = (S.ACCEPTED, S.CONTACT_MADE)  # of a handover


class NotAllowed(Exception):
    """A press the table does not allow this side of the case now; nothing was changed."""


def side_of(user_id: int, case: Case) -> Side:
    if user_id == case.member_id:
        return Side.MEMBER
    if user_id == case.volunteer_id:
        return Side.VOLUNTEER
    return Side.OTHER


role_of = side_of  # the older name


def _moves(case: Case, side: Side) -> dict[CaseAction, CaseStatus | None]:
    """The table's row for this case and side (a question that is gone cannot go to someone else)."""
    try:
        row = TRANSITIONS.get((CaseKind(case.kind), CaseStatus(case.status), side), {})
    except ValueError:  # a kind or status the table does not know: nothing is allowed
        return {}
    return row if case.question_code else {a: s for a, s in row.items() if a is not A.NEXT}


def allowed(case: Case, side: Side | str) -> frozenset[CaseAction]:
    """What `side` may do with `case` now, from the table."""
    return frozenset(_moves(case, Side(side)))


def move(case: Case, side: Side | str, action: str) -> CaseStatus | None:
    """The status `action` leads to (None: no change), or `NotAllowed` if the table does not let
    `side` take it now (an action that does not exist is not allowed either)."""
    moves = _moves(case, Side(side))
    if action not in moves:
        raise NotAllowed(action)
    return moves[CaseAction(action)]


def may(case: Case, user_id: int, action: str) -> bool:
    return action in allowed(case, side_of(user_id, case))


def consent_names_member(case: Case) -> bool:
    """The parent's consent for this case names its contact: the person it was given for. Behind
    the flow (which asks consent for every handover), this is what the details are released on."""
    return case.kind == K.HANDOVER and case.consent_contact is not None and case.consent_contact == case.contact_id


def member_sees_parent(case: Case) -> bool:
    return case.kind == K.HANDOVER and case.status in MEMBER_SEES_PARENT and consent_names_member(case)


def not_allowed(case: Case) -> Text:
    return t("That is not possible for {case} now; nothing was changed.", case=ltr(case.id))


def button(case: Case, action: CaseAction | str, label: Text) -> Button:
    return Button(label=label, data=codec.encode_case(case.id, str(action), case.version))


def _note_label(case: Case, side: Side) -> Text:
    if case.kind == K.CONSULT and side is Side.MEMBER:
        return t("Answer")
    if side is Side.MEMBER:
        return t("Ask a question") if case.status == S.REQUESTED else t("Send the volunteer a message")
    return t("Send a message")


# Where each side's buttons go on a case's message (rows of actions); `buttons_for` keeps those the
# table allows. Showing the case is the button of the /cases and /inbox lists, and the confirmation
# of a withdrawal is the button of the question it asks: neither is drawn here.
_LAYOUT: dict[tuple[CaseKind, Side], tuple[tuple[CaseAction, ...], ...]] = {
    (K.HANDOVER, Side.MEMBER): ((A.ACCEPT, A.DECLINE), (A.CONTACT_MADE, A.CLOSE), (A.NOTE,)),
    (K.CONSULT, Side.MEMBER): ((A.NOTE, A.CLOSE),),
    (K.HANDOVER, Side.VOLUNTEER): ((A.WITHDRAW,), (A.NOTE,), (A.NEXT,)),
    (K.CONSULT, Side.VOLUNTEER): ((A.NOTE,), (A.CLOSE,), (A.NEXT,)),
}
NOT_DRAWN = frozenset({A.SHOW, A.WITHDRAW_YES})


def _label(case: Case, side: Side, action: CaseAction) -> Text:
    if action is A.NOTE:
        return _note_label(case, side)
    labels = {
        A.ACCEPT: t("Accept"),
        A.DECLINE: t("Decline"),
        A.CONTACT_MADE: t("Contact made"),
        A.CLOSE: t("Close") if case.kind == K.CONSULT else t("Closed"),
        A.WITHDRAW: t("Withdraw consent"),
        A.NEXT: t("Ask someone else"),
    }
    return labels[action]


def buttons_for(case: Case, side: Side | str) -> tuple[tuple[Button, ...], ...]:
    """The buttons `side` is shown for `case`: the actions the table allows, in a fixed layout."""
    side = Side(side)
    may_now = allowed(case, side)
    layout = _LAYOUT.get((CaseKind(case.kind), side), ()) if case.kind in KINDS else ()
    rows = [tuple(button(case, a, _label(case, side, a)) for a in row if a in may_now) for row in layout]
    return tuple(row for row in rows if row)
