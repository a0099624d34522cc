"""The operator's command line: clear errors naming file, line and problem; invites; the demo."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import cli, directory_file



@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's folder
    database = tmp_path / "data" / "test.sqlite3"
    monkeypatch.setenv("WIJKBRUG_DATABASE", str(database))
    monkeypatch.delenv("WIJKBRUG_TELEGRAM_TOKEN", raising=False)
    monkeypatch.delenv("WIJKBRUG_BOT_USERNAME", raising=False)
    return database


def test_run_without_a_token_says_which_variable_to_set(env, capsys) -> None:
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert "WIJKBRUG_TELEGRAM_TOKEN" in err and "BotFather" in err and len(err.strip().splitlines()) == 1


def test_migrate_creates_the_database(env, capsys) -> None:
    assert cli.main(["migrate"]) == 0
    assert env.exists() and "001_initial.sql" in capsys.readouterr().out
    assert cli.main(["migrate"]) == 0
    assert "applied" not in capsys.readouterr().out


def test_invite_needs_a_known_organisation(env, capsys) -> None:
    assert cli.main(["migrate"]) == 0
    assert cli.main(["invite", "--role", "volunteer", "--org", "lantaarn"]) == 2
    assert "unknown organisation 'lantaarn'" in capsys.readouterr().err


def test_invite_prints_code_link_and_expiry_as_json(env, capsys, monkeypatch) -> None:
    assert cli.main(["directory", "import", str(directory_file.sample_path())]) == 0
    out = capsys.readouterr().out
    assert "imported (5 organisations, 10 wijken, 10 teams, 36 contacts, 7 services)" in out
    assert "contacts added (36): c-binnenstad-1" in out
    monkeypatch.setenv("WIJKBRUG_BOT_USERNAME", "wijkbrug_demo_bot")
    before = datetime.now(UTC).replace(microsecond=0)  # the command reads the real clock: bracket it
    assert cli.main(["invite", "--role", "volunteer", "--org", "lantaarn", "--json"]) == 0
    after = datetime.now(UTC)
    made = json.loads(capsys.readouterr().out)
    assert made["link"] == f"https://t.me/wijkbrug_demo_bot?start={made['code']}"
    expires = datetime.fromisoformat(made["expires_at"])  # shown to the second
    assert before + timedelta(days=14) <= expires <= after + timedelta(days=14)  # made then, valid 14 days
    assert len(made["code"]) >= 16 and all(c.isalnum() or c in "-_" for c in made["code"])


def test_importing_the_same_directory_again_changes_nothing(env, capsys) -> None:
    assert cli.main(["directory", "import", str(directory_file.sample_path())]) == 0
    capsys.readouterr()
    assert cli.main(["directory", "import", str(directory_file.sample_path())]) == 0
    assert "nothing changed" in capsys.readouterr().out


def test_a_member_invite_is_bound_to_a_directory_entry(env, capsys) -> None:
    assert cli.main(["directory", "import", str(directory_file.sample_path())]) == 0
    assert cli.main(["invite", "--role", "member", "--contact", "c-overvecht-1", "--json"]) == 0
    assert "code" in json.loads(capsys.readouterr().out.splitlines()[-1])
    assert cli.main(["invite", "--role", "member", "--contact", "c-nobody"]) == 2
    assert "unknown contact 'c-nobody'" in capsys.readouterr().err
    assert cli.main(["invite", "--role", "member", "--org", "lantaarn"]) == 2
    assert cli.main(["invite", "--role", "volunteer", "--contact", "c-overvecht-1"]) == 2
    assert cli.main(["invite", "--role", "coordinator", "--team", "bt-overvecht"]) == 0
    assert cli.main(["invite", "--role", "coordinator", "--team", "bt-nowhere"]) == 2
    assert cli.main(["invite", "--role", "volunteer", "--team", "bt-overvecht"]) == 2


def test_export_writes_what_import_reads_back(env, tmp_path, capsys) -> None:
    assert cli.main(["directory", "import", str(directory_file.sample_path())]) == 0
    exported = tmp_path / "exported.yaml"
    assert cli.main(["directory", "export", "-o", str(exported)]) == 0
    back, sample = directory_file.load(exported).directory, directory_file.load(directory_file.sample_path()).directory
    assert sorted(back.organisations, key=lambda o: o.id) == sorted(sample.organisations, key=lambda o: o.id)
    assert (back.wijken, back.teams, back.contacts, back.services) == (sample.wijken, sample.teams, sample.contacts, sample.services)
    capsys.readouterr()
    assert cli.main(["directory", "import", str(exported)]) == 0
    assert "nothing changed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("organisations:\n  - id: ok\n    name: A\n  - id: Bad Id\n    name: B\n", ":4: organisations[1].id: String should match pattern"),
        ("organisations:\n  - id: a\n    name: A\n  - id: a\n    name: B\n", ":4: organisations[1]: id 'a' is already on line 2"),
        ("organisations:\n  - id: a\n    nam: A\n", ":3: organisations[0].nam: Extra inputs are not permitted"),
        ("organisations:\n  - id: a\n    name: A\n   - oops\n", ":4: not valid YAML"),
        ("organisations:\n  - id: a\n    name: A\n    name: B\n", ":4: 'name' appears twice"),
        ("wijkteams: []\n", ":1: wijkteams: Extra inputs are not permitted"),
    ],
)
def test_a_bad_directory_file_is_refused_with_file_line_and_problem(env, tmp_path, capsys, content, expected) -> None:
    path = tmp_path / "directory.yaml"
    path.write_text(content, "utf-8")
    assert cli.main(["directory", "import", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}{expected}" in err, err
    assert not env.exists() or cli.main(["invite", "--role", "volunteer", "--org", "a"]) == 2  # nothing written


def test_check_validates_without_writing(env, capsys) -> None:
    assert cli.main(["directory", "import", "--check", str(directory_file.sample_path())]) == 0
    assert "valid (5 organisations, 10 wijken, 10 teams, 36 contacts, 7 services)" in capsys.readouterr().out
    assert not env.exists()


def test_i18n_check_passes_and_review_lists_what_native_speakers_should_read(env, capsys) -> None:
    assert cli.main(["i18n", "check"]) == 0
    assert "all catalogs complete" in capsys.readouterr().out
    assert cli.main(["i18n", "review"]) == 0
    listed = capsys.readouterr().out.splitlines()
    # every catalog but the Dutch one (written by a native speaker) marks its child-safety text
    safety = {line.split("\t")[0] for line in listed if "If a child is in acute danger" in line}
    assert safety == {"tr", "ar", "pl", "uk", "ti", "so", "fa"}


def test_summary_for_operators_as_text_csv_and_png(env, tmp_path, capsys) -> None:
    assert cli.main(["directory", "import", str(directory_file.sample_path())]) == 0
    capsys.readouterr()
    assert cli.main(["summary", "--org", "lantaarn", "--week", "last", "--language", "en"]) == 0
    out = capsys.readouterr().out
    assert "📊 Summary for Demo-stichting De Lantaarn (invented), week" in out and "0 questions logged" in out
    assert cli.main(["summary", "--team", "bt-overvecht", "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("\ufefftype,code,question,date")
    chart = tmp_path / "week.png"
    assert cli.main(["summary", "--team", "bt-overvecht", "--format", "png", "--language", "ar", "-o", str(chart)]) == 0
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert cli.main(["summary", "--org", "nowhere"]) == 2
    assert cli.main(["summary", "--org", "lantaarn", "--week", "2099-W01"]) == 2
    assert "--week '2099-W01'" in capsys.readouterr().err


def test_summary_mistakes_get_one_line_and_a_non_zero_exit(env, tmp_path, capsys) -> None:
    assert cli.main(["directory", "import", str(directory_file.sample_path())]) == 0
    capsys.readouterr()
    assert cli.main(["summary", "--org", "lantaarn", "--format", "png", "-o", "/nodir/x.png"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "wijkbrug summary: -o /nodir/x.png: the folder /nodir does not exist" and "Traceback" not in err
    blocked = tmp_path / "a-file"
    blocked.write_text("in the way")
    assert cli.main(["summary", "--org", "lantaarn", "-o", str(blocked / "x.txt")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert cli.main(["summary", "--org", "lantaarn", "--language", "xx"]) == 2
    err = capsys.readouterr().err
    assert "--language 'xx': not a language Wijkbrug ships" in err and len(err.strip().splitlines()) == 1
    assert cli.main(["summary", "--org", "lantaarn", "--language", "ar"]) == 0  # a shipped one is fine
    capsys.readouterr()
    for week, why in [("2026-W54", "there is no week 2026-W54"), ("0001-W01", "there is no week 0001-W01")]:
        assert cli.main(["summary", "--org", "lantaarn", "--week", week]) == 2
        assert why in capsys.readouterr().err
    assert cli.main(["summary", "--org", "lantaarn", "--excel"]) == 2
    assert "--excel is for --format csv" in capsys.readouterr().err


def test_summary_csv_for_a_dutch_excel(env, tmp_path, capsys) -> None:
    assert cli.main(["directory", "import", str(directory_file.sample_path())]) == 0
    out = tmp_path / "week.csv"
    assert cli.main(["summary", "--org", "lantaarn", "--format", "csv", "--excel", "-o", str(out)]) == 0
    assert out.read_bytes().startswith("\ufefftype;code;question;date;theme".encode())


@pytest.mark.parametrize(
    "argv",
    [
        ["users", "list"], ["invites", "list"], ["audit"], ["erase", "--user", "1"], ["erase", "--question", "Q-AAAA"],
        ["backup", "copy.sqlite3"], ["rotate-key"], ["summary", "--org", "lantaarn"], ["directory", "export"],
        ["invite", "--role", "volunteer", "--org", "lantaarn"], ["users", "revoke", "1"], ["invites", "revoke", "abc"],
    ],
)
def test_a_command_that_reads_data_refuses_a_database_that_does_not_exist(env, capsys, argv) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err == f"wijkbrug {argv[0]}: {env}: no such database; check WIJKBRUG_DATABASE (only `run`, `migrate` and `directory import` create one)\n"
    assert not env.exists() and not env.parent.exists()  # no empty database, no folder, no key file


def test_lists_print_a_header_and_say_when_there_is_nothing(env, capsys) -> None:
    assert cli.main(["migrate"]) == 0
    capsys.readouterr()
    for argv, header, empty in [
        (["users", "list"], "id\trole\tscope\tlanguage\tstate", "(no users yet)"),
        (["invites", "list"], "ref\trole\tfor\texpires\tstate", "(no invites yet)"),
        (["audit"], "at\tactor\taction\tsubject\tdetail", "(the audit log is empty)"),
    ]:
        assert cli.main(argv) == 0
        assert capsys.readouterr().out.splitlines() == [header, empty]
    assert cli.main(["directory", "import", str(directory_file.sample_path())]) == 0
    assert cli.main(["invite", "--role", "volunteer", "--org", "lantaarn"]) == 0
    capsys.readouterr()
    assert cli.main(["invites", "list"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert row.split("\t")[1:3] == ["volunteer", "lantaarn"] and row.endswith("\topen")
