"""Commands (/new, /cases, /language, …): which role has which, what /help says of them, and
what each does. A command works from any step; a role's commands are in `COMMANDS`."""

from __future__ import annotations

import re
from collections.abc import Callable

from flows import case_rules, cases, intake, summary
from flows.asking import ask, detour, reask, reply, say
from flows.away import parse_day
from flows.directory import Directory
from flows.model import Command, Effect, Env, Message, Notice, Role, SetAway, ToUser, Transition, Upload, User
from flows.spec import Part
from flows.state import Conversation, Draft, Step
from flows.steps import cancel, question_line, set_language
from flows.text import Day, Text, lang, layout, ltr, t

COMMANDS: dict[Role, tuple[str, ...]] = {
    Role.VOLUNTEER: ("new", "cases", "contacts", "cancel", "language", "help"),
    Role.MEMBER: ("inbox", "contacts", "away", "back", "cancel", "language", "help"),
    Role.COORDINATOR: ("summary", "export", "contacts", "language", "help"),
}

COMMAND_HELP: dict[str, Text] = {
    "new": t("log a parent's question"),
    "cases": t("your requests and where they stand"),
    "inbox": t("the requests waiting for you"),
    "summary": t("the week's summary (also: /summary last, /summary 2026-W47)"),
    "export": t("the week's figures as a CSV file, without names"),
    "contacts": t("the wijkteams and their people, by wijk"),
    "away": t("say you are away until a date"),
    "back": t("say you are back"),
    "cancel": t("stop what you are doing; nothing is saved"),
    "language": t("choose your language"),
    "help": t("what I can do for you"),
}


def bot_disclosure(role: Role) -> Text:
    """What the bot is, and which person to turn to: a coordinator is that person for the others."""
    if role is Role.COORDINATOR:
        return t(
            "I am Wijkbrug, a bot. I do not give advice myself: I help you reach the right people. "
            "To talk to a person about Wijkbrug, contact its operator, who sent you your invite link."
        )
    return t(
        "I am Wijkbrug, a bot. I do not give advice myself: I help you reach the right people. "
        "To talk to a person, contact your organisation's coordinator."
    )


def help_parts(user: User) -> tuple[Part, ...]:
    lines = tuple(
        # TRANSLATORS: one line of the command list, e.g. "/new – log a parent's question".
        t("{command} – {meaning}", command=ltr(f"/{name}"), meaning=COMMAND_HELP[name])
        for name in COMMANDS[user.role]
    )
    return (bot_disclosure(user.role), (t("What you can do:"), *lines))


def command(state: Conversation, user: User, given: Command, env: Env) -> Transition:
    name = given.name
    if name not in COMMANDS[user.role] and name != "start":
        if name in COMMAND_HELP:
            return reply(state, user, t("That command is not for your role."), *help_parts(user))
        unknown = t("I do not know the command {command}. Send /help to see what you can do.", command=ltr(f"/{name}"))
        return reply(state, user, unknown)
    return _HANDLERS[name](state, user, env, given)


def _help(state: Conversation, user: User, env: Env, given: Command) -> Transition:
    return reply(state, user, *help_parts(user))


def _new(state: Conversation, user: User, env: Env, given: Command) -> Transition:
    if state.draft is not None:
        return reask(state, user, env, t("You are already logging a question. Carry on below, or send /cancel to stop."))
    # A fresh start: a request being put together (the parent's name and number) is dropped.
    return ask(Conversation(token=state.token), user, env, intake.ORDER[0], draft=Draft())


def _contacts(state: Conversation, user: User, env: Env, given: Command) -> Transition:
    if not env.directory.wijken:
        return reply(state, user, t("The directory of wijkteams is empty; the operator has not loaded it yet."))
    return detour(state, user, env, Step.BROWSE)


def _cancel(state: Conversation, user: User, env: Env, given: Command) -> Transition:
    return cancel(state, user)


def _language(state: Conversation, user: User, env: Env, given: Command) -> Transition:
    """/language, /language tr or /language Turks: set it if Wijkbrug writes it; otherwise say so,
    and show the languages it writes in."""
    asked = intake.clean_text(given.args)[: intake.OTHER_LANGUAGE_LIMIT]
    if not asked:
        return detour(state, user, env, Step.LANGUAGE)
    code = asked.lower().replace("-", "_")
    if code not in env.languages and env.language_of is not None:
        code = env.language_of(asked) or code
    if code in env.languages:
        return set_language(state, user, env, code)
    named = env.language_of(asked) if env.language_of is not None else None
    if named is None and re.fullmatch(r"[a-z]{2,3}(_[a-z]{2,4})?", code):
        named = code  # a language code (de, pt_br): named by Babel if it knows it, else shown as typed
    if named is None:  # not a language: not repeated back (it could be anything)
        nope = t("That is not one of the languages I write in.")
    else:
        # TRANSLATORS: {language} is a language's name (e.g. "German"), or a code such as "xx".
        nope = t("{language} is not one of the languages I write in.", language=lang(named))
    return detour(state, user, env, Step.LANGUAGE, nope)


