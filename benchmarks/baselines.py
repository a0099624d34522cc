"""The bots the load benchmark runs, how each is started, and the throw-away environments of the
baselines that need packages Wijkbrug does not depend on (or must not see Wijkbrug's).

| kind | what | environment |
|---|---|---|
| wijkbrug | `wijkbrug run`, Telegram's pacing lifted (the fake server has no limits) | the project's |
| wijkbrug-paced | the same with its default pacing (Telegram's limits) | the project's |
| ptb-intake | the intake as a team would build it with PTB (benchmarks/intake_ptb.py) | PTB alone |
| ptb-echo | plain PTB echo: defaults, sequential, httpx (benchmarks/echo_ptb.py plain) | PTB alone |
| ptb-echo-wijkbrug | PTB echo configured as Wijkbrug configures PTB (echo_ptb.py wijkbrug) | the project's |
| aiogram-echo | bare aiogram 3 echo (benchmarks/echo_aiogram.py) | aiogram alone |

"PTB alone" is `pip install python-telegram-bot==` the release Wijkbrug has, into a fresh venv, as
a user installs it; aiogram has its own (it pins pydantic below the version Wijkbrug uses). Both
are made on first use under the cache folder (BENCH_VENVS, which the Makefile names; default
.bench-venvs, outside benchmarks/, whose modules tests/test_module_size.py reads), from the package
registry pip is set up with, and kept for the next run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "benchmarks"
TOKEN = "123:BENCH"
KINDS = ("wijkbrug", "wijkbrug-paced", "ptb-intake", "ptb-echo", "ptb-echo-wijkbrug", "aiogram-echo")
INTAKE_KINDS = ("wijkbrug", "wijkbrug-paced", "ptb-intake")  # whose people go through the intake
REQUIREMENTS = {"ptb": f"python-telegram-bot=={version('python-telegram-bot')}", "aiogram": "aiogram==3.31.0"}
VENVS = Path(os.environ.get("BENCH_VENVS", ROOT / ".bench-venvs")).resolve()


def environment(name: str, venvs: Path = VENVS) -> Path:
    """The interpreter of a baseline's own venv, made (or remade, when its requirement changed) now."""
    folder = venvs / name
    python, made = folder / "bin" / "python", folder / "installed.txt"
    wanted = REQUIREMENTS[name]
    if not made.exists() or made.read_text() != wanted:
        print(f"making {folder} for the baselines ({wanted}) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", wanted], check=True)
        made.write_text(wanted)
    return python


def bot_command(kind: str, api_url: str, folder: Path, venvs: Path = VENVS) -> list[str]:
    if kind in ("wijkbrug", "wijkbrug-paced"):
        if profile := os.environ.get("WIJKBRUG_PROFILE"):  # pyinstrument's report of the bot, written at exit
            return [sys.executable, "-m", "pyinstrument", "--renderer", "text", "-o", profile, "-m", "bot.cli", "run"]
        return [sys.executable, "-m", "bot.cli", "run"]
    if kind == "ptb-echo-wijkbrug":
        return [sys.executable, str(HERE / "echo_ptb.py"), "wijkbrug"]
    if kind == "ptb-echo":
        return [str(environment("ptb", venvs)), str(HERE / "echo_ptb.py"), "plain", TOKEN, api_url]
    if kind == "ptb-intake":
        return [str(environment("ptb", venvs)), str(HERE / "intake_ptb.py"), TOKEN, api_url,
                str(folder / "directory.json"), str(folder / "intake.pickle")]
    if kind == "aiogram-echo":
        return [str(environment("aiogram", venvs)), str(HERE / "echo_aiogram.py"), TOKEN, api_url.removesuffix("/bot")]
    raise ValueError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")


def bot_env(api_url: str, file_url: str, folder: Path, paced: bool) -> dict[str, str]:
    """Wijkbrug's settings (the echo configured as Wijkbrug reads them too); with `paced` its
    default pacing stays, else it is lifted. The flood limit is lifted always (one fake server
    speaks for every person)."""
    env = {
        **os.environ, "WIJKBRUG_TELEGRAM_TOKEN": TOKEN, "WIJKBRUG_TELEGRAM_API_URL": api_url,
        "WIJKBRUG_TELEGRAM_FILE_URL": file_url, "WIJKBRUG_DATABASE": str(folder / "wijkbrug.sqlite3"),
        "WIJKBRUG_KEY_FILE": str(folder / "wijkbrug.key"), "WIJKBRUG_POLL_TIMEOUT": "10",
        "WIJKBRUG_FLOOD_PER_MINUTE": "100000", "PYTHONFAULTHANDLER": "1",
    }
    if not paced:
        env |= {"WIJKBRUG_SEND_PER_SECOND": "100000", "WIJKBRUG_CHAT_PER_SECOND": "100000"}
    return env
