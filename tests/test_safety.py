"""A child in danger: the volunteer is told only what is true, the alert reaches whoever can act,
with a one-tap link to the volunteer, and a "yes" pressed by mistake can be corrected."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot import cli
from bot.directory_file import load, sample_path
from db import alerts, conversations, invites
from db import directory as stored_directory
from db.connection import transaction
from flows.model import Role
from tests import updates
from tests.test_e2e_telegram import Wijkbrug, wijkbrug  # noqa: F401 - the fixture
from tests.test_runner import feed, invite, runner, sent  # noqa: F401 - the fixture
from tests.conftest import BACKENDS

VOLUNTEER, PETRA = 950, 951


async def press(runner, conn, chat: int, user_id: int, value: str) -> None:  # noqa: F811
    await feed(
        runner, updates.press(chat, 1, f"{(await conversations.load(conn, user_id)).token}|{value}", language_code="en")
    )


async def test_no_org_coordinator_the_wijkteam_coordinator_is_alerted_once_the_postcode_is_known_and_hears_a_correction(
    runner, conn, clock  # noqa: F811
) -> None:
    sample = load(sample_path())
    async with transaction(conn):
        await stored_directory.replace(conn, sample.directory, sample.away_given)
        team_code = (
            await invites.create(
                conn, role=Role.COORDINATOR, org_id=None, team_id="bt-overvecht", now=clock(),
                valid_for=timedelta(days=1),
            )
        ).code
    await feed(runner, updates.message(PETRA, f"/start {team_code}", first_name="Petra", language_code="en"))
    await feed(
        runner, updates.message(VOLUNTEER, f"/start {await invite(runner)}", first_name="Sara", language_code="en")
    )
    await feed(runner, updates.message(VOLUNTEER, "/new", language_code="en"))
    await sent(runner)

    await press(runner, conn, VOLUNTEER, 2, "yes")
    calls = await sent(runner)
    safety = calls[2][2]["text"]  # after the button's answer and its edit: the safety text, first
    assert safety.startswith("If a child is in acute danger, call 112 now.")
    assert "no coordinator in Wijkbrug yet" in safety and "call Veilig Thuis yourself now on 0800-2000" in safety
    assert not any(c[0] == str(PETRA) for c in calls)  # the postcode is not known yet
    assert await alerts.count(conn, "org:lantaarn") == 0

    for value in ["safety", "4-12", "tr"]:
        await press(runner, conn, VOLUNTEER, 2, value)
    await sent(runner)
    await feed(runner, updates.message(VOLUNTEER, "3561", language_code="en"))
    calls = await sent(runner)
    [alert] = [c[2] for c in calls if c[0] == str(PETRA)]
    assert (
        alert["text"].startswith("Urgent (") and "reports that a child in Overvecht may be in danger" in alert["text"]
    )
    assert alert["entities"][0]["type"] == "text_mention" and alert["entities"][0]["user"]["id"] == VOLUNTEER
    assert alert["text"].endswith("👤 Sara")
    told = next(c[2]["text"] for c in calls if c[0] == str(VOLUNTEER) and c[1] == "sendMessage")
    assert told.startswith("I have alerted the coordinator of Buurtteam Overvecht")

    await feed(runner, updates.message(VOLUNTEER, "An invented question.", language_code="en"))
    review = [c[2] for c in await sent(runner) if c[1] == "sendMessage"][-1]
    labels = [b["text"] for row in review["reply_markup"]["inline_keyboard"] for b in row]
    assert "Correct this: no child is in danger" in labels
    await press(runner, conn, VOLUNTEER, 2, "not_urgent")
    calls = await sent(runner)
    [correction] = [c[2]["text"] for c in calls if c[0] == str(PETRA)]
    assert (
        correction.startswith("Correction (")
        and "was a mistake" in correction
        and "sent at 10:00\u202fAM" in correction
    )
    draft = (await conversations.load(conn, 2)).draft
    assert draft is not None and draft.urgent is False and draft.alerted == ()

    await press(runner, conn, VOLUNTEER, 2, "save")  # saved as not urgent: no urgent alert follows
    assert not any(c[0] == str(PETRA) for c in await sent(runner))


async def test_an_alert_pressed_by_mistake_is_corrected_to_the_organisations_coordinator(runner, conn) -> None:  # noqa: F811
    await feed(
        runner,
        updates.message(
            PETRA, f"/start {await invite(runner, Role.COORDINATOR)}", first_name="Karin", language_code="nl"
        ),
    )
    await feed(
        runner, updates.message(VOLUNTEER, f"/start {await invite(runner)}", first_name="Sara", language_code="en")
    )
    await feed(runner, updates.message(VOLUNTEER, "/new", language_code="en"))
    await press(runner, conn, VOLUNTEER, 2, "yes")
    assert any(c[0] == str(PETRA) and "Dringend" in c[2]["text"] for c in await sent(runner))
    for value in ["safety", "4-12", "tr"]:
        await press(runner, conn, VOLUNTEER, 2, value)
    await feed(runner, updates.message(VOLUNTEER, "3561", language_code="en"))
    await feed(runner, updates.message(VOLUNTEER, "An invented question.", language_code="en"))
    await sent(runner)
    await press(runner, conn, VOLUNTEER, 2, "not_urgent")
    calls = await sent(runner)
    [correction] = [c[2]["text"] for c in calls if c[0] == str(PETRA)]
    assert correction.startswith("Correctie (") and "vergissing" in correction  # in the coordinator's language
    volunteer = [c[2]["text"] for c in calls if c[0] == str(VOLUNTEER) and c[1] == "sendMessage"][-1]
    assert volunteer.startswith("Corrected: no child is in danger.") and "Child in danger now: No" in volunteer
    # the correction is not offered twice
    await feed(runner, updates.message(VOLUNTEER, "/cancel", language_code="en"))
    assert "alert stands" not in (await sent(runner))[-1][2]["text"]


def test_users_list_names_every_organisation_without_a_coordinator(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WIJKBRUG_DATABASE", str(tmp_path / "w.sqlite3"))
    assert cli.main(["directory", "import", str(sample_path())]) == 0
    capsys.readouterr()
    assert cli.main(["users", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["id\trole\tscope\tlanguage\tstate", "(no users yet)"]
    warned = [line for line in out if line.startswith("warning: organisation ")]
    assert len(warned) == 5 and any(
        line.startswith("warning: organisation lantaarn has no coordinator") for line in warned
    )


async def test_the_operator_is_told_at_start_up_which_organisation_has_no_coordinator(wijkbrug: Wijkbrug) -> None:  # noqa: F811
    await wijkbrug.operator(
        "invite", "--role", "coordinator", "--org", "lantaarn"
    )  # an invite is not a coordinator yet
    await wijkbrug.start()
    await wijkbrug.api.wait_for(lambda _: "has no coordinator" in wijkbrug.logs(), timeout=20)
    await asyncio.sleep(0.2)
    assert await wijkbrug.stop() == 0
    lines = [line for line in wijkbrug.logs().splitlines() if "has no coordinator" in line]
    assert len(lines) == 5 and any(
        "WARNING bot.service: organisation lantaarn has no coordinator" in line for line in lines
    )


@pytest.mark.parametrize("language", ["nl", "tr", "ar", "pl", "uk", "ti", "so", "fa"])
def test_the_text_for_a_volunteer_nobody_can_alert_is_translated_and_keeps_the_number(language: str) -> None:
    from bot.i18n import Catalogs
    from flows import safety
    from flows.model import Env, User
    from flows.state import Draft
    from tests.test_files import NOW

    catalogs = Catalogs()
    user = User(id=1, role=Role.VOLUNTEER, org_id="lantaarn", language=language, name="Sara")
    env = Env(now=NOW, today=NOW.date(), new_code="Q-TEST", languages=catalogs.languages)
    [message], draft = safety.on_danger(user, env, Draft(urgent=True))
    text = catalogs.render_parts(message.parts, language)
    english = catalogs.render_parts(message.parts, "en")
    assert text != english and "0800-2000" in text and "112" in text and "Veilig Thuis" in text
    assert draft.alerted == ()


@pytest.mark.parametrize(
    ("alertable", "teams_told"), [({"org:lantaarn"}, []), ({"org:lantaarn", "team:bt-overvecht"}, ["bt-overvecht"])]
)
def test_an_urgent_question_saved_reaches_a_wijkteam_only_where_a_coordinator_can_read_it(
    alertable: set, teams_told: list
) -> None:
    from flows import session
    from flows.model import Choice, ToCoordinators, User
    from flows.state import Conversation, Draft, Step
    from tests.test_files import ENV

    draft = Draft(
        urgent=True, theme="safety", age_group="4-12", parent_language="tr", pc4="3561", text="Invented.",
        alerted=("org:lantaarn",),
    )
    state = Conversation(step=Step.REVIEW, draft=draft, token=4)
    user = User(id=1, role=Role.VOLUNTEER, org_id="lantaarn", language="en", name="Sara")
    moved = session.step(state, user, Choice(data="4|save"), ENV.model_copy(update={"alertable": frozenset(alertable)}))
    told = [m for m in moved.messages if isinstance(m.to, ToCoordinators)]
    assert [m.to.team_id for m in told] == teams_told  # nothing is addressed to a team nobody reads
    assert all(m.reach == 1 for m in told)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """This module's tests run on SQLite and on PostgreSQL (tests/conftest.py)."""
    return str(request.param)
