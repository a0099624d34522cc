"""The operator's directory file (YAML): reading, validating, writing back.

A file with any error is refused whole, with every problem as `file:line: where: what`:
unknown references (a team's wijk, a contact's team), postcodes claimed by two wijken, unknown
themes or language codes, duplicate ids or contacts. The format is documented in
docs/directory.md; the invented sample is bot/data/sample-directory.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from babel import Locale
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# DirectoryError lives in flows.directory, so that bot.cli can catch it without importing this module.
from flows.directory import THEME_CODES, Contact, Directory, DirectoryError, Organisation, Service, Team, Wijk

SLUG = r"^[a-z0-9][a-z0-9-]{0,39}$"
_RANGE = re.compile(r"^([1-9][0-9]{3})(?:\s*-\s*([1-9][0-9]{3}))?$")
KNOWN_LANGUAGES = frozenset(Locale("en").languages)


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrganisationEntry(_Entry):
    id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=120)


class WijkEntry(_Entry):
    code: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=80)
    postcodes: list[str | int] = Field(min_length=1)

    @field_validator("postcodes")
    @classmethod
    def _postcodes(cls, values: list[str | int]) -> list[str | int]:
        for value in values:
            found = _RANGE.match(str(value).strip())
            if not found:
                raise ValueError(f"{value!r} is not a PC4 (four digits, e.g. 3561) or a range (3561-3564)")
            if found.group(2) and int(found.group(2)) < int(found.group(1)):
                raise ValueError(f"the range {value!r} runs backwards")
        return values

    def pc4s(self) -> list[str]:
        out = []
        for value in self.postcodes:
            found = _RANGE.match(str(value).strip())
            assert found is not None
            first = int(found.group(1))
            last = int(found.group(2) or first)
            out.extend(str(n) for n in range(first, last + 1))
        return out


class TeamEntry(_Entry):
    id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=120)
    wijken: list[str] = Field(min_length=1)
    address: str = ""
    phone: str = ""
    email: str = ""
    hours: str = ""


def _known(kind: str, allowed: frozenset[str] | tuple[str, ...], values: list[str]) -> list[str]:
    for value in values:
        if value not in allowed:
            raise ValueError(f"unknown {kind} {value!r}")
    return values


class ContactEntry(_Entry):
    id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=120)
    team: str
    role: str = ""
    themes: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    phone: str = ""
    email: str = ""
    away_until: date | None = None

    @field_validator("themes")
    @classmethod
    def _themes(cls, values: list[str]) -> list[str]:
        return _known("theme", THEME_CODES, values)

    @field_validator("languages")
    @classmethod
    def _languages(cls, values: list[str]) -> list[str]:
        return _known("language code", KNOWN_LANGUAGES, values)


class ServiceEntry(_Entry):
    id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=120)
    themes: list[str] = Field(default_factory=list)
    phone: str = ""
    url: str = ""
    hours: str = ""
    description: str = ""

    @field_validator("themes")
    @classmethod
    def _themes(cls, values: list[str]) -> list[str]:
        return _known("theme", THEME_CODES, values)


class DirectoryFile(_Entry):
    organisations: list[OrganisationEntry] = Field(default_factory=list)
    wijken: list[WijkEntry] = Field(default_factory=list)
    teams: list[TeamEntry] = Field(default_factory=list)
    contacts: list[ContactEntry] = Field(default_factory=list)
    services: list[ServiceEntry] = Field(default_factory=list)


@dataclass(frozen=True)
class Loaded:
    """A valid directory file: the directory, and which contacts set `away_until` explicitly
    (the others keep what a member set with /away)."""

    directory: Directory
    away_given: frozenset[str]


def _lines(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> None:
    """Note the line (1-based) of every value by its path; refuse a key given twice."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise DirectoryError([f"line {key_node.start_mark.line + 1}: {key!r} appears twice"])
            seen.add(key)
            _lines(value_node, (*path, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), lines)


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


