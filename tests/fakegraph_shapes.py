"""The JSON shapes of Meta's WhatsApp Cloud API, for the fake Graph API server (tests/fakegraphapi.py).

Two directions, no I/O: ``validate`` checks a ``POST /{version}/{phone_number_id}/messages`` payload
the way the Cloud API does (raising ``GraphError`` with Meta's code), and the ``*_webhook`` builders
make the bodies Meta POSTs to a business's webhook. ``GraphError.body`` is Graph's error JSON:
``{"error": {"message", "type", "code", "error_subcode", "error_data": {...}, "fbtrace_id"}}``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]

# code -> (HTTP status, title) as Meta's error-code table lists them.
ERRORS: dict[int, tuple[int, str]] = {
    100: (400, "Invalid parameter"),
    190: (401, "Invalid OAuth access token - Cannot parse access token"),
    130429: (400, "Rate limit hit"),
    131000: (500, "Something went wrong"),
    131009: (400, "Parameter value is not valid"),
    131016: (503, "Service unavailable"),
    131026: (400, "Message undeliverable"),
    131047: (400, "Re-engagement message"),
    131056: (400, "(Business Account, Consumer Account) pair rate limit hit"),
    132000: (400, "Number of parameters does not match the expected number of params"),
    132001: (404, "Template name does not exist in the translation"),
}
DETAILS = {
    131026: "Message failed to send because the recipient is not reachable on WhatsApp.",
    131047: "Message failed to send because more than 24 hours have passed since the customer last replied to "
            "this number.",
    130429: "Cloud API message throughput has been reached.",
    131056: "Too many messages sent from the sender phone number to the same recipient phone number in a short "
            "period of time.",
}
ERROR_DOCS = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
_trace = itertools.count(1)

TEXT_BODY_MAX = 4096
INTERACTIVE_BODY_MAX = 1024
HEADER_FOOTER_MAX = 60
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
LIST_ROWS_MAX = 10
LIST_SECTIONS_MAX = 10
ROW_TITLE_MAX = 24
ROW_ID_MAX = 200
ROW_DESCRIPTION_MAX = 72
LIST_BUTTON_MAX = 20
SECTION_TITLE_MAX = 24
CAPTION_MAX = 1024
FREE_FORM = frozenset({"text", "interactive", "image", "document"})
TYPES = FREE_FORM | {"template"}


class GraphError(Exception):
    """A Graph API error answer; ``status`` is the HTTP status, ``body`` the JSON Meta sends."""

    def __init__(self, code: int, details: str | None = None, subcode: int | None = None) -> None:
        status, title = ERRORS.get(code, (400, "Error"))
        details = details or DETAILS.get(code) or title
        super().__init__(f"({code}) {title}: {details}")
        self.status, self.code, self.title, self.details = status, code, title, details
        self.body: Json = {"error": {
            "message": f"(#{code}) {title}", "type": "OAuthException", "code": code, "error_subcode": subcode,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": f"AfakeTrace{next(_trace):06d}"}}

    def as_status_error(self) -> Json:
        """The same error as it appears in a ``failed`` status webhook's ``errors`` list."""
        return {"code": self.code, "title": self.title, "message": self.title,
                "error_data": {"details": self.details}, "href": ERROR_DOCS}


def _bad(details: str) -> GraphError:
    return GraphError(100, details)


def _str(obj: Json, key: str, where: str, low: int = 1, high: int | None = None, code: int = 100) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise _bad(f"Param {where}['{key}'] is required and must be a string")
    if len(value) < low or (high is not None and len(value) > high):
        raise GraphError(code, f"{where}['{key}'] length invalid. Min length: {low}, Max length: {high}")
    return value


def _obj(obj: Json, key: str, where: str) -> Json:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise _bad(f"Param {where}['{key}'] is required and must be an object")
    return value


def validate(payload: Any) -> str:
    """Check a message payload as the Cloud API does; returns its type (text, interactive, ...)."""
    if not isinstance(payload, dict):
        raise _bad("The request body must be a JSON object")
    if payload.get("messaging_product") != "whatsapp":
        raise _bad("The parameter messaging_product is required and must be 'whatsapp'")
    if payload.get("recipient_type", "individual") != "individual":
        raise _bad("Param recipient_type must be 'individual'")
    kind = payload.get("type", "text")
    if kind not in TYPES:
        raise _bad(f"Param type must be one of {sorted(TYPES)}")
    content = _obj(payload, kind, "message")
    if kind == "text":
        _str(content, "body", "text", high=TEXT_BODY_MAX)
    elif kind == "interactive":
        _interactive(content)
    elif kind == "template":
        _str(content, "name", "template", high=512)
        _str(_obj(content, "language", "template"), "code", "template['language']")
        if not isinstance(content.get("components", []), list):
            raise _bad("Param template['components'] must be an array")
    else:
        _media(content, kind)
    return str(kind)


