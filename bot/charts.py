"""The weekly summary's chart: questions by theme (this week against the week before) and the
handover funnel. Matplotlib is imported only here, when a chart is drawn, with the Agg backend
(no screen). Labels are rendered in the reader's language."""

from __future__ import annotations

import io

from bot.i18n import Catalogs
from flows import intake
from flows.summary import Report
from flows.text import t

# Matplotlib neither joins Arabic letters nor orders right-to-left text, and its bundled font has
# no Ethiopic: for these readers the chart's labels are Dutch (the message with it stays theirs).
UNDRAWABLE = frozenset({"ar", "fa", "ti"})


def draw(report: Report, catalogs: Catalogs, language: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    if language in UNDRAWABLE:
        language = catalogs.default if catalogs.default not in UNDRAWABLE else "en"

    def say(text) -> str:
        return catalogs.render(text, language)

    themes = list(intake.THEMES)
    this = [report.this.by_theme.get(code, 0) for code in themes]
    last = [report.last.by_theme.get(code, 0) for code in themes]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5), dpi=100)
    positions = range(len(themes))
    left.barh([p + 0.2 for p in positions], this, height=0.4, label=say(t("This week")), color="#2b7bb9")
    left.barh([p - 0.2 for p in positions], last, height=0.4, label=say(t("The week before")), color="#b8cfe0")
    left.set_yticks(list(positions), [say(intake.THEMES[code]) for code in themes])
    left.invert_yaxis()
    left.set_title(say(t("Questions by theme")))
    left.legend(loc="lower right")
    steps = [
        (say(t("requested")), report.this.requested),
        (say(t("accepted")), report.this.accepted),
        (say(t("contact made")), report.this.contact_made),
        (say(t("closed")), report.this.closed),
    ]
    right.bar([name for name, _ in steps], [n for _, n in steps], color=["#2b7bb9", "#3c9d5d", "#e0a030", "#777777"])
    right.set_title(say(t("Warm handovers")))
    for axis in (left, right):
        axis.spines[["top", "right"]].set_visible(False)
    figure.suptitle(f"{report.scope_name} · {report.week.label}")
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    plt.close(figure)
    return out.getvalue()
