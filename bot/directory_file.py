"""Reading the operator's directory file (YAML), with errors that name file, line and field.

For now the directory holds the organisations whose volunteers use Wijkbrug; wijken, teams and
contacts join it later. A file with any error is refused whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

SLUG = r"^[a-z0-9][a-z0-9-]{0,39}$"


class OrganisationEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=120)


class DirectoryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    organisations: list[OrganisationEntry] = Field(min_length=1)


class DirectoryError(Exception):
    """The file cannot be used; `problems` are lines like `file:12: organisations[2].id: …`."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _plain(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> Any:
    """The node as plain Python, noting the line (1-based) of every value by its path."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _plain(key_node, (*path, "<key>"), {})
            if key in result:
                raise DirectoryError([f"line {key_node.start_mark.line + 1}: {key!r} appears twice"])
            result[key] = _plain(value_node, (*path, key), lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


def load(path: Path) -> DirectoryFile:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DirectoryError([f"{path}: cannot read the file: {exc}"]) from None
    lines: dict[tuple[Any, ...], int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = _plain(root, (), lines) if root is not None else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"{mark.line + 1}" if mark else "?"
        raise DirectoryError([f"{path}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    except DirectoryError as exc:
        raise DirectoryError([f"{path}:{p.removeprefix('line ')}" for p in exc.problems]) from None
    try:
        directory = DirectoryFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            known = loc
            while known and known not in lines:
                known = known[:-1]
            problems.append(f"{path}:{lines.get(known, 1)}: {_where(loc)}: {error['msg']}")
        raise DirectoryError(problems) from None
    seen: dict[str, int] = {}
    problems = []
    for i, org in enumerate(directory.organisations):
        line = lines.get(("organisations", i, "id"), 1)
        if org.id in seen:
            problems.append(f"{path}:{line}: organisations[{i}].id: {org.id!r} is already used on line {seen[org.id]}")
        seen.setdefault(org.id, line)
    if problems:
        raise DirectoryError(problems)
    return directory


def sample_path() -> Path:
    """The invented sample directory the demo uses."""
    return Path(__file__).parent / "data" / "sample-directory.yaml"
