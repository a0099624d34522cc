"""Who may do what with a case, and the buttons each side is shown: one table.

Theory of operation: `TABLE` maps a case's (kind, status) and the presser's side of the case
(`role_of`: its volunteer, its member, or anyone else) to the actions that side may take now.
Two things are derived from it and from nothing else: the check of every press (`allowed`, used
by flows.access.may_act before any flow runs and again by flows.session.case_action) and the
buttons each side is shown (`buttons_for`: the allowed actions in a fixed layout, `_LAYOUT`). So
a button that is not shown cannot be forged into an action either. Anyone who is not the case's
volunteer or member may do nothing; a refused press is answered with `not_allowed` and changes
nothing. The parent's details go to the member only while the case is accepted by them, and
only when the parent's consent for this case names them (`member_sees_parent`). A button carries `c:<case>:<action>:<version>` (`button`;
flows.cases.parse_button reads it back), so a press on an older message is answered as expired.
What each action then does is in flows/cases.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flows.model import Button
from flows.text import Text, ltr, t

if TYPE_CHECKING:
    from flows.cases import Case

WAITING = "requested"
LEFT = "member_left"  # its member left Wijkbrug (revoked or erased): back with the team's coordinator
VOLUNTEER, MEMBER, OTHER = "volunteer", "member", "other"
ROLES = (VOLUNTEER, MEMBER, OTHER)
ACTIONS = ("show", "note", "accept", "decline", "contact_made", "close", "withdraw", "withdraw_yes", "next")
KINDS = ("handover", "consult")

_WAITING_OR_RUNNING = {VOLUNTEER: "show note withdraw withdraw_yes"}
TABLE: dict[tuple[str, str], dict[str, str]] = {
    ("handover", "requested"): {**_WAITING_OR_RUNNING, MEMBER: "show note accept decline"},
    ("handover", "accepted"): {**_WAITING_OR_RUNNING, MEMBER: "show note contact_made close"},
    ("handover", "contact_made"): {**_WAITING_OR_RUNNING, MEMBER: "show note close"},
    ("handover", "declined"): {VOLUNTEER: "show next"},
    ("handover", "closed"): {VOLUNTEER: "show"},
    ("handover", "withdrawn"): {VOLUNTEER: "show"},
    ("handover", LEFT): {VOLUNTEER: "show next"},
    ("handover", "expired"): {VOLUNTEER: "show"},
    ("consult", "requested"): {VOLUNTEER: "show note close", MEMBER: "show note close"},
    ("consult", "closed"): {VOLUNTEER: "show"},
    ("consult", LEFT): {VOLUNTEER: "show next"},
    ("consult", "expired"): {VOLUNTEER: "show"},
}
MEMBER_SEES_PARENT = ("accepted", "contact_made")  # of a handover


def role_of(user_id: int, case: Case) -> str:
    if user_id == case.member_id:
        return MEMBER
    if user_id == case.volunteer_id:
        return VOLUNTEER
    return OTHER


def allowed(case: Case, role: str) -> frozenset[str]:
    """What `role` may do with `case` now, from the table (a question that is gone cannot go to
    someone else)."""
    actions = frozenset(TABLE.get((case.kind, case.status), {}).get(role, "").split())
    return actions if case.question_code else actions - {"next"}


def consent_names_member(case: Case) -> bool:
    """The parent's consent for this case names its contact: the person it was given for. Behind
    the flow (which asks consent for every handover), this is what the details are released on."""
    return case.kind == "handover" and case.consent_contact is not None and case.consent_contact == case.contact_id


def member_sees_parent(case: Case) -> bool:
    return case.kind == "handover" and case.status in MEMBER_SEES_PARENT and consent_names_member(case)


def not_allowed(case: Case) -> Text:
    return t("That is not possible for {case} now; nothing was changed.", case=ltr(case.id))


def button(case: Case, action: str, label: Text) -> Button:
    return Button(label=label, data=f"c:{case.id}:{action}:{case.version}")


def _note_label(case: Case, role: str) -> Text:
    if case.kind == "consult" and role == MEMBER:
        return t("Answer")
    if role == MEMBER:
        return t("Ask a question") if case.status == WAITING else t("Send the volunteer a message")
    return t("Send a message")


# Where each side's buttons go (rows of actions); `buttons_for` keeps those the table allows.
_LAYOUT: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    ("handover", MEMBER): (("accept", "decline"), ("contact_made", "close"), ("note",)),
    ("consult", MEMBER): (("note", "close"),),
    ("handover", VOLUNTEER): (("withdraw",), ("note",), ("next",)),
    ("consult", VOLUNTEER): (("note",), ("close",)),
}


def _label(case: Case, role: str, action: str) -> Text:
    labels = {
        "accept": t("Accept"),
        "decline": t("Decline"),
        "contact_made": t("Contact made"),
        "close": t("Close") if case.kind == "consult" else t("Closed"),
        "withdraw": t("Withdraw consent"),
        "next": t("Ask someone else"),
    }
    return _note_label(case, role) if action == "note" else labels[action]


def buttons_for(case: Case, role: str) -> tuple[tuple[Button, ...], ...]:
    """The buttons `role` is shown for `case`: the actions the table allows, in a fixed layout."""
    may = allowed(case, role)
    rows = [tuple(button(case, a, _label(case, role, a)) for a in row if a in may) for row in _LAYOUT.get((case.kind, role), ())]
    return tuple(row for row in rows if row)
