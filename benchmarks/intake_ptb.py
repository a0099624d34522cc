"""The intake bot a team would build with python-telegram-bot's own tools: a ConversationHandler
for the steps, PicklePersistence for the state, the Application's defaults (updates one at a time,
httpx) — the third baseline of the load benchmark. Lives only in benchmarks/ and runs in the same
environment as the plain PTB echo bot (PTB alone; benchmarks/baselines.py).

It asks what Wijkbrug's intake asks, in the same order and with the same kinds of answer (buttons
or typed text), so benchmarks/load_driver.py drives both with the same steps: the safety question,
theme, age, the parent's language, postcode, the question, save; then the wijkteam member (from a
directory file: postcode -> contacts), the way of meeting, consent, first name, phone, call time,
attachment and send. The member gets the request with an Accept button; on Accept both hear back.
As in PTB's own examples, a press is answered, its message edited to show the choice, and the
next question sent. Nothing is sealed, nothing is committed per step: PicklePersistence writes
everything every 60 s (its default) and at the stop. The texts are English only.

Usage: python benchmarks/intake_ptb.py TOKEN BASE_URL DIRECTORY_JSON PICKLE_FILE
"""

import json
import re
import sys
from itertools import count

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)

(DANGER, THEME, AGE, LANGUAGE, POSTCODE, QUESTION, REVIEW, PICK, MEET, CONSENT, NAME, PHONE, CALL, ATTACH,
 SEND) = range(15)
THEMES = ["Upbringing", "School and education", "Health and development", "Money and debts", "Housing",
          "Language and integration", "Safety at home", "Something else"]
AGES = ["0–3 years", "4–11 years", "12–17 years", "18–23 years"]
LANGUAGES = ["Nederlands", "العربية", "Türkçe", "Tamaziɣt", "ትግርኛ", "Soomaali", "فارسی", "دری", "polski",
             "українська", "English"]
POSTCODE = re.compile(r"^[1-9][0-9]{3}\s*([A-Za-z]{2})?$")
PHONE_NUMBER = re.compile(r"^\+?[0-9 ()-]{8,20}$")
DIRECTORY: dict[str, list[list[str]]] = {}  # PC4 -> [[contact id, name], ...]
Context = ContextTypes.DEFAULT_TYPE
requests_made = count(1)


def buttons(*options: tuple[str, str], per_row: int = 2) -> InlineKeyboardMarkup:
    keys = [InlineKeyboardButton(label, callback_data=data) for data, label in options]
    return InlineKeyboardMarkup([keys[i:i + per_row] for i in range(0, len(keys), per_row)])


async def chosen(update: Update, context: Context, key: str) -> str:
    """Answer the press, keep the choice and show it in the question's message."""
    query = update.callback_query
    assert query is not None and query.data is not None and query.message is not None
    await query.answer()
    context.user_data[key] = query.data
    await query.edit_message_text(f"{query.message.text}\n✓ {query.data}")
    return query.data


