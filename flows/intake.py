"""Logging a parent's question, one step at a time.

Theory of operation: the intake is a fixed sequence of steps (`ORDER`). Each step has a prompt
(text, and buttons when the answer is a fixed choice) and a way to take an answer into the
`Draft`. An answer that does not fit gives back the reason, and the same step is asked again;
nothing in the draft changes. After the last step comes the review (save / change / cancel).
The child-safety question comes first and its "yes" is answered at once (see `danger_messages`),
before any other step, as DOMAIN.md requires.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from flows.refusal import Refusal
from flows.state import Draft, Step
from flows.terms import Theme
from flows.text import Text, lang, ltr, plain, t, tn, tp, when

if TYPE_CHECKING:
    from flows.model import Env

QUESTION_LIMIT = 1000
OTHER_LANGUAGE_LIMIT = 40

ORDER = (Step.DANGER, Step.THEME, Step.AGE, Step.PARENT_LANGUAGE, Step.POSTCODE, Step.TEXT)

THEMES: dict[str, Text] = {  # every Theme (flows/terms.py), with its label, in menu order
    Theme.UPBRINGING: tp("theme", "Upbringing"),
    Theme.SCHOOL: tp("theme", "School and education"),
    Theme.HEALTH: tp("theme", "Health and development"),
    Theme.MONEY: tp("theme", "Money and debts"),
    Theme.HOUSING: tp("theme", "Housing"),
    Theme.LANGUAGE: tp("theme", "Language and integration"),
    Theme.SAFETY: tp("theme", "Safety at home"),
    Theme.OTHER: tp("theme", "Something else"),
}
assert tuple(THEMES) == tuple(Theme)

# The groups do not overlap: every age in years fits exactly one. The keys are what is stored
# (questions.age_group, the CSV's age_group column); they were named after the overlapping groups
# of before (0–4, 4–12, 12–18, 18–23) and are kept, so that stored rows need no migration: each
# key now stands for the group beside it (docs/summaries.md says so).
AGE_GROUPS: dict[str, Text] = {
    "0-4": tp("age", "0–3 years"),
    "4-12": tp("age", "4–11 years"),
    "12-18": tp("age", "12–17 years"),
    "18-23": tp("age", "18–23 years"),
}
AGE_BOUNDS: dict[str, tuple[int, int]] = {"0-4": (0, 3), "4-12": (4, 11), "12-18": (12, 17), "18-23": (18, 23)}
MAX_AGE = 23  # the wijkteams' families: children and young people up to 23 (DOMAIN.md: the CJG's 0–23)
_AGE = re.compile(r"^(\d{1,3})\s*\D{0,12}$")

# Languages parents in Dutch cities most often speak best (DOMAIN.md); names come from Babel.
PARENT_LANGUAGES = ("nl", "ar", "tr", "zgh", "ti", "so", "fa", "fa_AF", "pl", "uk", "en")

# Characters that change how the text around them is drawn (bidi embeddings, overrides and
# isolates): a user's text must not be able to scramble the messages it is shown inside.
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_POSTCODE = re.compile(r"^([1-9][0-9]{3})\s*([A-Za-z]{2})?$")


def clean_text(raw: str) -> str:
    """Drop control and bidi-override characters; keep line breaks, tabs, emoji and any script."""
    kept = (ch for ch in raw.translate(_BIDI_CONTROLS) if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))
    return "".join(kept).strip()


# Letters that draw nothing (Hangul fillers): invisible, so they are no words.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


def has_words(text: str) -> bool:
    """True if the text has a letter or a digit of any script (not only emoji, signs, punctuation
    or invisible characters)."""
    return any(unicodedata.category(ch)[0] in "LN" and ch not in _BLANK_LETTERS for ch in text)


def visible(text: str) -> bool:
    """True if the text shows anything (not only spaces, format characters or blank letters)."""
    return any(not ch.isspace() and unicodedata.category(ch) != "Cf" and ch not in _BLANK_LETTERS for ch in text)


def parse_postcode(raw: str) -> str | None:
    """The PC4 of a Dutch postcode (`3561`, `3561 AB`, `3561ab`, Arabic-Indic digits too), or None.

    Only the four digits are kept: they are enough to find the wijk, and the letters would
    narrow the parent down to a street."""
    text = "".join(str(unicodedata.digit(ch)) if ch.isdecimal() else ch for ch in raw.strip())
    found = _POSTCODE.match(text)
    return found.group(1) if found else None


# What a step makes of an answer: the new draft, or why it was refused (nothing changes).
Answer = Draft | Refusal


@dataclass(frozen=True)
class IntakeQuestion:
    prompt: Callable[[], Text]
    options: Callable[[], list[tuple[str, Text]]]  # (value, label); empty: the step takes text
    per_row: int
    take_choice: Callable[[Draft, str], Answer]
    take_text: Callable[[Draft, str, Env], Answer] | None  # None: the step wants a button press
    label: Callable[[Draft], Text | None]  # the answer as shown in the review


def _choice(field: str, allowed: Callable[[], dict[str, Text] | tuple[str, ...]]) -> Callable[[Draft, str], Answer]:
    def take(draft: Draft, value: str) -> Answer:
        if value not in allowed():
            return Refusal(t("Please choose one of the buttons."))
        return draft.model_copy(update={field: value})

    return take


def _take_danger(draft: Draft, value: str) -> Answer:
    if value not in ("yes", "no"):
        return Refusal(t("Please choose one of the buttons."))
    return draft.model_copy(update={"urgent": value == "yes"})


def age_group(years: int) -> str | None:
    """The group an age in whole years falls in, or None above the oldest group."""
    return next((key for key, (low, high) in AGE_BOUNDS.items() if low <= years <= high), None)


def _take_age(draft: Draft, raw: str, env: Env) -> Answer:
    """A typed age in years ("7", "7 jaar", Arabic-Indic digits too) picks its group."""
    text = "".join(str(unicodedata.digit(ch)) if ch.isdecimal() else ch for ch in clean_text(raw))
    found = _AGE.match(text)
    if found is None:
        return Refusal(
            t("Please choose one of the buttons, or type the child's age in years, for example {example}.", example=7)
        )
    years = int(found.group(1))
    group = age_group(years)
    if group is None:
        return Refusal(
            t(
                "{age} years is older than the age groups, which go up to {oldest} years. Please choose "
                "or type the age of the child the question is about.",
                age=years,
                oldest=MAX_AGE,
            ),
        )
    return draft.model_copy(update={"age_group": group})


def _take_other_language(draft: Draft, raw: str, env: Env) -> Answer:
    """A language typed by name, in any shipped language or in itself ("Turks", "Turkish", "türkçe",
    "Kurdish"): its CLDR code is stored, never the typed text (which could be anything, even a
    person's name). A name that is no language is asked again."""
    name = clean_text(raw)
    if not name or len(name) > OTHER_LANGUAGE_LIMIT or "\n" in name:
        return Refusal(
            tn(
                "Please choose a language, or type its name (at most {n} character).",
                "Please choose a language, or type its name (at most {n} characters).",
                OTHER_LANGUAGE_LIMIT,
            ),
        )
    code = env.language_of(name) if env.language_of is not None else None
    if code is None:
        return Refusal(
            t(
                "I do not know a language called “{name}”. Choose one of the buttons, or type the "
                "name of the language, for example {example}.",
                name=name,
                example=lang("ps"),
            ),
        )
    return draft.model_copy(update={"parent_language": code})


def _take_postcode(draft: Draft, raw: str, env: Env) -> Answer:
    pc4 = parse_postcode(raw)
    if pc4 is None:
        return Refusal(
            t(
                "That is not a Dutch postcode. Type four digits, with or without the two "
                "letters, for example {example1} or {example2}.",
                example1=ltr("3561"),
                example2=ltr("3561 AB"),
            ),
        )
    return draft.model_copy(update={"pc4": pc4})


def _take_question(draft: Draft, raw: str, env: Env) -> Answer:
    text = clean_text(raw)
    if not visible(text):
        return Refusal(t("The question is empty. Please type it in a few words."))
    if not has_words(text):
        return Refusal(t("Please type the question in words: emoji and signs alone cannot be passed on."))
    if len(text) > QUESTION_LIMIT:
        return Refusal(
            tn("Your text has {n} character.", "Your text has {n} characters.", len(text)),
            tn(
                "That is too long: at most {n} character fits. Please make it shorter.",
                "That is too long: at most {n} characters fit. Please make it shorter.",
                QUESTION_LIMIT,
            ),
        )
    return draft.model_copy(update={"text": text})


def language_label(value: str | None) -> Text | None:
    """A parent's language as its name. Questions logged before typed names were recognised may
    hold `other:<typed text>`: that text is never shown (it could be anything, even a name)."""
    if value is None:
        return None
    if value.startswith("other:"):
        return tp("language", "Another language")
    return plain(lang(value))


def _parent_language_options() -> list[tuple[str, Text]]:
    return [(code, plain(lang(code))) for code in PARENT_LANGUAGES]


def _no_choice(draft: Draft, value: str) -> Answer:  # a step without options: never pressed
    return Refusal(t("Please choose one of the buttons."))


STEPS: dict[Step, IntakeQuestion] = {
    Step.DANGER: IntakeQuestion(
        prompt=lambda: t("First, a safety question. Is a child in danger right now, or is someone being hurt at home?"),
        options=lambda: [("yes", t("Yes, a child is in danger")), ("no", t("No"))],
        per_row=1,
        take_choice=_take_danger,
        take_text=None,
        label=lambda d: None if d.urgent is None else (t("Yes") if d.urgent else t("No")),
    ),
    Step.THEME: IntakeQuestion(
        prompt=lambda: t("What is the question about?"),
        options=lambda: list(THEMES.items()),
        per_row=2,
        take_choice=_choice("theme", lambda: THEMES),
        take_text=None,
        label=lambda d: THEMES.get(d.theme or ""),
    ),
    Step.AGE: IntakeQuestion(
        prompt=lambda: t(
            "How old is the child? If there are more children, choose the one the question is about. "
            "You can also type the age in years."
        ),
        options=lambda: list(AGE_GROUPS.items()),
        per_row=2,
        take_choice=_choice("age_group", lambda: AGE_GROUPS),
        take_text=_take_age,
        label=lambda d: AGE_GROUPS.get(d.age_group or ""),
    ),
    Step.PARENT_LANGUAGE: IntakeQuestion(
        prompt=lambda: t(
            "Which language does the parent speak best? Choose one, or type the name of another language."
        ),
        options=_parent_language_options,
        per_row=3,
        take_choice=_choice("parent_language", lambda: PARENT_LANGUAGES),
        take_text=_take_other_language,
        label=lambda d: language_label(d.parent_language),
    ),
    Step.POSTCODE: IntakeQuestion(
        # TRANSLATORS: keep the word "wijkteam": volunteers hear it in every language. The part
        # in brackets explains it the first time it appears.
        prompt=lambda: t(
            "What is the parent's postcode? The four digits are enough, for example {example}. "
            "It tells us which wijkteam (the municipality's team for families in the "
            "neighbourhood) serves them.",
            example=ltr("3561"),
        ),
        options=list,
        per_row=1,
        take_choice=_no_choice,
        take_text=_take_postcode,
        label=lambda d: None if d.pc4 is None else plain(ltr(d.pc4)),
    ),
    Step.TEXT: IntakeQuestion(
        prompt=lambda: tn(
            "Describe the question in your own words. Please leave out the family's name and "
            "address. At most {n} character.",
            "Describe the question in your own words. Please leave out the family's name and "
            "address. At most {n} characters.",
            QUESTION_LIMIT,
        ),
        options=list,
        per_row=1,
        take_choice=_no_choice,
        take_text=_take_question,
        label=lambda d: None if d.text is None else plain(d.text),
    ),
}

FIELD_NAMES: dict[Step, Text] = {
    Step.DANGER: t("Child in danger now"),
    Step.THEME: t("Theme"),
    Step.AGE: t("Age of the child"),
    Step.PARENT_LANGUAGE: t("Parent's language"),
    Step.POSTCODE: t("Postcode"),
    Step.TEXT: t("Question"),
}

CHANGEABLE = (Step.THEME, Step.AGE, Step.PARENT_LANGUAGE, Step.POSTCODE, Step.TEXT)


def next_step(draft: Draft) -> Step:
    """The first step whose answer is still missing, or the review."""
    values = {
        Step.DANGER: draft.urgent,
        Step.THEME: draft.theme,
        Step.AGE: draft.age_group,
        Step.PARENT_LANGUAGE: draft.parent_language,
        Step.POSTCODE: draft.pc4,
        Step.TEXT: draft.text,
    }
    return next((step for step in ORDER if values[step] is None), Step.REVIEW)


def summary(draft: Draft) -> list[Text]:
    """One line per answer given so far, for the review and for /cancel."""
    lines = []
    for step in ORDER:
        shown = STEPS[step].label(draft)
        if shown is not None:
            # TRANSLATORS: one line of a summary, e.g. "Theme: Housing".
            lines.append(t("{field}: {value}", field=FIELD_NAMES[step], value=shown))
    return lines


def danger_messages() -> list[Text]:
    """Fixed, pre-translated safety text (DOMAIN.md: never delayed behind any other step); what
    follows it depends on who can be alerted (flows/safety.py)."""
    return [
        # TRANSLATORS: the most important text of the bot. Keep "Veilig Thuis" (the name of the
        # national advice and reporting centre for domestic violence and child abuse); you may add
        # a short explanation of it in brackets. Native speakers should review this text.
        t(
            "If a child is in acute danger, call {emergency} now.\n"
            "For advice or to report worries about a child, call Veilig Thuis on {veilig_thuis}: "
            "free, day and night, and you may stay anonymous.",
            emergency=ltr("112"),
            veilig_thuis=ltr("0800-2000"),
        ),
    ]


def coordinator_alert(volunteer_name: str, at: datetime) -> Text:
    # TRANSLATORS: sent to a coordinator, perhaps read later than it was sent: {when} is the date
    # and time of the report. Keep "Veilig Thuis" as it is: it is the name of the national advice
    # and reporting centre for domestic violence and child abuse.
    return t(
        "Urgent ({when}): {volunteer}, a volunteer of your organisation, reports that a child may be "
        "in danger right now. They have been shown {emergency} and Veilig Thuis ({veilig_thuis}). "
        "Please contact them as soon as you can.",
        when=when(at),
        volunteer=volunteer_name,
        emergency=ltr("112"),
        veilig_thuis=ltr("0800-2000"),
    )
