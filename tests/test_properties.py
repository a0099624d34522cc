"""Property-based tests: random sequences of commands, texts (huge, empty, control and bidi
characters, emoji), stale and forged button data, and attachments, sent to every flow of every
role. No exception escapes, the state always round-trips through JSON, every message renders in
every language, and nothing reaches another organisation."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.directory_file import load, sample_path
from bot.i18n import Catalogs
from flows import session
from flows.model import Attachment, Choice, Command, Env, Role, Said, SetLanguage, ToCoordinators, ToUser, User
from flows.state import Conversation

CATALOGS = Catalogs()
DIRECTORY = load(sample_path()).directory
NOW = datetime(2026, 11, 30, 10, tzinfo=UTC)
ENV = Env(
    now=NOW, today=NOW.date(), new_code="Q-TEST", new_case_id="H-TEST01", languages=CATALOGS.languages,
    directory=DIRECTORY, reachable={"c-overvecht-2": 2, "c-overvecht-3": 3},
)
STEPS_REACHED: set = set()
COMMANDS = ["new", "cancel", "help", "language", "contacts", "cases", "inbox", "away", "back", "summary", "export", "start", "frobnicate"]

texts = st.one_of(
    st.text(max_size=30),
    st.text(min_size=900, max_size=1200),
    st.sampled_from(["", "   ", "\u202e3561\u202c", "\x00\x07\x1b[31m", "😀👨‍👩‍👧" * 50, "٣٥٦١", "3561 AB", "06 12345678", "24-12", "Tamil"]),
)
inputs = st.one_of(
    st.builds(Command, name=st.sampled_from(COMMANDS), args=st.sampled_from(["", "tr", "ar", "24-12", "last", "x" * 70])),
    st.builds(Said, text=texts),
    st.builds(Choice, data=st.one_of(st.text(max_size=70), st.from_regex(r"\d{1,3}\|[a-z_:0-9-]{0,20}", fullmatch=True))),
    st.builds(Attachment, media=st.sampled_from(["photo", "document", "voice", "sticker"]), file_id=st.sampled_from(["", "f1"])),
)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(role=st.sampled_from(list(Role)), language=st.sampled_from(CATALOGS.languages), events=st.lists(inputs, max_size=30), picks=st.lists(st.integers(0, 20), min_size=30, max_size=30))
def test_no_input_breaks_a_flow(role: Role, language: str, events: list, picks: list[int]) -> None:
    user = User(id=1, role=role, org_id=None if role is Role.MEMBER else "lantaarn", language=language, name="Amina", contact_id="c-overvecht-2" if role is Role.MEMBER else None)
    state = Conversation()
    buttons: list[str] = []
    reached = STEPS_REACHED
    for i, event in enumerate(events):
        if buttons and i < len(picks) and picks[i] % 4 != 0:  # mostly a real button of the newest prompt
            event = Choice(data=buttons[picks[i] % len(buttons)])
        moved = session.step(state, user, event, ENV)
        state = Conversation.model_validate_json(moved.state.model_dump_json())
        assert state == moved.state
        for message in moved.messages:
            if isinstance(message.to, ToUser):
                assert message.to.user_id == 1  # nobody else is addressed by a user's own flow here
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
            if isinstance(effect, SetLanguage):
                user = user.model_copy(update={"language": effect.language})
        reached.add(state.step)


def test_the_random_conversations_went_deep() -> None:
    """A guard on the test above: its random inputs reach the steps of the intake and of a request."""
    from flows.state import Step

    test_no_input_breaks_a_flow()
    assert {Step.DANGER, Step.THEME, Step.AGE, Step.PARENT_LANGUAGE, Step.LANGUAGE, Step.BROWSE} <= STEPS_REACHED
