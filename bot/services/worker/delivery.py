"""Deliver one claimed reminder: Rasa's trigger_intent, then Telegram or the web outbox.

The reminder goes through Rasa (``POST /conversations/<id>/trigger_intent``, token-protected)
so it becomes part of the conversation: the client's answer ("I can't make it") is understood
in its context. Rasa's collecting output channel returns the bot's messages in the response,
and we deliver them to the client's channel ourselves:

- Telegram: python-telegram-bot, with the service's flood-control and retry helpers;
- web widget: a row in ``web_outbox``, written in the same transaction that marks the reminder
  ``outbox``; the socket.io channel inside the Rasa server emits it to the widget at once when
  it is connected, or when it next connects, and marks the reminder ``sent`` when the widget
  acknowledges that it displayed it (bot/rasa_ext/web_channel.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import quote

from telegram.error import BadRequest, Forbidden, TelegramError

from bot.clinic.store.models import WebOutbox
from bot.services.telegram.delivery import (
    SendWindowClosed,
    chat_for_sender,
    send_replies,
    send_window,
)
from bot.services.telegram.rasa_client import RasaClient, RasaUnavailable
from bot.services.telegram.render import CallbackData
from bot.services.worker.claims import TELEGRAM, WEB, Claim

log = logging.getLogger(__name__)

REMINDER_INTENT = "EXTERNAL_session_reminder"
# The reason when a reminder's moment passed while its message waited to be sent.
WINDOW_CLOSED = "send_window_closed"


class Outcome(str, Enum):
    """What became of one delivery attempt."""

    SENT = "sent"  # delivered (Telegram accepted it, or it is in the web outbox)
    NOTHING = "nothing"  # Rasa had nothing to say: the session is gone or the chat unlinked
    RETRY = "retry"  # a passing failure: try again after a pause
    UNDELIVERABLE = "undeliverable"  # will not work however often we try (blocked bot)


@dataclass(frozen=True)
class Result:
    """An outcome and a short reason code (never message text)."""

    outcome: Outcome
    reason: str | None = None
    messages: tuple[dict[str, Any], ...] = ()


class RasaTrigger(RasaClient):
    """Rasa's token-protected ``trigger_intent`` endpoint, returning the bot's messages."""

    def __init__(self, base_url: str, token: str, timeout: float = 30.0) -> None:
        super().__init__(base_url, timeout)
        self.base_url = base_url.rstrip("/")
        self._token = token

    async def trigger(
        self, sender_id: str, intent: str, entities: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Trigger ``intent`` in the conversation; Rasa's replies, or RasaUnavailable."""
        url = f"{self.base_url}/conversations/{quote(sender_id, safe='')}/trigger_intent"
        # collector: the replies come back to us; include_events=NONE: no tracker dump.
        params = {"token": self._token, "output_channel": "collector", "include_events": "NONE"}
        body = await self.post_json(url, {"name": intent, "entities": entities or {}}, params)
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list):
            raise RasaUnavailable("answer has no messages")
        return [m for m in messages if isinstance(m, dict)]


def outbox_row(claim: Claim, messages: list[dict[str, Any]]) -> WebOutbox:
    """The web outbox row for a reminder's messages (recipient ids dropped: it is the row's)."""
    clean = [{k: v for k, v in m.items() if k != "recipient_id"} for m in messages]
    return WebOutbox(client_id=claim.client_id, sender_id=claim.sender_id,
                     messages=json.dumps(clean), reminder_id=claim.reminder_id)


class Deliverer:
    """Turns a claim into messages and sends them; knows nothing about the database."""

    def __init__(self, rasa: RasaTrigger, telegram_bot: Any | None = None) -> None:
        self.rasa = rasa
        self.bot = telegram_bot
        # Our buttons' payloads ("/confirm_attendance") are short: they travel as they are,
        # so the Telegram service accepts the taps without sharing this object.
        self.callbacks = CallbackData()
        self._bot_ready = False

    async def messages_for(self, claim: Claim) -> Result:
        """Ask Rasa for the reminder in the client's conversation."""
        if claim.channel is None:
            return Result(Outcome.RETRY, "no_channel")
        if claim.channel == TELEGRAM and self.bot is None:
            return Result(Outcome.RETRY, "telegram_off")
        try:
            messages = await self.rasa.trigger(
                claim.sender_id, REMINDER_INTENT, {"appointment_id": str(claim.appointment_id)}
            )
        except RasaUnavailable as exc:
            log.warning("Rasa unavailable for reminder %s (%s)", claim.reminder_id, exc.reason)
            return Result(Outcome.RETRY, "rasa_unavailable")
        if not messages:
            return Result(Outcome.NOTHING, "nothing_to_send")
        return Result(Outcome.SENT, None, tuple(messages))

    async def send_telegram(self, claim: Claim, messages: tuple[dict[str, Any], ...],
                            still_open: Callable[[], bool] | None = None) -> Result:
        """Send Rasa's messages to the client's Telegram chat; only while ``still_open()``
        holds at the moment each is handed to Telegram (see ``send_window``)."""
        assert self.bot is not None and claim.sender_id is not None
        chat_id = chat_for_sender(claim.sender_id)
        if chat_id is None:
            return Result(Outcome.UNDELIVERABLE, "bad_sender")
        try:
            if not self._bot_ready:
                await self.bot.initialize()
                self._bot_ready = True
            with send_window(still_open):
                await send_replies(self.bot, chat_id, list(messages), self.callbacks)
        except SendWindowClosed:
            return Result(Outcome.RETRY, WINDOW_CLOSED)
        except Forbidden:
            return Result(Outcome.UNDELIVERABLE, "telegram_forbidden")
        except BadRequest:
            return Result(Outcome.UNDELIVERABLE, "telegram_bad_request")
        except TelegramError as exc:
            log.warning("Telegram error for reminder %s (%s)", claim.reminder_id, type(exc).__name__)
            return Result(Outcome.RETRY, "telegram_error")
        return Result(Outcome.SENT)

    @staticmethod
    def is_web(claim: Claim) -> bool:
        """Whether the claim goes to the web outbox rather than to a network call."""
        return claim.channel == WEB