def _interactive(content: Json) -> None:
    kind = content.get("type")
    if kind not in ("button", "list"):
        raise _bad("Param interactive['type'] must be 'button' or 'list'")
    _str(_obj(content, "body", "interactive"), "text", "interactive['body']", high=INTERACTIVE_BODY_MAX, code=131009)
    if "footer" in content:
        _str(_obj(content, "footer", "interactive"), "text", "interactive['footer']", high=HEADER_FOOTER_MAX,
             code=131009)
    if "header" in content and _obj(content, "header", "interactive").get("type") == "text":
        _str(content["header"], "text", "interactive['header']", high=HEADER_FOOTER_MAX, code=131009)
    action = _obj(content, "action", "interactive")
    if kind == "button":
        _buttons(action)
    else:
        _list(action)


def _buttons(action: Json) -> None:
    buttons = action.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= BUTTONS_MAX:
        raise GraphError(131009, f"Invalid buttons count. Min allowed buttons: 1, Max allowed buttons: {BUTTONS_MAX}")
    ids, titles = set(), set()
    for button in buttons:
        if not isinstance(button, dict) or button.get("type") != "reply":
            raise _bad("Param interactive['action']['buttons'][]['type'] must be 'reply'")
        reply = _obj(button, "reply", "button")
        ids.add(_str(reply, "id", "button['reply']", high=BUTTON_ID_MAX, code=131009))
        titles.add(_str(reply, "title", "button['reply']", high=BUTTON_TITLE_MAX, code=131009))
    if len(ids) != len(buttons):
        raise GraphError(131009, "Duplicate buttons ids are not allowed")
    if len(titles) != len(buttons):
        raise GraphError(131009, "Button title must be unique")


def _list(action: Json) -> None:
    _str(action, "button", "interactive['action']", high=LIST_BUTTON_MAX, code=131009)
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= LIST_SECTIONS_MAX:
        raise GraphError(131009, f"Invalid sections count. Min: 1, Max: {LIST_SECTIONS_MAX}")
    ids: list[str] = []
    for section in sections:
        if not isinstance(section, dict) or not isinstance(rows := section.get("rows"), list) or not rows:
            raise _bad("Param interactive['action']['sections'][]['rows'] is required and must be a non-empty array")
        if len(sections) > 1 or "title" in section:
            _str(section, "title", "section", high=SECTION_TITLE_MAX, code=131009)
        for row in rows:
            if not isinstance(row, dict):
                raise _bad("Param section['rows'][] must be an object")
            ids.append(_str(row, "id", "row", high=ROW_ID_MAX, code=131009))
            _str(row, "title", "row", high=ROW_TITLE_MAX, code=131009)
            if "description" in row:
                _str(row, "description", "row", low=0, high=ROW_DESCRIPTION_MAX, code=131009)
    if len(ids) > LIST_ROWS_MAX:
        raise GraphError(131009, f"Total row count exceed max allowed count: {LIST_ROWS_MAX}")
    if len(set(ids)) != len(ids):
        raise GraphError(131009, "Row ids must be unique across all sections")


def _media(content: Json, kind: str) -> None:
    if ("id" in content) == ("link" in content):
        raise _bad(f"Param {kind} must have exactly one of 'id' or 'link'")
    _str(content, "id" if "id" in content else "link", kind)
    if "caption" in content:
        _str(content, "caption", kind, low=0, high=CAPTION_MAX)
    if kind == "document" and "filename" in content:
        _str(content, "filename", kind, high=240)


def body_parameters(template: Json) -> int:
    """How many parameters a template payload gives its body component."""
    return sum(len(c.get("parameters") or []) for c in template.get("components") or []
               if isinstance(c, dict) and str(c.get("type", "")).lower() == "body")


# --- identity under Meta's username rollout (the field names are one constant each: see fakegraphapi's docstring)
SEND_BY_BSUID = "recipient"  # the send payload's field for a business-scoped user id, instead of ``to``
CONTACT_BSUID = "user_id"  # in webhook ``contacts[]`` and in the send answer's ``contacts[]``
FROM_BSUID = "from_user_id"  # in webhook ``messages[]``, next to (or instead of) ``from``
STATUS_BSUID = "recipient_user_id"  # in webhook ``statuses[]``, next to (or instead of) ``recipient_id``


@dataclass
class WaUser:
    """A WhatsApp user of the fake: always a BSUID; a phone number (``wa_id``, digits only) only when known."""

    name: str
    bsuid: str
    wa_id: str | None = None
    username: str | None = None
    last_inbound: float | None = None  # the fake's clock at the user's last message (opens the 24-hour window)
    undeliverable: str | None = None  # None, "now" (131026 at once) or "late" (131026 as a failed status)

    def contact(self) -> Json:
        profile: Json = {"name": self.name, **({"username": self.username} if self.username else {})}
        return {"profile": profile, **({"wa_id": self.wa_id} if self.wa_id else {}), CONTACT_BSUID: self.bsuid}

    def sender(self) -> Json:
        return {**({"from": self.wa_id} if self.wa_id else {}), FROM_BSUID: self.bsuid}

    def recipient(self) -> Json:
        return {**({"recipient_id": self.wa_id} if self.wa_id else {}), STATUS_BSUID: self.bsuid}


# --- webhooks: what Meta POSTs to the business ---------------------------------------------------------------
def envelope(waba_id: str, metadata: Json, **value: Any) -> Json:
    """The outer shape every Cloud API webhook has (one entry, one change, field ``messages``)."""
    return {"object": "whatsapp_business_account", "entry": [{"id": waba_id, "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp", "metadata": metadata, **value}}]}]}
