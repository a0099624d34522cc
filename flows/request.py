"""A volunteer asks a professional for a warm handover (or only for advice) about a saved question.

Theory of operation: after the suggestions, the volunteer picks a person. For a handover they
choose how the family will meet that person, show the parent the consent text in the parent's
own language (and their own), and — only if the parent agrees — give the parent's first name,
phone number, a good time to call and, if they like, a photo or document. Without consent no
personal data leaves the question, and a consult (advice without naming the family) is offered
instead. A consult skips all of that. The last step sums the request up before it is sent.
"""

from __future__ import annotations

from collections.abc import Callable

from flows import files, intake, matching
from flows.cases import WAYS, quoted
from flows.spec import Part, Refusal
from flows.model import Attachment, Env, User
from flows.directory import Contact, Team
from flows.state import Conversation, Request, Step
from flows.terms import CaseKind
from flows.text import Text, lang, layout, ltr, t, tn

CONSENT_VERSION = "2026-11"
NAME_LIMIT = 40
CALL_TIME_LIMIT = 80
SHORT_LIMIT = 300
Taker = Callable[[str], "str | Refusal"]  # a typed detail, cleaned, or why it is refused
STEPS = (
    Step.SUGGESTED, Step.WAY, Step.CONSENT, Step.PARENT_NAME, Step.PARENT_PHONE, Step.CALL_TIME, Step.ATTACH, Step.SEND,
    Step.SHORT_VERSION,
)
TYPED = (Step.PARENT_NAME, Step.PARENT_PHONE, Step.CALL_TIME, Step.ATTACH, Step.SHORT_VERSION)


def reachable_matches(state: Conversation, env: Env) -> list[matching.Match]:
    """The suggested people who use Wijkbrug (a request can only reach them), best first."""
    saved = state.saved
    if saved is None or saved.wijk is None:
        return []
    excluded = state.request.excluded if state.request else ()
    found = matching.rank(
        env.directory, saved.wijk, saved.theme, saved.parent_language, env.today, env.open_handovers, limit=50
    )
    return [m for m in found if m.contact.id in env.reachable and m.contact.id not in excluded][: matching.TOP]


def consent_language(parent_language: str, shipped: tuple[str, ...]) -> str | None:
    """The language to show the parent the consent in, if Wijkbrug speaks it."""
    code = {"fa_AF": "fa"}.get(parent_language, parent_language)
    return code if code in shipped else None


def consent_text(org_name: str, volunteer: str, contact: str, team: str, language: str | None) -> Text:
    # TRANSLATORS: the parent's consent, read to or by the parent. Plain words; every part matters
    # (who receives what, for which purpose, how to withdraw). Native speakers must review it.
    text = t(
        "{organisation} would like to pass your first name, your phone number and your question to "
        "{contact} of {team}: the municipality's team for families in your neighbourhood. They use it only "
        "to contact you about your question. You can take this back at any time by telling {volunteer}; "
        "your details are then erased.",
        organisation=org_name,
        contact=contact,
        team=team,
        volunteer=volunteer,
    )
    return text.model_copy(update={"language": language})


def contact_of(state: Conversation, env: Env) -> tuple[Contact | None, Team | None]:
    request = state.request
    contact = env.directory.contact(request.contact_id) if request else None
    team = env.directory.team(contact.team) if contact else None
    return contact, team


