"""Small numbers: what of a week's counts a report may show, decided once.

Theory of operation: flows/summary.py counts one week exactly (`Counts`, never shown); `suppress`
turns those counts, once, into the only figures a report holds (`Figures`), and the text, the
chart (bot/charts.py) and the Monday push are all made from them, so none of them shows what
another hides. The rule, word for word as under "Small numbers" in docs/summaries.md and
docs/privacy.md (tests/test_summary.py compares all three), for the threshold of 5:

- The totals (questions, urgent questions, active volunteers) are exact. Zeros stay zeros.
- In each breakdown (by theme, wijk, parent's language, age group) a count from 1 to 4 is shown
  as "<5". The smallest other count is then hidden too, as "≥5", so that no hidden count can be
  worked out by subtracting the shown ones from the total. A breakdown that needs hiding and
  covers 10 questions or fewer, or whose hidden counts could still be worked out, is not shown.
- A cross-table (wijk × theme, wijk × language) is shown only if none of its counts is 1 to 4.
- Each count of the handover funnel and of advice asked and answered from 1 to 4 is shown as
  "<5"; the median time to acceptance only from 5 acceptances on.
- The chart draws no bar for a hidden count, only its "<5" or "≥5".

`protect` says how a breakdown is kept from being worked out (`_safe` judges what is left).
tests/test_summary.py checks, for every way of splitting up to 20 questions over two to four
categories, that no count from 1 to 4 can be worked out from what is shown, even by someone who
knows the rule (and the same for thresholds 3 and 4).
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel

THRESHOLD = 5

# The figures of a week, by how the rule treats them (the same names in `Counts` and `Figures`).
TOTALS = ("questions", "urgent", "active_volunteers")  # exact
BREAKDOWNS = ("by_theme", "by_wijk", "by_language", "by_age")  # `protect`
CROSS_TABLES = ("wijk_theme", "wijk_language")  # "wijk|theme", "wijk|language": `_cross`
FUNNEL = (
    "requested", "accepted", "declined", "contact_made", "closed", "consults_asked", "consults_answered",
)  # `_funnel`


class Counts(BaseModel):
    """The exact counts of one week: never shown as they are (see `suppress`)."""

    questions: int = 0
    urgent: int = 0
    by_theme: dict[str, int] = {}
    by_wijk: dict[str, int] = {}
    by_language: dict[str, int] = {}
    by_age: dict[str, int] = {}
    wijk_theme: dict[str, int] = {}  # "wijk|theme"
    wijk_language: dict[str, int] = {}
    consults_asked: int = 0
    consults_answered: int = 0
    requested: int = 0
    accepted: int = 0
    declined: int = 0
    contact_made: int = 0
    closed: int = 0
    withdrawn: int = 0
    median_hours_to_accept: float | None = None
    active_volunteers: int = 0


Cell = int | Literal["small", "large"]  # exact, or hidden: "small" is 1 to 4 ("<5"), "large" 5 or more ("≥5")


class Breakdown(BaseModel):
    """One breakdown as it may be shown: its non-zero cells (absent keys are zero), or withheld."""

    cells: dict[str, Cell] = {}
    withheld: bool = False

    @property
    def hidden(self) -> bool:
        return self.withheld or any(not isinstance(n, int) for n in self.cells.values())


class Figures(BaseModel):
    """A week's figures with small numbers hidden: the only figures a report holds."""

    questions: int = 0
    urgent: int = 0
    active_volunteers: int = 0
    by_theme: Breakdown = Breakdown()
    by_wijk: Breakdown = Breakdown()
    by_language: Breakdown = Breakdown()
    by_age: Breakdown = Breakdown()
    wijk_theme: Breakdown = Breakdown()  # "wijk|theme"
    wijk_language: Breakdown = Breakdown()
    consults_asked: Cell = 0
    consults_answered: Cell = 0
    requested: Cell = 0
    accepted: Cell = 0
    declined: Cell = 0
    contact_made: Cell = 0
    closed: Cell = 0
    median_hours_to_accept: float | None = None  # None: no acceptances, or too few to show

    def breakdowns(self) -> tuple[Breakdown, ...]:
        """The breakdowns and cross-tables, in the order of `BREAKDOWNS` and `CROSS_TABLES`."""
        return tuple(getattr(self, name) for name in (*BREAKDOWNS, *CROSS_TABLES))

    def anything_hidden(self) -> bool:
        return any(b.hidden for b in self.breakdowns()) or any(getattr(self, name) == "small" for name in FUNNEL)


