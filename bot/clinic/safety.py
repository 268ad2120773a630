"""What happens besides the crisis reply: the safety flag and the on-call notification.

The flag goes to the client records (:func:`record_crisis_flag`, in its own unit of work);
when the database cannot take it, nothing is stored and the crisis reply still goes out. For an enrolled
client, when the clinic has an on-call Telegram chat and TELEGRAM_BOT_TOKEN is set, the
on-call chat is told at once. Neither the flag, the notification nor the log ever holds the
person's words: only the category, the time and a pseudonymous reference.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy.orm import Session

from bot.clinic.config import ClinicConfig
from bot.clinic.crisis_categories import LABELS
from bot.clinic.store import db, services

logger = logging.getLogger(__name__)

CATEGORY_LABELS = LABELS  # one per category, from bot/clinic/crisis_categories.py
NOTIFY_TIMEOUT_SECONDS = 5.0

Recorder = Callable[[str, str], bool]
Sender = Callable[[str, str], Awaitable[None]]


@dataclass(frozen=True)
class CrisisOutcome:
    """What the crisis hook did, for the action's log and the tests."""

    flagged: bool
    notified: bool


def record_crisis_flag(s: Session, sender_id: str, category: str) -> bool:
    """Store a safety flag when the conversation is linked; True when a flag was stored."""
    client = services.client_for_sender(s, sender_id)
    if client is None:
        return False
    services.record_safety_flag(s, client, category, sender_id)
    return True


def default_recorder(url: str | None = None) -> Recorder:
    """:func:`record_crisis_flag` in its own unit of work on the configured database."""
    return lambda sender_id, category: db.run(record_crisis_flag, sender_id, category, url=url)


def record_flag(sender_id: str, category: str, recorder: Recorder | None = None) -> bool:
    """Record a safety flag for an enrolled client; False when not enrolled or no store."""
    recorder = recorder or default_recorder()
    try:
        return bool(recorder(sender_id, category))
    except Exception:  # the crisis reply must never fail because of the records
        logger.exception("recording a safety flag failed (category=%s)", category)
        return False


def pseudonym(sender_id: str, key: str | None = None) -> str:
    """A short stable reference for a conversation that does not reveal its sender id."""
    secret = key if key is not None else os.environ.get("IPT_PSEUDONYM_KEY", "")
    if not secret:
        from bot.settings import secret as stored_secret

        secret = stored_secret("IPT_PSEUDONYM_KEY", "pseudonym_key")
    digest = hmac.new(secret.encode(), sender_id.encode(), hashlib.sha256).hexdigest()
    return digest[:12]


def notification_text(category: str, when: datetime, reference: str, clinic: str) -> str:
    """The on-call message: category, time (UTC) and reference; never the person's words."""
    label = CATEGORY_LABELS.get(category, category)
    stamp = when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{clinic}: safety flag for an enrolled client.\n"
        f"Category: {label}\nTime: {stamp}\nReference: {reference}\n"
        "The assistant gave the crisis resources. See `ipt-admin` for the client."
    )


def telegram_sender(token: str, base_url: str | None = None) -> Sender:
    """An async function that sends a text to a Telegram chat with python-telegram-bot."""

    async def send(chat_id: str, text: str) -> None:
        from telegram import Bot

        kwargs = {"base_url": base_url} if base_url else {}
        async with Bot(token, **kwargs) as bot:
            await bot.send_message(chat_id=chat_id, text=text)

    return send


def default_sender() -> Sender | None:
    """The Telegram sender from TELEGRAM_BOT_TOKEN (and TELEGRAM_API_URL), or None."""
    token = os.environ.get("TELEGRAM_BOT_TOKEN")
    if not token:
        return None
    return telegram_sender(token, os.environ.get("TELEGRAM_API_URL") or None)


async def notify_on_call(
    clinic: ClinicConfig, category: str, reference: str, when: datetime,
    sender: Sender | None = None,
) -> bool:
    """Tell the clinic's on-call chat; False when not configured or sending failed."""
    if not clinic.on_call_telegram_chat_id:
        return False
    sender = sender or default_sender()
    if sender is None:
        logger.warning("on-call chat configured but TELEGRAM_BOT_TOKEN is not set")
        return False
    text = notification_text(category, when, reference, clinic.name)
    try:
        await asyncio.wait_for(sender(clinic.on_call_telegram_chat_id, text),
                               NOTIFY_TIMEOUT_SECONDS)
    except Exception:  # never let a notification failure stop the crisis reply
        logger.exception("on-call notification failed (category=%s ref=%s)", category, reference)
        return False
    logger.info("on-call notified (category=%s ref=%s)", category, reference)
    return True


async def handle_crisis(
    sender_id: str, category: str, clinic: ClinicConfig, *,
    when: datetime | None = None, recorder: Recorder | None = None,
    sender: Sender | None = None, key: str | None = None,
) -> CrisisOutcome:
    """Record the flag and, for an enrolled client, notify the on-call chat."""
    when = when or datetime.now(timezone.utc)
    flagged = await asyncio.to_thread(record_flag, sender_id, category, recorder)
    notified = False
    if flagged:
        notified = await notify_on_call(clinic, category, pseudonym(sender_id, key), when, sender)
    logger.info("crisis handled (category=%s flagged=%s notified=%s)", category, flagged, notified)
    return CrisisOutcome(flagged, notified)