def prompt(
    step: Step, state: Conversation, user: User, env: Env
) -> tuple[tuple[Part, ...], list[tuple[str, Text]], int]:
    request = state.request
    contact, team = contact_of(state, env)
    name = contact.name if contact else ""
    if step is Step.SUGGESTED:
        found = reachable_matches(state, env)
        if request is not None and request.kind is CaseKind.CONSULT:
            options = [(f"to:{m.contact.id}", layout("💬 {name}", name=m.contact.name)) for m in found]
            return (t("Whom do you want to ask for advice? The family is not named."),), options, 1
        options = [(f"to:{m.contact.id}", layout("🤝 {name}", name=m.contact.name)) for m in found]
        options.append(("consult", t("💬 Only ask for advice")))
        return (t("Do you want to ask one of them for a warm handover?"),), options, 1
    if step is Step.SHORT_VERSION:
        assert contact is not None
        return _short_prompt(state, contact)
    if step is Step.WAY:
        options = [(code, label) for code, label in WAYS.items()]
        return (t("How will the family meet {name}?", name=name),), options, 1
    if step is Step.CONSENT:
        assert contact is not None and team is not None and request is not None
        org = env.directory.organisation_name(user.org_id)
        language = request.consent_language
        parts: list[Text | tuple[Text, ...]] = []
        if request.has_details:
            parts.append(
                t(
                    "The parent agreed to pass their details to someone else. "
                    "Now {name} is asked, so the parent must agree again.",
                    name=name,
                )
            )
        parts.append(t("Please read this to the parent, and ask whether they agree:"))
        if language is not None and language != user.language:
            parts.append(consent_text(org, user.name, contact.name, team.name, language))
            parts.append(t("In your language:"))
        elif language is None:
            parts.append(t("Wijkbrug does not have this text in the parent's language: please translate it for them."))
        parts.append(consent_text(org, user.name, contact.name, team.name, None))
        options = [("yes", t("The parent agrees")), ("no", t("The parent does not agree"))]
        return tuple(parts), options, 1
    if step is Step.PARENT_NAME:
        return (t("What is the parent's first name? (Only the first name.)"),), [], 1
    if step is Step.PARENT_PHONE:
        ask_phone = t(
            "What is the parent's phone number? For example {example1} or {example2}.",
            example1=ltr("06 12345678"), example2=ltr("+32 470 12 34 56"),
        )
        return (ask_phone,), [], 1
    if step is Step.CALL_TIME:
        ask_time = t("When can {name} best call the parent? Type it (for example: mornings, not on Friday).", name=name)
        return (ask_time,), [("none", t("No preference"))], 1
    if step is Step.ATTACH:
        ask_file = t(
            "Do you want to add a photo or a document, for example a letter "
            "from school? Send it now. Only {name} will see it, after accepting.",
            name=name,
        )
        return (ask_file,), [("none", t("No attachment"))], 1
    assert step is Step.SEND and request is not None
    return summary(state, env), [("send", t("Send the request")), ("cancel", t("Cancel"))], 1


def summary(state: Conversation, env: Env) -> tuple[Text | tuple[Text, ...], ...]:
    request = state.request
    assert request is not None
    contact, team = contact_of(state, env)
    who = layout("{name} ({team})", name=contact.name if contact else "", team=team.name if team else "")
    short = (
        ()
        if request.short_skipped or not request.short_text
        else (quoted(request.short_text, request.short_language, "short"),)
    )
    if request.kind is CaseKind.CONSULT:
        code = ltr(state.saved.code if state.saved else "")
        return (t("Ask {who} for advice about question {code}? The family is not named.", who=who, code=code), *short)
    lines = [t("{field}: {value}", field=t("To"), value=who), *short]
    if request.way:
        lines.append(t("{field}: {value}", field=t("Way"), value=WAYS[request.way]))
    if request.first_name:
        lines.append(
            t(
                "{field}: {value}",
                field=t("Parent"),
                value=layout("{name}, {phone}", name=request.first_name, phone=ltr(request.phone or "")),
            )
        )
    if request.call_time:
        lines.append(t("{field}: {value}", field=t("Best time to call"), value=request.call_time))
    if request.attachment_file:
        lines.append(t("{field}: {value}", field=t("Attachment"), value=t("yes")))
    if request.has_details:
        lines.append(
            t(
                "The parent agreed again, for {name}; their details from the earlier request are passed on.",
                name=contact.name if contact else "",
            )
        )
    return (t("Please check the request:"), tuple(lines))


def first(state: Conversation, env: Env) -> Step:
    """The step after the person was picked: a short version of the question first if they do not
    read the language it is written in."""
    request = state.request
    assert request is not None
    if needs_short_version(state, env):
        return Step.SHORT_VERSION
    if request.kind is CaseKind.CONSULT:
        return Step.SEND
    return Step.WAY


def after_way(state: Conversation) -> Step:
    """Consent names one person: it is asked for every handover, also when the parent agreed to
    someone else for this question before."""
    return Step.CONSENT


def after_consent(state: Conversation) -> Step:
    """The parent agreed: their details next, unless they were given for an earlier request."""
    request = state.request
    assert request is not None
    return Step.SEND if request.has_details else Step.PARENT_NAME


# ---- a short version for a member who does not read the question's language -------------------
# Wijkbrug translates no free text (a parent's words stay with the municipality). It takes a
# question to be written in the volunteer's language (the one the bot writes to them in, when they
# logged it) and a member to read the languages the directory lists for them (Dutch when it lists
# none). When the member does not read the question's language, the volunteer is asked for a short
# version in one they do (or may send the question as it is); every relayed text says its language.


def _primary(code: str) -> str:
    return code.replace("-", "_").split("_")[0].lower()  # fa_AF (Dari) is read by a reader of fa


def reads(contact: Contact, language: str) -> bool:
    return _primary(language) in {_primary(code) for code in member_languages(contact)}


def member_languages(contact: Contact) -> tuple[str, ...]:
    """The languages a member reads, Dutch first (the wijkteams' language)."""
    listed = contact.languages or ("nl",)
    return tuple(sorted(listed, key=lambda code: code != "nl"))


