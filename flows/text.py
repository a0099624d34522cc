"""Translatable text as data.

Flows never produce rendered strings: they produce `Text` values that name an English source
string (the gettext msgid), optionally a plural form and a count, and named parameters. The
bot renders a `Text` in the recipient's language when the message is stored for sending.

The marker functions below are also the keywords `pybabel extract` looks for
(see babel.cfg): `t("...")`, `tn("...", "...", n)`, `tp("context", "...")`.

A parameter is either plain data (str, int) or a nested `Text` (rendered in the same
language first), so a message can name a translated theme inside a translated sentence.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Ltr(BaseModel):
    """A left-to-right fragment (postcode, code, number) that must not be scrambled in RTL text."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["ltr"] = "ltr"
    value: str


class Lang(BaseModel):
    """A language's name, written by Babel in the reader's language (or, with own=True, in itself)."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["lang"] = "lang"
    code: str
    own: bool = False


class Moment(BaseModel):
    """A point in time, written by Babel in the reader's locale and the bot's time zone.

    `style` is `datetime` (date and time), `date`, `time` or `weekday` (e.g. "maandag 30 november")."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["moment"] = "moment"
    at: datetime
    style: Literal["datetime", "date", "time", "weekday"] = "datetime"


class Day(BaseModel):
    """A calendar date (no time of day), written by Babel in the reader's locale."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["day"] = "day"
    on: date


class Percent(BaseModel):
    """A share (0.25 is 25 %), written by Babel in the reader's locale."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["percent"] = "percent"
    share: float


class Listing(BaseModel):
    """Items joined as the reader's language joins a list ("Turks, Arabisch en Somalisch",
    "ترکی، عربی و سومالیایی"), by Babel's (CLDR's) list patterns."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["list"] = "list"
    items: tuple[Text, ...]


class Text(BaseModel):
    model_config = ConfigDict(frozen=True)

    msgid: str
    plural: str | None = None
    n: int | None = None
    context: str | None = None
    verbatim: bool = False  # not looked up in the catalogs (see `plain`)
    language: str | None = None  # rendered in this language, whoever reads it (the parent's consent)
    params: dict[str, str | int | Ltr | Lang | Moment | Day | Percent | Listing | Text] = Field(default_factory=dict)


Listing.model_rebuild()


def t(msgid: str, **params: str | int | Ltr | Lang | Moment | Day | Percent | Text) -> Text:
    return Text(msgid=msgid, params=params)


def tn(singular: str, plural: str, n: int, **params: str | int | Ltr | Lang | Moment | Day | Percent | Text) -> Text:
    return Text(msgid=singular, plural=plural, n=n, params={"n": n, **params})


def tp(context: str, msgid: str, **params: str | int | Ltr | Lang | Moment | Day | Percent | Text) -> Text:
    return Text(msgid=msgid, context=context, params=params)


def ltr(value: str) -> Ltr:
    return Ltr(value=value)


def lang(code: str, own: bool = False) -> Lang:
    return Lang(code=code, own=own)


def when(at: datetime, style: Literal["datetime", "date", "time", "weekday"] = "datetime") -> Moment:
    return Moment(at=at, style=style)


def plain(value: str | int | Ltr | Lang | Moment | Day | Percent) -> Text:
    """A value shown as it is (or, for a `Lang`, as Babel names it): nothing to translate."""
    return Text(msgid="{value}", verbatim=True, params={"value": value})


def listing(items: list[Text]) -> Text:
    """Items as one list, joined in the reader's language (see `Listing`)."""
    return Text(msgid="{items}", verbatim=True, params={"items": Listing(items=tuple(items))})


def layout(pattern: str, **params: str | int | Ltr | Lang | Moment | Day | Percent | Text) -> Text:
    """Values arranged around symbols that need no translation (e.g. "☎ {phone} · ✉ {email}")."""
    return Text(msgid=pattern, verbatim=True, params=params)