def _availability(state: Conversation, user: User, env: Env, given: Command) -> Transition:
    if user.contact_id is None or env.directory.contact(user.contact_id) is None:
        return reply(state, user, t("Your account is not linked to an entry of the wijkteam directory. Please ask the operator."))
    if given.name == "back":
        effect = SetAway(contact_id=user.contact_id, until=None)
        done = t("Welcome back! Volunteers can find you again, and requests come to you again.")
        return Transition(state=state, messages=(say(user, done),), effects=(effect,))
    day = parse_day(given.args, env.today)
    if day is None:
        return reply(
            state,
            user,
            t(
                "Until which day are you away? Send it like this: {example1} or {example2} "
                "(a date from today up to a year ahead).",
                example1=ltr("/away 24-12"),
                example2=ltr("/away 2027-01-06"),
            ),
        )
    effects: list[Effect] = [SetAway(contact_id=user.contact_id, until=day)]
    done = t(
        "You are away until {day}. Until then volunteers are sent to your colleagues. Send /back when you are back earlier.",
        day=Day(on=day),
    )
    messages = [say(user, done)]
    # Requests still waiting for this member go to the team's coordinator now, not after the timers.
    for case in env.my_cases:
        if case.member_id == user.id and case.status == case_rules.WAITING:
            told, changed = cases.escalate(case, t("{name} is away until {day}.", name=case.contact_name, day=Day(on=day)), env.now)
            messages += told
            effects += changed
    return Transition(state=state, messages=tuple(messages), effects=tuple(effects))


def _list_cases(state: Conversation, user: User, env: Env, given: Command) -> Transition:
    mine = [c for c in env.my_cases if (c.member_id == user.id) == (user.role is Role.MEMBER)]
    if user.role is Role.MEMBER:
        mine = [c for c in mine if c.status in cases.OPEN]
        if not mine:
            return reply(state, user, t("No requests are waiting for you."))
        head = t("Requests for you:")
    else:
        if not mine and not env.my_questions:
            return reply(state, user, t("You have not sent any requests yet. Log a question with /new."))
        head = t("Your requests:")
    lines = tuple(cases.summary_line(c) for c in mine)
    buttons = tuple((case_rules.button(c, "show", layout("{case}", case=ltr(c.id))),) for c in mine[:10])
    listed = Transition(state=state, messages=(say(user, head, lines, buttons=buttons),) if mine else ())
    if user.role is Role.MEMBER or not env.my_questions:
        return listed
    # Saved questions nobody was asked about yet: pick one to ask someone now.
    waiting = t("Questions without a request yet:")
    if state.draft is not None:  # picking one would drop the question being logged
        later = t("To ask someone about one of them, first finish or /cancel the question you are logging.")
        lines_q = tuple(question_line(q, env) for q in env.my_questions)
        return listed.model_copy(update={"messages": (*listed.messages, say(user, waiting, lines_q, later))})
    picked = ask(state, user, env, Step.PICK_QUESTION, waiting, resume=None)
    return picked.model_copy(update={"messages": (*listed.messages, *picked.messages)})


def _chart(user: User, report: summary.Report, dumped: dict[str, object]) -> Message:
    caption = t("Questions by theme, and the handovers of week {week}.", week=ltr(report.week.label))
    return Message(to=ToUser(user_id=user.id), parts=(caption,), upload=Upload(kind="chart", report=dumped))


def _summary(state: Conversation, user: User, env: Env, given: Command) -> Transition:
    """A coordinator's weekly summary (text and chart), or the week's rows as CSV."""
    name = given.name
    args, excel = summary.export_options(given.args)
    report = env.report
    if report is None:
        which = t("Which week? Send /{command}, /{command} last, or a week like {example}.", command=name, example=ltr("2026-W47"))
        found = summary.read_week(args, env.today)
        if isinstance(found, tuple) and found[0] == "no_such_week":
            return reply(state, user, (t("Week {week} does not exist.", week=ltr(found[1])), which))
        if isinstance(found, tuple) and found[0] == "ahead":
            return reply(state, user, (t("Week {week} has not begun yet.", week=ltr(found[1])), which))
        return reply(state, user, which)
    dumped = report.model_dump(mode="json")
    if name == "export":
        caption: tuple[Text, ...] = (t("Week {week}: one row per question or request; codes only, no names or phone numbers.", week=ltr(report.week.label)),)
        if not excel:
            caption += (t("One column in Excel? Send /{command} excel for a file with “;” between the columns.", command=name),)
        upload = Upload(kind="csv", report=dumped, rows=env.export_rows, excel=excel)
        return Transition(state=state, messages=(Message(to=ToUser(user_id=user.id), parts=(caption,), upload=upload),))
    text = Message(to=ToUser(user_id=user.id), parts=tuple(summary.report_parts(report, env.directory)))
    return Transition(state=state, messages=(text, _chart(user, report, dumped)))


def weekly_push(user: User, report: summary.Report, directory: Directory) -> list[Message]:
    """Monday's summary of last week, pushed to a coordinator."""
    dumped = report.model_dump(mode="json")
    intro = t("Good morning! Here is last week's summary.")
    text = Message(
        to=ToUser(user_id=user.id), parts=(intro, *summary.report_parts(report, directory)),
        notice=Notice(kind="summary"),
    )
    return [text, _chart(user, report, dumped)]


_HANDLERS: dict[str, Callable[[Conversation, User, Env, Command], Transition]] = {
    "start": _help,
    "help": _help,
    "new": _new,
    "contacts": _contacts,
    "cancel": _cancel,
    "language": _language,
    "away": _availability,
    "back": _availability,
    "inbox": _list_cases,
    "cases": _list_cases,
    "summary": _summary,
    "export": _summary,
}
assert set(_HANDLERS) == {"start", *COMMAND_HELP}