def needs_short_version(state: Conversation, env: Env) -> bool:
    request, saved = state.request, state.saved
    contact, _ = contact_of(state, env)
    if request is None or saved is None or contact is None or saved.text_language is None:
        return False
    if request.short_skipped or (
        request.short_text and request.short_language and reads(contact, request.short_language)
    ):
        return False
    return not reads(contact, saved.text_language)


def with_short_language(request: Request, env: Env) -> Request:
    """A newly picked member: a short version already written is kept if they read it (asking
    someone else after a decline); otherwise it is (to be) in the first language they read."""
    contact = env.directory.contact(request.contact_id)
    if contact is None or (request.short_language and reads(contact, request.short_language)):
        return request
    return request.model_copy(update={"short_language": member_languages(contact)[0], "short_text": None})


def _short_prompt(state: Conversation, contact: Contact) -> tuple[tuple[Text, ...], list[tuple[str, Text]], int]:
    request, saved = state.request, state.saved
    assert request is not None and saved is not None and saved.text_language is not None
    target = request.short_language or member_languages(contact)[0]
    # TRANSLATORS: {written} and {target} are language names (e.g. "Ukrainian", "Dutch").
    ask = tn(
        "{name} does not read {written}, the language you wrote the question in, and Wijkbrug does not "
        "translate. Please type a short version of the question in {target} (at most {n} character), "
        "without the family's name or address. {name} gets both.",
        "{name} does not read {written}, the language you wrote the question in, and Wijkbrug does not "
        "translate. Please type a short version of the question in {target} (at most {n} characters), "
        "without the family's name or address. {name} gets both.",
        SHORT_LIMIT,
        name=contact.name,
        written=lang(saved.text_language),
        target=lang(target),
    )
    others = [code for code in member_languages(contact) if code != target]
    options: list[tuple[str, Text]] = [
        (f"in:{code}", t("I will write it in {language}", language=lang(code))) for code in others
    ]
    options.append(("skip", t("Send the question only in {language}", language=lang(saved.text_language))))
    return (ask,), options, 1


def take_short(raw: str) -> str | Refusal:
    text = intake.clean_text(raw)
    if not text or len(text) > SHORT_LIMIT:
        return Refusal(tn(
            "Please type a short version of at most {n} character.",
            "Please type a short version of at most {n} characters.",
            SHORT_LIMIT,
        ))
    return text


def take_name(raw: str) -> str | Refusal:
    name = intake.clean_text(raw)
    if not name or len(name) > NAME_LIMIT or "\n" in name or any(ch.isdigit() for ch in name):
        return Refusal(tn(
            "Please type only the parent's first name (at most {n} letter).",
            "Please type only the parent's first name (at most {n} letters).",
            NAME_LIMIT,
        ))
    return name


def take_phone(raw: str) -> str | Refusal:
    """A valid Dutch or international number, in E.164 (+31612345678)."""
    import phonenumbers  # here, its only user: the process loads it when a number is first typed

    try:
        number = phonenumbers.parse(raw.strip(), "NL")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        return Refusal(
            t(
                "That is not a phone number I can use. Type a Dutch number such as {example1}, "
                "or an international one with + and the country code, such as {example2}.",
                example1=ltr("06 12345678"),
                example2=ltr("+32 470 12 34 56"),
            )
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def take_call_time(raw: str) -> str | Refusal:
    text = intake.clean_text(raw)
    if not text or len(text) > CALL_TIME_LIMIT:
        return Refusal(tn(
            "Please keep it short (at most {n} character), or press “No preference”.",
            "Please keep it short (at most {n} characters), or press “No preference”.",
            CALL_TIME_LIMIT,
        ))
    return text


def take_attachment(event: Attachment) -> Refusal | None:
    """None if the file may be passed on to the member (flows/files.py), else why not."""
    if event.media not in ("photo", "document") or not event.file_id:
        return Refusal(t("Please send a photo or a document (a PDF, for example), or press “No attachment”."))
    if not files.kind_ok(event.media, event.file_name, event.mime_type):
        return Refusal(t(
            "I cannot pass on this kind of file: a member must be able to open it safely. Send a photo, a PDF "
            "or an office document (Word, Excel, OpenDocument), or press “No attachment”."
        ))
    if not files.size_ok(event.media, event.size):
        return Refusal(tn(
            "This file is too large to pass on: at most {n} MB. Send a smaller file, or press “No attachment”.",
            "This file is too large to pass on: at most {n} MB. Send a smaller file, or press “No attachment”.",
            files.MAX_MB,
        ))
    return None


def unreachable_note() -> Text:
    """When none of the suggested people uses Wijkbrug yet: the volunteer calls them directly."""
    return t("None of them uses Wijkbrug yet: call or e-mail them directly, with the parent's consent.")