def _funnel(n: int, k: int) -> Cell:
    return "small" if 0 < n < k else n


def protect(counts: dict[str, int], k: int) -> Breakdown:
    """One breakdown, whose cells add up to an exact total, with its small cells hidden (the rule
    in this module's docstring). Which cells are hidden depends only on which are small and
    which other one is the smallest, never on a small cell's value, so the rule itself gives
    nothing away; whether what is left is safe is then judged from what is shown alone."""
    counts = {key: n for key, n in counts.items() if n}
    small = sorted(key for key, n in counts.items() if n < k)
    if not small:
        return Breakdown(cells=dict(sorted(counts.items(), key=lambda item: (-item[1], item[0]))))
    if sum(counts.values()) <= 2 * k:
        return Breakdown(withheld=True)
    hidden: dict[str, Literal["small", "large"]] = {key: "small" for key in small}
    others = sorted((n, key) for key, n in counts.items() if key not in hidden)
    if others:
        hidden[others[0][1]] = "large"
    if not _safe(counts, hidden, k):
        return Breakdown(withheld=True)
    shown = sorted(((key, n) for key, n in counts.items() if key not in hidden), key=lambda item: (-item[1], item[0]))
    large = [(key, hidden[key]) for key in sorted(hidden) if hidden[key] == "large"]
    return Breakdown(cells=dict([*shown, *large, *((key, "small") for key in small)]))


def _safe(counts: dict[str, int], hidden: dict[str, Literal["small", "large"]], k: int) -> bool:
    """Whether every small hidden cell can still take two values, for someone who sees the shown
    cells and the total and knows the rule: a small cell lies in 1…k-1, the large one in k…
    the smallest shown cell (below it when that cell's key sorts first, as ties go by key), and
    the hidden cells add up to the total less the shown ones."""
    left = sum(n for key, n in counts.items() if key in hidden)

    def bounds(key: str) -> tuple[float, float]:
        if hidden[key] == "small":
            return 1, k - 1
        cap = min((n if other > key else n - 1 for other, n in counts.items() if other not in hidden), default=math.inf)
        return k, cap

    ranges = {key: bounds(key) for key in hidden}
    low, high = sum(lo for lo, _ in ranges.values()), sum(hi for _, hi in ranges.values())
    for key, (lo, hi) in ranges.items():
        if hidden[key] == "small" and max(lo, left - (high - hi)) >= min(hi, left - (low - lo)):
            return False
    return True


def _cross(counts: dict[str, int], k: int) -> Breakdown:
    """A cross-table is shown only if none of its cells is small: its rows and columns add up to
    the breakdowns shown beside it, so hiding single cells would not hide them."""
    if any(0 < n < k for n in counts.values()):
        return Breakdown(withheld=True)
    return protect(counts, k)


def suppress(counts: Counts, k: int = THRESHOLD) -> Figures:
    """What of a week's counts may be shown (the rule in this module's docstring)."""
    enough = counts.accepted >= k
    return Figures(
        **{name: getattr(counts, name) for name in TOTALS},
        **{name: protect(getattr(counts, name), k) for name in BREAKDOWNS},
        **{name: _cross(getattr(counts, name), k) for name in CROSS_TABLES},
        **{name: _funnel(getattr(counts, name), k) for name in FUNNEL},
        median_hours_to_accept=counts.median_hours_to_accept if enough else None,
    )
