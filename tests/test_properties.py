"""Property-based tests: random sequences of commands, texts (huge, empty, control and bidi
characters, emoji), stale and forged button data, and attachments, sent to every flow of every
role. No exception escapes, the state always round-trips through JSON, every message renders in
every language, and nothing reaches another organisation.

The walk is guided, or it would never get past a postcode: most inputs answer the open prompt (a
button of it, or for a step that wants typing, a valid answer), the rest are random. The
directory and who uses Wijkbrug are set up so a request can be put together, and a guard checks
that the run really reached every step of the intake and of a request."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.directory_file import load, sample_path
from bot.i18n import Catalogs
from flows import session
from flows.model import (
    Attachment,
    Choice,
    Command,
    Env,
    OpenCase,
    Role,
    Said,
    SetLanguage,
    ToCoordinators,
    ToUser,
    Unread,
    User,
)
from flows.needs import needs
from flows.state import Conversation, Step

CATALOGS = Catalogs()
DIRECTORY = load(sample_path()).directory
NOW = datetime(2026, 11, 30, 10, tzinfo=UTC)
ENV = Env(
    now=NOW, today=NOW.date(), new_code="Q-TEST", new_case_id="H-TEST01", languages=CATALOGS.languages,
    directory=DIRECTORY, reachable={"c-overvecht-2": 2, "c-overvecht-3": 3},
)
UNREAD = ENV.model_copy(update={"reachable": Unread("reachable"), "open_handovers": Unread("open_handovers")})
STEPS_REACHED: set[Step | None] = set()
EFFECTS_SEEN: set[str] = set()
# A valid typed answer for each step that wants typing (the parent's details are invented).
ANSWERS = {
    Step.POSTCODE: Said(text="3561 AB"),
    Step.TEXT: Said(text="The mother got a letter from school and does not understand it."),
    Step.SHORT_VERSION: Said(text="Een brief van school die de moeder niet begrijpt."),
    Step.PARENT_NAME: Said(text="Fatma"),
    Step.PARENT_PHONE: Said(text="06 12345678"),
    Step.CALL_TIME: Said(text="mornings"),
    Step.ATTACH: Attachment(
        media="document", file_id="f1", file_name="letter.pdf", mime_type="application/pdf", size=80_000
    ),
}
INTAKE = (Step.DANGER, Step.THEME, Step.AGE, Step.PARENT_LANGUAGE, Step.POSTCODE, Step.TEXT, Step.REVIEW)
REQUEST = (
    Step.SUGGESTED, Step.SHORT_VERSION, Step.WAY, Step.CONSENT, Step.PARENT_NAME, Step.PARENT_PHONE,
    Step.CALL_TIME, Step.ATTACH, Step.SEND,
)
COMMANDS = [
    "new", "cancel", "help", "language", "contacts", "cases", "inbox", "away", "back", "summary", "export", "start",
    "frobnicate",
]

texts = st.one_of(
    st.text(max_size=30),
    st.text(min_size=900, max_size=1200),
    st.sampled_from(
        [
            "", "   ", "\u202e3561\u202c", "\x00\x07\x1b[31m", "😀👨‍👩‍👧" * 50, "٣٥٦١", "3561 AB", "06 12345678",
            "24-12", "Tamil",
        ]
    ),
)
inputs = st.one_of(
    st.builds(
        Command, name=st.sampled_from(COMMANDS), args=st.sampled_from(["", "tr", "ar", "24-12", "last", "x" * 70])
    ),
    st.builds(Said, text=texts),
    st.builds(
        Choice, data=st.one_of(st.text(max_size=70), st.from_regex(r"\d{1,3}\|[a-z_:0-9-]{0,20}", fullmatch=True))
    ),
    st.builds(
        Attachment, media=st.sampled_from(["photo", "document", "voice", "sticker"]),
        file_id=st.sampled_from(["", "f1"]),
    ),
)


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
# Walks that reach, whatever the random draws do, what the guard below wants: the whole intake and a
# request in Polish (the member reads no Polish, so the short version is asked), and the two menus.
@example(role=Role.VOLUNTEER, language="pl", events=[], picks=[1, 1, 1, 1, 5] + [1] * 35)
@example(role=Role.VOLUNTEER, language="en", events=[Command(name="language")], picks=[0] * 40)
@example(role=Role.VOLUNTEER, language="en", events=[Command(name="contacts")], picks=[0] * 40)
@given(
    role=st.sampled_from(list(Role)), language=st.sampled_from(CATALOGS.languages),
    events=st.lists(inputs, max_size=30), picks=st.lists(st.integers(0, 99), min_size=40, max_size=40),
)
def test_no_input_breaks_a_flow(role: Role, language: str, events: list, picks: list[int]) -> None:
    user = User(
        id=1, role=role, org_id=None if role is Role.MEMBER else "lantaarn", language=language, name="Amina",
        contact_id="c-overvecht-2" if role is Role.MEMBER else None,
    )
    state = Conversation()
    buttons: list[str] = []
    for i, pick in enumerate(picks):  # the random inputs come first, among answers; then answers only
        guide, drawn = pick % 4, events[i] if i < len(events) else None
        if guide in (1, 2) and state.step in ANSWERS:  # mostly a valid answer to the open prompt
            event = ANSWERS[state.step]
        elif buttons and (guide != 0 or drawn is None):  # or a real button of the newest prompt
            event = Choice(data=buttons[pick // 4 % len(buttons)])
        else:
            event = drawn or Command(name="new")
        # What the loader would not read for this step is not there (bot/loading.py): a look at it raises.
        env = ENV if needs(state, user, event).matching else UNREAD
        moved = session.step(state, user, event, env)
        state = Conversation.model_validate_json(moved.state.model_dump_json())
        assert state == moved.state
        # Nobody else is addressed by a user's own flow, but the member a request it sends goes to.
        addressed = {1} | {e.member_id for e in moved.effects if isinstance(e, OpenCase)}
        for message in moved.messages:
            if isinstance(message.to, ToUser):
                assert message.to.user_id in addressed
            else:
                assert isinstance(message.to, ToCoordinators) and message.to.org_id in (None, "lantaarn")
            rendered = CATALOGS.render_parts(message.parts, user.language)
            assert rendered.strip()
            assert "\u202e" not in rendered  # a bidi override typed by a user never reaches a message
            for row in message.buttons:
                for button in row:
                    assert len(button.data.encode()) <= 64 and CATALOGS.render(button.label, user.language)
        new_buttons = [b.data for m in moved.messages for row in m.buttons for b in row]
        if new_buttons:
            buttons = new_buttons
        for effect in moved.effects:
            EFFECTS_SEEN.add(effect.kind)
            if isinstance(effect, SetLanguage):
                user = user.model_copy(update={"language": effect.language})
        STEPS_REACHED.add(state.step)


def test_the_random_conversations_went_deep() -> None:
    """A guard on the test above: its inputs reach every step of the intake and of a request
    (the steps a volunteer goes through, up to sending it), and the menus."""
    if not STEPS_REACHED:  # run alone: the test above has not run yet
        test_no_input_breaks_a_flow()
    wanted = {*INTAKE, *REQUEST, Step.LANGUAGE, Step.BROWSE}
    assert wanted <= STEPS_REACHED, f"never reached: {sorted(s.value for s in wanted - STEPS_REACHED)}"
    sent = {"log_question", "record_consent", "save_parent", "add_attachment", "open_case"}  # a handover went out
    assert sent <= EFFECTS_SEEN, f"never returned: {sorted(sent - EFFECTS_SEEN)}"
