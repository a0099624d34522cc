"""`wijkbrug demo`: the example script replays to its golden transcript; playing at the keyboard
switches person, moves time, shows a press by its label and answers bad demo input clearly.

The golden transcript is tests/demo/whole-bridge.txt; `WIJKBRUG_UPDATE_GOLDEN=1` rewrites it.
"""

from __future__ import annotations

import io
import itertools
import os
import re
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import cli, cli_demo, demo_script
from bot.demo_session import DEFAULT_CAST, DEMO_COMMANDS, Demo, later
from bot.settings import load
from flows.commands import COMMANDS

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "whole-bridge.txt"
GOLDEN = Path(__file__).parent / "demo" / "whole-bridge.txt"
UPDATE = os.environ.get("WIJKBRUG_UPDATE_GOLDEN") == "1"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's folder
    monkeypatch.setenv("WIJKBRUG_DATABASE", str(tmp_path / "data" / "unused.sqlite3"))
    monkeypatch.delenv("WIJKBRUG_TELEGRAM_TOKEN", raising=False)
    return tmp_path


def fixed_codes() -> tuple:
    questions = (f"Q-{n:04d}" for n in itertools.count(1001))
    cases = (f"H-{n:06d}" for n in itertools.count(100001))
    return (lambda: next(questions), lambda: next(cases))


async def play(
    script: Path | None, out_dir: Path, typed: str = "", start: datetime | None = None, language: str | None = None
) -> str:
    """The demo's output: a script replayed, or `typed` as if piped in (no terminal)."""
    out = io.StringIO()
    stdin, sys.stdin = sys.stdin, io.StringIO(typed)
    try:
        code = await cli_demo.demo(
            load(), script, language, None, out_dir, out=out, codes=fixed_codes(), start=start
        )
    finally:
        sys.stdin = stdin
    assert code == 0
    return out.getvalue().replace(str(out_dir.resolve()), "<out>")


