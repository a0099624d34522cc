"""The weekly summary's chart: questions by theme (this week against the week before) and the
handover funnel, in the reader's language.

The chart is made from the same suppressed report as the text (flows.suppression.suppress): a hidden
count gets no bar, only its "<5" or "≥5" written where the bar would be, and a breakdown that is
not shown is said to be so. `chart_data` is everything the drawing gets; `figure` draws it.

Matplotlib (3.11 and later lays text out with libraqm: Arabic and Farsi are joined and ordered
right to left) is imported only here, when a chart is drawn, with the Agg backend (no screen).
Its DejaVu Sans covers Latin, Cyrillic and Arabic script; Noto Sans Ethiopic (Tigrinya), which
no font package on PyPI provides, is shipped in bot/data/fonts (SIL Open Font License) and used
where DejaVu has no glyph. For right-to-left readers the chart is mirrored: labels on the right,
bars growing to the left.

The bot never draws in its own process: matplotlib would stay in it for good (+47 MB after the
first `/summary`). `drawn` hands the chart's data (JSON on stdin) to a short-lived child,
`python -m bot.charts`, and reads the PNG from its stdout; a child that fails or takes longer than
CHART_SECONDS gives None, and the caller sends the summary without its chart, saying so. Only
the data goes to the child: labels, counts and marks of the suppressed report, nothing personal.
`wijkbrug summary --format png` draws in place (`draw`): that process ends when the file is written.
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from bot.i18n import Catalogs
    from flows.summary import Report
    from flows.suppression import Breakdown, Cell

log = logging.getLogger(__name__)

CHART_SECONDS = 30.0  # a child's start-up and drawing, on a busy machine with a cold disk
PNG = b"\x89PNG"
ROOT = Path(__file__).resolve().parent.parent  # the child runs this same code
CHILD: tuple[str, ...] = ()  # the child's command line; empty: `python -m bot.charts` (a test sets one that fails)
FONTS = Path(__file__).parent / "data" / "fonts"
FAMILIES = ["DejaVu Sans", "Noto Sans Ethiopic"]  # the first that has a glyph draws it


class Bar(BaseModel):
    label: str
    value: int  # the bar's length: 0 for a hidden count
    mark: str = ""  # written at the bar's end: the exact count, "<5" or "≥5"


class Panel(BaseModel):
    title: str
    series: list[tuple[str, list[Bar]]]  # (legend, bars) for each series, in the same order of labels
    note: str = ""  # instead of the bars, when they are not shown


class ChartData(BaseModel):
    title: str
    panels: list[Panel]
    rtl: bool = False


def _bar(label: str, shown: Cell, threshold: int, say) -> Bar:
    from flows.summary import cell
    from flows.text import plain

    if isinstance(shown, int):
        return Bar(label=label, value=shown, mark=say(plain(shown)) if shown else "")
    return Bar(label=label, value=0, mark=say(cell(shown, threshold)))


def chart_data(report: Report, catalogs: Catalogs, language: str) -> ChartData:
    """What the chart shows, rendered in `language`: only the suppressed report's cells."""
    from bot.i18n import is_rtl
    from flows import intake
    from flows.text import t

    def say(text) -> str:
        return catalogs.render(text, language)

    k = report.threshold

    def theme_bars(shown: Breakdown) -> list[Bar]:
        return [_bar(say(intake.THEMES[code]), shown.cells.get(code, 0), k, say) for code in intake.THEMES]

    themes = Panel(title=say(t("Questions by theme")), series=[])
    if report.this.by_theme.withheld:
        themes.note = say(t("Not shown, so that no family can be recognised."))
    else:
        themes.series.append((say(t("This week")), theme_bars(report.this.by_theme)))
        if not report.last.by_theme.withheld:
            themes.series.append((say(t("The week before")), theme_bars(report.last.by_theme)))
    steps = [
        (t("requested"), report.this.requested),
        (t("accepted"), report.this.accepted),
        (t("contact made"), report.this.contact_made),
        (t("closed"), report.this.closed),
    ]
    funnel = Panel(title=say(t("Warm handovers")), series=[("", [_bar(say(name), n, k, say) for name, n in steps])])
    return ChartData(title=f"{report.scope_name} · {report.week.label}", panels=[themes, funnel], rtl=is_rtl(language))


def _fonts() -> None:
    from matplotlib import font_manager

    known = {entry.fname for entry in font_manager.fontManager.ttflist}
    for path in sorted(FONTS.glob("*.ttf")):
        if str(path) not in known:
            font_manager.fontManager.addfont(str(path))


