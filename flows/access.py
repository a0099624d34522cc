"""What people who are not (yet) registered are told, and the welcome after an invite is used.

Whether someone may come in is decided by the runner before any flow runs (an invite is a
database fact); these functions only say it, in words that do not reveal whether a code ever
existed.
"""

from __future__ import annotations

from flows import case_rules, cases
from flows.directory import Directory
from flows.model import Message, Role, ToCoordinators, ToUser, User
from flows.commands import help_parts
from flows.terms import Side
from flows.text import Text, lang, t


def _registered_as(user: User, directory: Directory) -> Text:
    # Whole sentences per role: a role name dropped into a sentence does not inflect in every language.
    org = directory.organisation_name(user.org_id)
    if user.role is Role.VOLUNTEER:
        return t("You are registered as a volunteer of {organisation}.", organisation=org)
    if user.role is Role.COORDINATOR:
        return t(
            "You are registered as a coordinator of {organisation}. You will get urgent alerts "
            "from its volunteers here.",
            organisation=org,
        )
    contact = directory.contact(user.contact_id or "")
    team = directory.team(contact.team) if contact else None
    if team is None:
        return t("You are registered as a member of a wijkteam.")
    return t("You are registered as {name} of {team}.", name=contact.name if contact else "", team=team.name)


def refuse_stranger(gave_code: bool) -> Text:
    if gave_code:
        return t(
            "This invite link does not work (any more): it may have been used already or have "
            "expired. Please ask your organisation's coordinator for a new one."
        )
    return t(
        "Hello! Wijkbrug is only for invited volunteers of migrant organisations and members "
        "of the wijkteams (the municipality's neighbourhood teams for families). Please ask your "
        "organisation's coordinator for an invite link."
    )


def welcome(user: User, directory: Directory, phone_language: str | None = None) -> Message:
    """`phone_language`: the language code the person's app reported (`de`, `pt-BR`), if any; their
    account was given it if Wijkbrug writes it, else the default language."""
    greeting = (t("Welcome to Wijkbrug, {name}!", name=user.name), _registered_as(user, directory))
    phone = (phone_language or "").replace("-", "_")
    if phone and user.language in (phone, phone.split("_")[0].lower()):
        language = t("I write to you in the language of your phone. Send /language to choose another.")
    elif phone:
        # TRANSLATORS: {phone} and {language} are language names, e.g. "German" and "Dutch".
        language = t(
            "Your phone's language ({phone}) is not one I write in, so I write to you in this language: "
            "{language}. Send /language to choose another.",
            phone=lang(phone.split("_")[0].lower()),
            language=lang(user.language),
        )
    else:
        language = t(
            "I write to you in this language: {language}. Send /language to choose another.",
            language=lang(user.language),
        )
    return Message(to=ToUser(user_id=user.id), parts=(greeting, language, *help_parts(user)))


# TRANSLATORS: the bot's description, shown in an empty chat before someone presses Start
# (at most 512 characters).
DESCRIPTION = t(
    "Wijkbrug connects volunteers of migrant organisations with the wijkteams: the municipality's "
    "neighbourhood teams for families. It is only for invited people: open the invite link you got "
    "from your coordinator. I am a bot: I do not give advice myself, I help you reach the right people."
)
# TRANSLATORS: the bot's short description on its profile (at most 120 characters).
SHORT_DESCRIPTION = t("Connects volunteers of migrant organisations with the wijkteams. By invitation only.")


def may_act(user: User, case: cases.Case, action: str) -> bool:
    """Whether `user` may take `action` on `case` now: the table of flows.case_rules (which gives
    nobody but the case's volunteer and member anything)."""
    return case_rules.may(case, user.id, action)


def refusal(user: User, case: cases.Case | None) -> Text:
    """The notice for a press `may_act` refused."""
    if case is None or case_rules.side_of(user.id, case) is Side.OTHER:
        return t("This request is not yours; nothing was changed.")
    return case_rules.not_allowed(case)


def revoked() -> Text:
    return t(
        "Your access to Wijkbrug has ended, so I cannot handle your message. If you think this is a "
        "mistake, please contact your coordinator."
    )


def unreachable(user: User, team_id: str | None, by_email: bool = False) -> Message | None:
    """Tell a blocked person's coordinator (of their organisation, or of a member's wijkteam) that
    requests and alerts no longer reach them. `by_email`: the address that refuses is an e-mail
    address (its mail server refused it for good), not a chat the person may have blocked."""
    if user.role is Role.VOLUNTEER and user.org_id:
        to = ToCoordinators(org_id=user.org_id)
    elif user.role is Role.MEMBER and team_id:
        to = ToCoordinators(team_id=team_id)
    else:
        return None
    if by_email:
        text = t(
            "{name} can no longer be reached through Wijkbrug: their mail server refuses e-mail to their "
            "address. Please check the address with them, or contact them another way.",
            name=user.name or "?",
        )
    else:
        text = t(
            "{name} can no longer be reached through Wijkbrug: they "
            "may have blocked the bot. Please contact them another way.",
            name=user.name or "?",
        )
    return Message(to=to, parts=(text,), about=user.id)


def slow_down() -> Text:
    return t("You are sending messages very quickly. I will handle them one by one in a moment; nothing is lost.")


def invite_not_used(user: User, directory: Directory) -> Message:
    """A registered person opened an invite link (again, or a new one): one chat has one account,
    so it is not used, and they are told so rather than shown the menu without a word."""
    return Message(
        to=ToUser(user_id=user.id),
        parts=(
            t("You already have an account, so I did not use this invite link."),
            _registered_as(user, directory),
            t("If your role or organisation should change, please tell the person who sent you the link."),
        ),
    )
