"""Enrolment in chat: find the code in a message, check it, choose the answer.

The action (actions/enrolment.py) only passes the conversation and the message here. The
code comes from the message text (or an entity of an intent shortcut) and always goes
through the same check and rate limit; no slot is ever trusted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot import limits
from bot.clinic import privacy
from bot.clinic.store import codes, db, services
from bot.clinic.store.services import Redeem

log = logging.getLogger(__name__)

CODE_ENTITY = "enrolment_code"
RESPONSES = {
    Redeem.LINKED: "utter_linked",
    Redeem.ALREADY_LINKED: "utter_already_linked",
    Redeem.WRONG: "utter_code_wrong",
    # one answer for every refused code, so it never tells whether a code exists (issue 19)
    Redeem.EXPIRED: "utter_code_wrong",
    Redeem.USED: "utter_code_wrong",
    Redeem.LOCKED: "utter_code_locked",
    Redeem.NO_CODE: "utter_ask_enrolment_code",
    Redeem.NEEDS_CONSENT: "utter_ask_consent",
}
ERROR_RESPONSE = "utter_link_error"


@dataclass(frozen=True)
class Answer:
    """The response to send and its template variables."""

    response: str
    variables: dict[str, Any] = field(default_factory=dict)


def code_in(text: str | None, entities: Iterable[dict[str, Any]] = ()) -> str | None:
    """The code in the message text, else in an ``enrolment_code`` entity (not validated yet)."""
    found = codes.extract(text or "")
    if found:
        return found
    for entity in entities:
        if entity.get("entity") == CODE_ENTITY and isinstance(entity.get("value"), str):
            # A shortcut may carry anything: keep it as typed, the check decides.
            return entity["value"][:64]
    return None


# The key of a user message's metadata under which our web channel puts the tag of the
# client's address (bot/rasa_ext/web_channel.py); the tag, never the address (store/codes.py).
ADDRESS_KEY = limits.ADDRESS_TAG_KEY


def address_of(events: Iterable[dict[str, Any]]) -> str | None:
    """The address tag of the latest user message, if its channel set one (the web)."""
    users = [e for e in events if e.get("event") == "user"]
    tag = ((users[-1].get("metadata") or {}).get(ADDRESS_KEY)) if users else None
    return tag if isinstance(tag, str) and 0 < len(tag) <= 64 else None


@dataclass(frozen=True)
class LinkResult:
    """Outcome of a code typed in chat."""

    outcome: Redeem
    display_name: str | None = None
    locked_until: datetime | None = None


def link(
    s: Session, sender_id: str, channel: str | None, code: str | None, consent: bool = False,
    address: str | None = None,
) -> LinkResult:
    """Check a code from this conversation and link it (rate-limited per conversation, per
    client address when ``address``, the tag of codes.address_tag, is given, and overall).

    A client who has not agreed to the privacy notice is asked first (``NEEDS_CONSENT``,
    nothing stored); ``consent=True`` is their "yes" to that question.
    """
    result = services.redeem_code(
        s, sender_id, channel or "unknown", code, require_consent=True, consent=consent,
        address=address,
    )
    name = result.client.display_name if result.client else None
    return LinkResult(result.outcome, name, result.locked_until)


def link_from_message(
    s: Session,
    sender_id: str,
    channel: str | None,
    text: str | None,
    entities: Iterable[dict[str, Any]] = (),
    consent: bool = False,
    address: str | None = None,
) -> Answer:
    """Try to link the conversation with the code in the message; the answer to give.

    A valid code of a client who has not agreed to the privacy notice gets the notice and
    the question (``utter_ask_consent``) and links nothing; ``consent=True`` is the call for
    the client's "yes", with the message that held the code. ``address``: the tag of the
    client address the message came from (``address_of``), counted toward its own limit.
    """
    code = code_in(text, entities)
    if code is None:
        # Still tell an already linked user so, rather than asking for a code again.
        client = services.client_for_sender(s, sender_id)
        if client is not None:
            return Answer(RESPONSES[Redeem.ALREADY_LINKED], {"display_name": client.display_name})
    result = link(s, sender_id, channel, code, consent=consent, address=address)
    variables = {"display_name": result.display_name} if result.display_name else {}
    if result.outcome is Redeem.NEEDS_CONSENT:
        variables["privacy_url"] = privacy.privacy_url()
    return Answer(RESPONSES[result.outcome], variables)


async def answer_message(
    sender_id: str,
    channel: str | None,
    text: str | None,
    entities: Iterable[dict[str, Any]] = (),
    consent: bool = False,
    address: str | None = None,
    url: str | None = None,
) -> Answer:
    """:func:`link_from_message` in its own unit of work, off the event loop; any failure is
    answered with a clear "try later" (the log keeps the cause)."""
    try:
        return await db.call(link_from_message, sender_id, channel, text, entities, consent,
                             address, url=url)
    except Exception:
        log.exception("enrolment check failed")
        return Answer(ERROR_RESPONSE)