class _Problems:
    def __init__(self, path: Path, lines: dict[tuple[Any, ...], int]) -> None:
        self.path, self.lines, self.found = path, lines, []

    def add(self, loc: tuple[Any, ...], message: str) -> None:
        known = loc
        while known and known not in self.lines:
            known = known[:-1]
        self.found.append(
            (self.lines.get(known, 1), f"{self.path}:{self.lines.get(known, 1)}: {_where(loc)}: {message}")
        )

    def line(self, *loc: Any) -> int:
        return self.lines.get(tuple(loc), 1)

    def raise_if_any(self) -> None:
        if self.found:
            raise DirectoryError([text for _, text in sorted(self.found)])


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_DEPTH = 20  # the deepest a directory goes is 4 (contacts, an entry, a list, a value)


def _plain_yaml(text: str) -> None:
    """Refuse what no directory needs and what can make a small file cost gigabytes or crash the
    reader: aliases (`*name`, also in `<<: *name`), which may expand exponentially ("billion
    laughs") or refer to themselves, and deep nesting. Checked on the event stream, before any
    node is built."""
    depth = 0
    for event in yaml.parse(text, Loader=_SAFE_LOADER):
        line = event.start_mark.line + 1 if event.start_mark else "?"
        if isinstance(event, yaml.AliasEvent):
            raise DirectoryError(
                [f"line {line}: aliases (*{event.anchor}) are not accepted; write the value out in full"]
            )
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise DirectoryError([f"line {line}: nested more than {MAX_DEPTH} levels deep"])
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def parse(text: str, path: Path) -> Loaded:
    lines: dict[tuple[Any, ...], int] = {}
    loader = _SAFE_LOADER(text)
    try:
        _plain_yaml(text)
        root = loader.get_single_node()
        if root is not None:
            _lines(root, (), lines)
        data = loader.construct_document(root) if root is not None else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"{mark.line + 1}" if mark else "?"
        raise DirectoryError([f"{path}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    except DirectoryError as exc:
        raise DirectoryError([f"{path}:{p.removeprefix('line ')}" for p in exc.problems]) from None
    finally:
        loader.dispose()
    problems = _Problems(path, lines)
    if not isinstance(data, dict):
        problems.add((), "the file must be a mapping with organisations, wijken, teams, contacts and services")
        problems.raise_if_any()
    parsed, where = _validate(data, problems)
    _cross_check(parsed, _Shifted(problems, where))
    problems.raise_if_any()
    away_given = frozenset(
        c.id for c in parsed.contacts if "away_until" in c.model_fields_set
    )
    directory = Directory.of(
        organisations=[Organisation(id=o.id, name=o.name) for o in parsed.organisations],
        wijken=[Wijk(code=w.code, name=w.name, postcodes=tuple(w.pc4s())) for w in parsed.wijken],
        teams=[Team(**t.model_dump()) for t in parsed.teams],
        contacts=[Contact(**c.model_dump()) for c in parsed.contacts],
        services=[Service(**s.model_dump()) for s in parsed.services],
    )
    return Loaded(directory=directory, away_given=away_given)


ENTRIES: dict[str, type[_Entry]] = {
    "organisations": OrganisationEntry,
    "wijken": WijkEntry,
    "teams": TeamEntry,
    "contacts": ContactEntry,
    "services": ServiceEntry,
}


class _Shifted:
    """Problems about valid entries, located by their index in the file (invalid ones skipped)."""

    def __init__(self, problems: _Problems, where: dict[str, list[int]]) -> None:
        self.problems, self.where = problems, where

    def _loc(self, loc: tuple[Any, ...]) -> tuple[Any, ...]:
        if len(loc) >= 2 and isinstance(loc[1], int):
            return (loc[0], self.where[loc[0]][loc[1]], *loc[2:])
        return loc

    def add(self, loc: tuple[Any, ...], message: str) -> None:
        self.problems.add(self._loc(loc), message)

    def line(self, *loc: Any) -> int:
        return self.problems.line(*self._loc(loc))


def _validate(data: dict[str, Any], problems: _Problems) -> tuple[DirectoryFile, dict[str, list[int]]]:
    """Every entry on its own, so that all problems of a file are reported at once. Returns the
    valid entries and, per kind, their indexes in the file."""
    valid: dict[str, list[Any]] = {}
    where: dict[str, list[int]] = {key: [] for key in ENTRIES}
    for key, value in data.items():
        if key not in ENTRIES:
            problems.add((key,), f"Extra inputs are not permitted (expected one of: {', '.join(ENTRIES)})")
        elif not isinstance(value, list):
            problems.add((key,), "must be a list")
        else:
            valid[key] = []
            for i, item in enumerate(value):
                try:
                    valid[key].append(ENTRIES[key].model_validate(item))
                    where[key].append(i)
                except ValidationError as exc:
                    for error in exc.errors():
                        problems.add((key, i, *error["loc"]), error["msg"].removeprefix("Value error, "))
    return DirectoryFile(**valid), where


def _duplicates(problems: _Shifted, kind: str, keys: list[Any], what: str) -> None:
    seen: dict[Any, int] = {}
    for i, key in enumerate(keys):
        if key in seen:
            problems.add((kind, i), f"{what} {key!r} is already on line {problems.line(kind, seen[key])}")
        else:
            seen[key] = i


def _cross_check(parsed: DirectoryFile, problems: _Shifted) -> None:
    _duplicates(problems, "organisations", [o.id for o in parsed.organisations], "id")
    _duplicates(problems, "wijken", [w.code for w in parsed.wijken], "code")
    _duplicates(problems, "teams", [t.id for t in parsed.teams], "id")
    _duplicates(problems, "contacts", [c.id for c in parsed.contacts], "id")
    _duplicates(problems, "contacts", [(c.team, c.name.casefold()) for c in parsed.contacts], "contact (team, name)")
    _duplicates(problems, "services", [s.id for s in parsed.services], "id")
    owner: dict[str, tuple[int, str]] = {}
    for i, wijk in enumerate(parsed.wijken):
        for pc4 in wijk.pc4s():
            if pc4 in owner and owner[pc4][1] != wijk.code:
                first, other = owner[pc4]
                problems.add(
                    ("wijken", i, "postcodes"),
                    f"postcode {pc4} is also in wijk {other!r} (line {problems.line('wijken', first)})",
                )
                break
            owner[pc4] = (i, wijk.code)
    wijk_codes = {w.code for w in parsed.wijken}
    for i, team in enumerate(parsed.teams):
        for j, code in enumerate(team.wijken):
            if code not in wijk_codes:
                problems.add(("teams", i, "wijken", j), f"unknown wijk {code!r}")
    team_ids = {t.id for t in parsed.teams}
    for i, contact in enumerate(parsed.contacts):
        if contact.team not in team_ids:
            problems.add(("contacts", i, "team"), f"unknown team {contact.team!r}")


def load(path: Path) -> Loaded:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DirectoryError([f"{path}: cannot read the file: {exc}"]) from None
    return parse(text, path)


class _NoAliases(yaml.SafeDumper):
    """Writes a value used twice out twice: `load` refuses aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(directory: Directory, heading: str = "") -> str:
    """The directory as a file `load` reads back to the same directory."""

    def ranges(pc4s: tuple[str, ...]) -> list[str]:
        numbers = sorted(int(p) for p in pc4s)
        out: list[str] = []
        start = prev = numbers[0] if numbers else 0
        for n in numbers[1:] + [None]:  # type: ignore[list-item]
            if n is not None and n == prev + 1:
                prev = n
                continue
            out.append(str(start) if start == prev else f"{start}-{prev}")
            if n is not None:
                start = prev = n
        return out

    def clean(model: BaseModel, skip: set[str] = frozenset()) -> dict[str, Any]:
        values = model.model_dump(mode="json", exclude=skip)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in values.items() if v not in ("", [], (), None)}

    data = {
        "organisations": [clean(o) for o in directory.organisations],
        "wijken": [{**clean(w, {"postcodes"}), "postcodes": ranges(w.postcodes)} for w in directory.wijken],
        "teams": [clean(t) for t in directory.teams],
        "contacts": [clean(c) for c in directory.contacts],
        "services": [clean(s) for s in directory.services],
    }
    body = yaml.dump(data, Dumper=_NoAliases, allow_unicode=True, sort_keys=False, width=100)
    return (heading + "\n" if heading else "") + body


def sample_path() -> Path:
    """The invented sample directory (Utrecht) the demo uses."""
    return Path(__file__).parent / "data" / "sample-directory.yaml"