async def test_the_example_replays_to_its_golden_transcript(env: Path) -> None:
    actual = await play(EXAMPLE, env / "out")
    if UPDATE:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(actual, "utf-8")
    assert actual == GOLDEN.read_text("utf-8"), "the demo's transcript differs; rerun with WIJKBRUG_UPDATE_GOLDEN=1"
    charts = sorted((env / "out").glob("*.png"))
    assert [p.name for p in charts] == ["karin-summary-2.png", "karin-summary.png", "petra-summary-2.png",
                                        "petra-summary.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in charts)
    assert "saved: <out>/petra-summary.png" in actual


async def test_the_example_walks_the_whole_bridge_and_answers_no_to_danger(env: Path) -> None:
    """Intake in Turkish, consent, the member in Dutch accepts after a reminder, contact, closed, summaries."""
    actual = await play(EXAMPLE, env / "out")
    assert "Ayşe > [2] Hayır" in actual  # a press by number shows its label: school letters are no danger
    assert "112" not in actual and "Veilig Thuis" not in actual
    for line in (
        "✓ Ayşe: Anne veya baba kabul ediyor", "→ Emre: ⏰ Herinnering", "✓ Emre: Aannemen", "📎 Emre: document",
        "→ Ayşe: 📞 Emre Kocabaş aileyle iletişim kurdu", "→ Ayşe: ✔️ Emre Kocabaş, H-100001 kodlu talebi kapattı",
        "📎 Petra: photo", "→ Karin: Good morning! Here is last week's summary.",
    ):
        assert line in actual, line


def test_main_replays_the_example_with_random_codes(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--script", str(EXAMPLE), "--out", str(env / "charts")]) == 0
    out, err = capsys.readouterr()
    assert re.search(r"→ Ayşe: Gönderildi\. Kime: Emre Kocabaş\. Talep kodu: H-[2-9A-HJ-NP-Z]{6}\.", out)
    assert f"The files the bot sent are kept in {(env / 'charts').resolve()}" in out
    assert err == ""  # no warning, no traceback


MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=AMSTERDAM)


async def test_each_person_keeps_their_own_buttons_and_the_prompt_says_who_you_are(env: Path) -> None:
    typed = "/new\n/as emre\n/new\n2\n/as 1\n2\n"
    out = await play(None, env / "out", typed, MONDAY)
    assert "sara (vrijwilliger) > /new\n→ Sara: Eerst een vraag over veiligheid." in out
    assert "  (demo) you are Emre now, wijkteam member, reading nl\n" in out
    # /new is not a member's command; Emre has no buttons, so his "2" is typed, not pressed
    assert "emre (wijkteammedewerker) > /new\n→ Emre: " in out and "emre (wijkteammedewerker) > 2\n→ Emre: " in out
    # back to Sara (by number): her newest buttons are shown again, and "2" presses hers
    assert "  (demo) you are Sara now, volunteer, reading nl\n  (demo) Sara's newest buttons:\n" in out
    assert "sara (vrijwilliger) > 2\n  you | [2] Nee\n✓ Sara: Nee\n→ Sara: Waar gaat de vraag over?" in out


async def test_people_lists_everyone_and_language_sets_the_first(env: Path) -> None:
    out = await play(None, env / "out", "/people\n/as\n", MONDAY, language="en")
    listed = [line for line in out.splitlines() if re.match(r" [ *]\d\. ", line)]
    assert len(listed) == 3 * 8  # the cast at the start, then twice on request
    assert any("Yusuf  volunteer at Demo-vereniging Het Kompas (invented) · reads tr · on WhatsApp" in line
               for line in listed)
    assert " *1. Sara   volunteer at Demo-stichting De Lantaarn (invented) · reads en" in listed
    assert any("Hodan  wijkteam member: Hodan Warsame, Buurtteam Overvecht · reads en" in line for line in listed)
    assert any("Petra  coordinator of Buurtteam Overvecht" in line for line in listed)


REQUEST_TO_EMRE = "\n".join([
    "/new", "[Nee]", "[School en onderwijs]", "[4–11 jaar]", "[Turks]", "3561",
    "De moeder vraagt hoe ze met de juf kan praten over de brieven van school.", "[Bewaren]",
    "[🤝 Emre Kocabaş]", "[De vrijwilliger en de ouder bellen samen]", "[De ouder vindt het goed]", "Fatma",
    "0612345678", "[Geen voorkeur]", "[Geen bijlage]", "[Verzoek versturen]", "/as emre",
])


async def test_later_moves_the_clock_the_timers_read_and_fires_the_reminder_then(env: Path) -> None:
    typed = REQUEST_TO_EMRE + "\n/later\n/later 1d\n/later 1d\n/later\n/later friday 12:00\n"
    out = await play(None, env / "out", typed, MONDAY)
    assert "(demo) it is Mon 2026-11-30 10:00 (Amsterdam time)" in out
    first, rest = out.split("/later 1d\n", 1)
    assert "Herinnering" not in first
    assert "  (demo) it is Tue 2026-12-01 10:00 now (Amsterdam time)" in rest
    second = rest.split("/later 1d\n", 1)[1]
    # 16 working hours after Monday 10:00 is Wednesday 10:00: shown at that moment, to Emre, in Dutch
    assert "⏱ Wed 2026-12-02 10:00\n→ Emre: ⏰ Herinnering: Sara wacht op je antwoord op H-100001." in second
    assert "(demo) it is Wed 2026-12-02 10:00 (Amsterdam time)" in second
    # no answer 16 working hours after the reminder: the wijkteam's coordinator, Petra, is alerted
    escalated = second.split("/later friday 12:00\n", 1)[1]
    assert "⏱ Fri 2026-12-04 10:00\n→ Petra: " in escalated and "H-100001" in escalated
    assert "  (demo) it is Fri 2026-12-04 12:00 now (Amsterdam time)" in escalated


async def test_bad_demo_input_is_answered_and_changes_nothing(env: Path) -> None:
    out = await play(None, env / "out", "/new\n/as zed\n/later soon\n/later 400d\n[Misschien]\n2\n/later\n", MONDAY)
    nobody = (
        "  (demo) nobody here is called “zed”: try one of Sara, Ayşe, Emre, Hodan, Karin, Petra, Nadia, Yusuf, "
        "or /people"
    )
    assert nobody in out
    assert "  (demo) “soon” is no time the demo knows: try /later 2d" in out and "; nothing changed" in out
    assert "  (demo) “400d” is more than a year on" in out
    assert "  (demo) Sara has no button [Misschien]; nothing was sent" in out
    assert "sara (vrijwilliger) > 2\n  you | [2] Nee\n✓ Sara: Nee" in out  # still Sara, her buttons still there
    assert "(demo) it is Mon 2026-11-30 10:00 (Amsterdam time)" in out  # the clock did not move


def test_tab_completes_the_demo_commands_and_the_peoples_names() -> None:
    session = Demo(None, demo_script.parse(DEFAULT_CAST), io.StringIO(), AMSTERDAM)  # type: ignore[arg-type]
    assert session.completions("/as a", "a") == ["ayşe"]
    assert session.completions("/as ", "") == ["sara", "ayşe", "emre", "hodan", "karin", "petra", "nadia", "yusuf"]
    assert session.completions("/l", "/l") == ["/later"]
    assert session.completions("hallo", "hallo") == []
    assert session.find("ayse") is session.people[1] and session.find("P") is session.people[5]
    assert session.find("x") is None and session.find("9") is None and session.find("0") is None


def test_without_out_the_files_go_to_a_kept_wijkbrug_demo_folder(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(env))
    assert cli.main(["demo", "--script", str(EXAMPLE)]) == 0
    kept = next(env.glob("wijkbrug-demo-*"))
    assert not kept.name.startswith("wijkbrug-demo-db-")  # the database's folder is gone
    assert sorted(p.name for p in kept.iterdir())[:1] == ["karin-summary-2.png"]
    assert f"saved: {kept}/petra-summary.png" in capsys.readouterr().out


def test_the_demo_commands_are_no_commands_of_the_bot() -> None:
    assert not set(DEMO_COMMANDS) & {name for commands in COMMANDS.values() for name in commands}


def test_later_reads_durations_and_days() -> None:
    now = MONDAY  # a Monday
    assert later("2d", now) == datetime(2026, 12, 2, 10, 0, tzinfo=AMSTERDAM)
    assert later("1d3h30m", now) == datetime(2026, 12, 1, 13, 30, tzinfo=AMSTERDAM)
    assert later("monday 09:00", now) == datetime(2026, 12, 7, 9, 0, tzinfo=AMSTERDAM)  # 09:00 today has passed
    assert later("Wed", now) == datetime(2026, 12, 2, 9, 0, tzinfo=AMSTERDAM)
    assert later("tomorrow 8:15", now) == datetime(2026, 12, 1, 8, 15, tzinfo=AMSTERDAM)
    for bad in ("", "soon", "2x", "monday 25:00", "mo"):
        assert later(bad, now) is None, bad


@pytest.mark.parametrize(
    ("script", "problem"),
    [
        ("Sara: volunteer lantaarn nl\nZed > /new\n", ":2: Zed is not declared in the header (declared: Sara)"),
        ("/new\n2\n", ":1: expected `Name: volunteer|member|coordinator BOUND LANGUAGE [by e-mail|by whatsapp]`"),
        ("Sara: volunteer lantaarn nl\nSara > [Misschien]\n", ":2: Sara has no button [Misschien]"),
        ("Emre: member c-nowhere nl\nEmre > /inbox\n", ":1: Emre: no contact 'c-nowhere' in the sample directory"),
        ("Sara: volunteer lantaarn nl\nclock: tomorrow\n", ":2: expected a time as YYYY-MM-DD HH:MM, not 'tomorrow'"),
        (
            "Sara: volunteer lantaarn nl\nstart: 2026-11-30 10:00\nclock: 2026-11-01 10:00\n",
            ":3: the clock only moves on (it is Mon 2026-11-30 10:00 now)",
        ),
    ],
)
def test_a_bad_script_is_refused_with_file_line_and_problem(
    env: Path, capsys: pytest.CaptureFixture[str], script: str, problem: str
) -> None:
    path = env / "bad.txt"
    path.write_text(script, "utf-8")
    assert cli.main(["demo", "--script", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"wijkbrug demo: {path}{problem}" in err, err


def said(transcript: str) -> list[dict[str, list[list[str]]]]:
    """What each person was sent after each action, in order: the messages, without their buttons
    (numbered in the demo), one-tap links (Telegram's) or the demo's own lines."""
    segments: list[dict[str, list[list[str]]]] = []
    block: list[str] | None = None
    for line in transcript.splitlines():
        if demo_script.is_action(line):
            segments.append({})
            block = None
        elif segments and (found := re.match(r"[→✓!📎] (\w+): ", line)):
            block = [line]
            segments[-1].setdefault(found.group(1), []).append(block)
        elif block is not None and line.startswith("  ") and not line.startswith(("    [", "    ⇢", "    saved: ")):
            block.append(line)
    return segments


@pytest.mark.parametrize("story", sorted((ROOT / "tests" / "stories").glob("*.txt")), ids=lambda p: p.stem)
async def test_every_story_replays_through_the_demo_to_what_the_telegram_channel_sent(env: Path, story: Path) -> None:
    """The demo runs the bot's code: each story (read by the same parser, replayed on Telegram by
    tests/story.py) gives every person the same messages in the console. Only the order between
    different people's messages may differ: the delivery worker sends to each address on its own."""
    assert said(await play(story, env / "out")) == said(story.read_text("utf-8"))


def test_the_readmes_first_command_starts_the_demo(tmp_path: Path) -> None:
    """`wijkbrug` without a token, in an empty folder, is the demo; the README says so first."""
    readme = (ROOT / "README.md").read_text("utf-8")
    first = readme.split("```sh\n", 1)[1].splitlines()[0]
    assert first == "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/wijkbrug"
    assert 'wijkbrug = "bot.cli:main"' in (ROOT / "pyproject.toml").read_text("utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WIJKBRUG_")}
    done = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main([]))"],
        input="/people\n", capture_output=True, text=True, cwd=tmp_path, env=environ, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Wijkbrug demo: the whole bridge in one terminal." in done.stdout
    assert "sara (vrijwilliger) > /people" in done.stdout and done.stderr == ""


def test_a_piped_demo_ends_when_the_input_does(env: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("/new\n"))
    assert cli.main(["demo", "--language", "tr"]) == 0
    out = capsys.readouterr().out
    assert "Önce bir güvenlik sorusu" in out