def figure(data: ChartData) -> Any:
    """The matplotlib figure of `data` (the caller closes it)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    _fonts()
    colours = [["#2b7bb9", "#b8cfe0"], ["#2b7bb9", "#3c9d5d", "#e0a030", "#777777"]]
    with plt.rc_context({"font.family": FAMILIES}):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), dpi=100)
        for axis, panel, palette in zip(axes, data.panels, colours, strict=True):
            axis.set_title(panel.title)
            axis.spines[["top", "left" if data.rtl else "right"]].set_visible(False)
            if panel.note or not panel.series:
                axis.set_xticks([])
                axis.set_yticks([])
                axis.spines[["bottom", "left", "right"]].set_visible(False)
                axis.text(0.5, 0.5, panel.note, ha="center", va="center", wrap=True, transform=axis.transAxes)
                continue
            labels = [bar.label for bar in panel.series[0][1]]
            count = len(panel.series)
            height = 0.8 / count
            top = 1
            for i, (legend, bars) in enumerate(panel.series):
                offset = (i - (count - 1) / 2) * height
                positions = [p + offset for p in range(len(bars))]
                colour = palette[i] if count > 1 else palette[: len(bars)]
                axis.barh(positions, [bar.value for bar in bars], height=height, color=colour, label=legend or None)
                for position, bar in zip(positions, bars, strict=True):
                    if bar.mark:
                        axis.annotate(
                            bar.mark, (bar.value, position), xytext=(-4 if data.rtl else 4, 0),
                            textcoords="offset points", va="center", ha="right" if data.rtl else "left", fontsize=8,
                        )
                top = max(top, *(bar.value for bar in bars))
            axis.set_yticks(range(len(labels)), labels)
            axis.invert_yaxis()
            axis.set_xlim(0, top * 1.2)  # never the -0.04 … 0.04 of an empty week
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.5 ticks
            if data.rtl:
                axis.invert_xaxis()
                axis.yaxis.tick_right()
            if count > 1:
                axis.legend(loc="lower left" if data.rtl else "lower right")
        fig.suptitle(data.title)
        fig.tight_layout()
    return fig


def png(data: ChartData) -> bytes:
    """`data` drawn, as PNG."""
    fig = figure(data)
    from matplotlib import pyplot as plt

    out = io.BytesIO()
    try:
        with plt.rc_context({"font.family": FAMILIES}):
            fig.savefig(out, format="png")
    finally:
        plt.close(fig)
    return out.getvalue()


def draw(report: Report, catalogs: Catalogs, language: str) -> bytes:
    """The chart drawn in this process (matplotlib stays loaded in it): for a process that ends."""
    return png(chart_data(report, catalogs, language))


async def drawn(report: Report, catalogs: Catalogs, language: str, within: float = CHART_SECONDS) -> bytes | None:
    """The chart drawn in a short-lived child process (see the module's note); None if it could not be."""
    data = chart_data(report, catalogs, language).model_dump_json().encode("utf-8")
    return await in_child(data, within, CHILD)


async def in_child(data: bytes, within: float = CHART_SECONDS, command: tuple[str, ...] = ()) -> bytes | None:
    """The PNG a child (`python -m bot.charts`, or `command`) makes of the ChartData JSON `data`."""
    argv = command or (sys.executable, "-m", "bot.charts")
    try:
        child = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
    except OSError as exc:
        log.warning("chart not drawn: the child could not start (%s)", type(exc).__name__)
        return None
    try:
        async with asyncio.timeout(within):
            out, err = await child.communicate(data)
    except TimeoutError:
        log.warning("chart not drawn: the child took longer than %.0f s", within)
        return None
    finally:
        if child.returncode is None:  # timed out or cancelled: no child outlives its chart
            child.kill()
            await child.wait()
    if child.returncode != 0 or not out.startswith(PNG):
        lines = err.decode("utf-8", "replace").strip().splitlines()
        error = lines[-1].split(":")[0][:80] if lines else "no error output"  # the exception's name, no values
        log.warning("chart not drawn: the child ended with %s (%s)", child.returncode, error)
        return None
    return out


def main() -> None:
    """The child: ChartData as JSON on stdin, the PNG on stdout."""
    data = ChartData.model_validate_json(sys.stdin.buffer.read())
    sys.stdout.buffer.write(png(data))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