async def ask(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    assert update.effective_chat is not None
    await update.effective_chat.send_message(text, reply_markup=markup)


async def start(update: Update, context: Context) -> None:
    code = context.args[0] if context.args else ""
    assert update.effective_chat is not None
    if code.startswith("member-"):
        context.bot_data.setdefault("members", {})[code.removeprefix("member-")] = update.effective_chat.id
    context.user_data["role"] = "member" if code.startswith("member-") else "volunteer"
    await ask(update, "Welcome! This is the intake bot. Type /new to log a parent's question.")


async def new(update: Update, context: Context) -> int:
    context.user_data["draft"] = {}
    await ask(update, "First, a safety question. Is a child in danger right now, or is someone being hurt at home?",
              buttons(("yes", "Yes, a child is in danger"), ("no", "No")))
    return DANGER


async def danger(update: Update, context: Context) -> int:
    if await chosen(update, context, "danger") == "yes":
        await ask(update, "Call 112 now, or Veilig Thuis on 0800-2000 (day and night). Your coordinator is told.")
    await ask(update, "What is the question about?", buttons(*((t, t) for t in THEMES)))
    return THEME


async def theme(update: Update, context: Context) -> int:
    await chosen(update, context, "theme")
    await ask(update, "How old is the child? Choose, or type the age in years.", buttons(*((a, a) for a in AGES)))
    return AGE


async def age(update: Update, context: Context) -> int:
    await chosen(update, context, "age")
    await ask(update, "Which language does the parent speak best?", buttons(*((n, n) for n in LANGUAGES), per_row=3))
    return LANGUAGE


async def language(update: Update, context: Context) -> int:
    await chosen(update, context, "language")
    await ask(update, "What is the family's postcode? The four digits are enough.")
    return POSTCODE


async def postcode(update: Update, context: Context) -> int:
    assert update.message is not None and update.message.text is not None
    if not POSTCODE.match(update.message.text.strip()):
        await update.message.reply_text("That is not a Dutch postcode. Please type four digits, for example 1055.")
        return POSTCODE
    context.user_data["postcode"] = update.message.text.strip()[:4]
    await update.message.reply_text("What is the parent's question? Write it in your own words.")
    return QUESTION


async def question(update: Update, context: Context) -> int:
    assert update.message is not None and update.message.text is not None
    context.user_data["question"] = update.message.text[:1000]
    data = context.user_data
    await update.message.reply_text(
        f"Theme: {data['theme']}\nAge: {data['age']}\nLanguage: {data['language']}\nPostcode: {data['postcode']}\n"
        f"Question: {data['question']}",
        reply_markup=buttons(("save", "Save"), ("change", "Change"), ("cancel", "Cancel")))
    return REVIEW


async def review(update: Update, context: Context) -> int:
    if await chosen(update, context, "review") != "save":
        await ask(update, "Cancelled: nothing was saved.")
        return ConversationHandler.END
    context.bot_data.setdefault("questions", []).append(dict(context.user_data))
    contacts = DIRECTORY.get(context.user_data["postcode"], [])
    options = [(f"c:{cid}", f"🤝 {name}") for cid, name in contacts[:3]] + [("advice", "💬 Only ask for advice")]
    await ask(update, "Saved. Who can help this family?", buttons(*options, per_row=1))
    return PICK


async def pick(update: Update, context: Context) -> int:
    await chosen(update, context, "contact")
    await ask(update, "How would the family like to meet them?",
              buttons(("phone", "A phone call"), ("visit", "A home visit"), ("here", "At our organisation")))
    return MEET


async def meet(update: Update, context: Context) -> int:
    await chosen(update, context, "meet")
    await ask(update, "Does the parent agree that we pass their name and phone number on to the wijkteam?",
              buttons(("yes", "The parent agrees"), ("no", "The parent does not agree")))
    return CONSENT


async def consent(update: Update, context: Context) -> int:
    if await chosen(update, context, "consent") != "yes":
        await ask(update, "Cancelled: nothing was sent.")
        return ConversationHandler.END
    await ask(update, "What is the parent's first name?")
    return NAME


async def name(update: Update, context: Context) -> int:
    assert update.message is not None and update.message.text is not None
    context.user_data["name"] = update.message.text[:100]
    await update.message.reply_text("What is the parent's phone number?")
    return PHONE


async def phone(update: Update, context: Context) -> int:
    assert update.message is not None and update.message.text is not None
    if not PHONE_NUMBER.match(update.message.text.strip()):
        await update.message.reply_text("That is not a phone number. Please type it again, for example 06 12345678.")
        return PHONE
    context.user_data["phone"] = update.message.text.strip()
    await update.message.reply_text("When can they best call the parent? Type it (for example: mornings).",
                                    reply_markup=buttons(("none", "No preference")))
    return CALL


async def call_time(update: Update, context: Context) -> int:
    if update.callback_query is not None:
        await chosen(update, context, "call")
    else:
        assert update.message is not None
        context.user_data["call"] = update.message.text
    await ask(update, "Send a photo or a document for the wijkteam, if there is one.",
              buttons(("none", "No attachment")))
    return ATTACH


async def attach(update: Update, context: Context) -> int:
    await chosen(update, context, "attachment")
    data = context.user_data
    await ask(update, f"The request: {data['question']}\nParent: {data['name']}, {data['phone']}\n"
              f"Call: {data['call']}", buttons(("send", "Send the request"), ("cancel", "Cancel")))
    return SEND


async def send(update: Update, context: Context) -> int:
    if await chosen(update, context, "send") != "send":
        await ask(update, "Cancelled: nothing was sent.")
        return ConversationHandler.END
    data, number = context.user_data, next(requests_made)
    member = context.bot_data.get("members", {}).get(data["contact"].removeprefix("c:"))
    assert update.effective_chat is not None
    context.bot_data.setdefault("requests", {})[str(number)] = {**data, "volunteer": update.effective_chat.id}
    if member is None:
        await ask(update, "They do not use this bot yet: call or e-mail them directly.")
        return ConversationHandler.END
    await context.bot.send_message(
        member, f"Request {number}: a parent's question about {data['theme']} ({data['age']}).\n{data['question']}",
        reply_markup=buttons((f"accept:{number}", "Accept"), (f"decline:{number}", "Decline")))
    await ask(update, "The request is sent. You will hear back when it is answered.")
    return ConversationHandler.END


async def answered(update: Update, context: Context) -> None:
    """A member accepts (or declines) a request: both hear back."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    verb, number = query.data.split(":")
    request = context.bot_data.get("requests", {}).get(number)
    if request is None:
        await ask(update, "This request is no longer open.")
        return
    request["status"] = verb
    await query.edit_message_reply_markup(None)
    await ask(update, f"You {verb}ed the request. Parent: {request['name']}, {request['phone']}.")
    await context.bot.send_message(request["volunteer"], f"Your request {number} was {verb}ed.")


async def use_buttons(update: Update, context: Context) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer("This choice has expired. Please use the latest message.")
    else:
        await ask(update, "Please use the buttons of the last message, or /cancel.")


async def cancel(update: Update, context: Context) -> int:
    await ask(update, "Cancelled: nothing was saved.")
    return ConversationHandler.END


def main() -> None:
    token, base_url, directory, pickle_file = sys.argv[1:5]
    with open(directory, encoding="utf-8") as file:
        DIRECTORY.update(json.load(file))
    press, typed = CallbackQueryHandler, filters.TEXT & ~filters.COMMAND
    intake = ConversationHandler(
        entry_points=[CommandHandler("new", new)],
        states={
            DANGER: [press(danger)], THEME: [press(theme)], AGE: [press(age)], LANGUAGE: [press(language)],
            POSTCODE: [MessageHandler(typed, postcode)], QUESTION: [MessageHandler(typed, question)],
            REVIEW: [press(review)], PICK: [press(pick)], MEET: [press(meet)], CONSENT: [press(consent)],
            NAME: [MessageHandler(typed, name)], PHONE: [MessageHandler(typed, phone)],
            CALL: [press(call_time), MessageHandler(typed, call_time)], ATTACH: [press(attach)], SEND: [press(send)],
        },
        fallbacks=[CommandHandler("cancel", cancel), MessageHandler(filters.ALL, use_buttons)],
        name="intake", persistent=True, allow_reentry=True,
    )
    app = ApplicationBuilder().token(token).base_url(base_url).persistence(PicklePersistence(pickle_file)).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(answered, pattern=r"^(accept|decline):"))
    app.add_handler(intake)
    app.add_handler(CallbackQueryHandler(use_buttons))
    app.run_polling()


if __name__ == "__main__":
    main()
