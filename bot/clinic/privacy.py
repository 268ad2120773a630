"""Privacy in conversation: the notice, consent, "what do you store?", and erasure.

The actions (actions/privacy.py, actions/enrolment.py) only pass the tracker's sender id and
events here. Everything that decides whether something may happen is on the server side:

- the client is found from the conversation id, never from anything the user typed;
- an effect that needs a "yes" (erasing, consenting to link a record) happens only when the
  bot's turn right before the user's "yes" asked exactly that question. An intent shortcut
  typed by the user ("/affirm", "/request_data_deletion") can answer a question the bot has
  just asked, like a button can, but never skip it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot import settings
from bot.clinic import config as clinic
from bot.clinic.store import services

log = logging.getLogger(__name__)

ASK_CONSENT = "utter_ask_consent"
CONFIRM_ERASE_CLIENT = "utter_confirm_erase_client"
CONFIRM_ERASE_CONVERSATION = "utter_confirm_erase_conversation"
NOTICE = "utter_privacy_notice"
# Put on the Restarted event the erasing action returns; our tracker store then saves only
# what comes after it, so Rasa does not write the erased conversation back.
ERASED_KEY = "ipt_erased"


def privacy_url() -> str:
    """Where the full privacy notice is: the clinic's own page, else our /privacy."""
    try:
        configured = clinic.load().privacy_url
    except clinic.ClinicConfigError:
        configured = None
    return configured or f"{settings.public_url()}/privacy"


def retention_days() -> int:
    """How long unlinked conversations are kept (the clinic's setting, else 90)."""
    try:
        return clinic.load().retention_days
    except clinic.ClinicConfigError:
        return clinic.DEFAULT_RETENTION_DAYS


def _responses_of_bot_turn(events: list[Mapping[str, Any]], before: int) -> set[str]:
    """The response names the bot said between the user message before ``before`` and it."""
    names: set[str] = set()
    for event in reversed(events[:before]):
        if event.get("event") == "user":
            break
        if event.get("event") == "bot":
            name = (event.get("metadata") or {}).get("utter_action")
            if isinstance(name, str):
                names.add(name)
    return names


def asked_just_before(events: Iterable[Mapping[str, Any]], question: str | set[str]) -> bool:
    """Whether the bot's last turn before the latest user message asked ``question``.

    ``events`` are the tracker's events as the action server receives them (dicts).
    """
    events = list(events)
    wanted = {question} if isinstance(question, str) else set(question)
    for i in range(len(events) - 1, -1, -1):
        if events[i].get("event") == "user":
            return bool(_responses_of_bot_turn(events, i) & wanted)
    return False


def previous_user_message(events: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The user message before the latest one (the one the bot's question answered)."""
    users = [e for e in events if e.get("event") == "user"]
    return users[-2] if len(users) >= 2 else None


def notice_shown(events: Iterable[Mapping[str, Any]]) -> bool:
    """Whether the privacy notice was already given in this conversation's current session."""
    return any(
        e.get("event") == "bot" and (e.get("metadata") or {}).get("utter_action") == NOTICE
        for e in events
    )


def erased_marker() -> dict[str, Any]:
    """The event an erasing action returns (a restart, marked; see bot/rasa_ext/tracker_store.py)."""
    return {"event": "restart", "timestamp": None, "metadata": {ERASED_KEY: True}}


@dataclass(frozen=True)
class Summary:
    """What is stored about this conversation: counts only, never contents."""

    linked: bool
    counts: dict[str, int] = field(default_factory=dict)
    consent_at: datetime | None = None
    retention_days: int = clinic.DEFAULT_RETENTION_DAYS


def summary(s: Session, sender_id: str) -> Summary:
    """The summary for the client linked to this conversation (or an unlinked one)."""
    days = retention_days()
    client = services.client_for_sender(s, sender_id)
    if client is None:
        return Summary(False, retention_days=days)
    return Summary(True, services.client_summary(s, client), client.consent_at, days)


@dataclass(frozen=True)
class Erasure:
    """What an erasure removed (counts), and whether a client record was erased."""

    client_erased: bool
    removed: dict[str, int]


def erase(s: Session, sender_id: str) -> Erasure:
    """Erase what belongs to this conversation, in one transaction.

    Linked: the client's records and every conversation linked to them (all channels are
    unlinked). Unlinked: this conversation's events and failed code attempts. The caller must
    have had the user's confirmation (``asked_just_before``).
    """
    client = services.client_for_sender(s, sender_id)
    if client is None:
        return Erasure(False, {"conversation_events": services.erase_conversation(s, sender_id)})
    removed = services.delete_client(s, client)
    log.info("erased a client on their request (%d conversation events)",
             removed["conversation_events"])
    return Erasure(True, removed)
