"""Rasa's REST channel with a credential, our input limits and safe sender ids.

credentials.yml names ``bot.rasa_ext.rest_channel.LimitedRestInput``; its name stays ``rest``, so the
webhook is still ``POST /webhooks/rest/webhook``. Every request must carry one of two
credentials in ``Authorization: Bearer <token>`` (never in the URL, which may be logged):

- the Telegram service's (``IPT_TELEGRAM_RELAY_TOKEN``): it may speak only for Telegram chats,
  ``tg-<chat id>``;
- the REST token for tools and tests (``IPT_REST_TOKEN``): it may never speak for a Telegram
  (``tg-``) or web (``web-``) conversation, so whoever holds it cannot act as a client.

Both come from the environment, else from var/secrets/ (made once, 0600; bot/settings.py).
Without a valid credential the answer is 401; a sender id the credential may not use, or one
that is too long or has odd characters, is refused (403, 400) before Rasa sees anything.

A message over ``IPT_MAX_MESSAGE_CHARS`` is answered with a clear refusal (the length is
checked before any per-character work); control characters are removed; a typed intent
shortcut is made plain text (bot/payloads.py). Rasa's ``stream`` and ``input_channel``
options are not offered.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import limits, payloads, settings

logger = logging.getLogger(__name__)

TELEGRAM_PREFIX = "tg-"
WEB_PREFIX = "web-"
_TELEGRAM_SENDER = re.compile(r"tg--?[0-9]{1,20}")
RELAY, TOOLS = "telegram relay", "rest"


def _refuse(status: int, reason: str) -> HTTPResponse:
    return response.json({"error": reason}, status=status)


class LimitedRestInput(RestInput):
    """The REST channel: authenticated, refusing over-long messages and foreign sender ids."""

    def __init__(self, tokens: dict[str, str] | None = None) -> None:
        # read when the first request comes (tests and `make run` set them in the environment)
        self._tokens = tokens

    @classmethod
    def name(cls) -> str:
        return "rest"

    def tokens(self) -> dict[str, str]:
        """Credential name -> token."""
        if self._tokens is None:
            self._tokens = {RELAY: settings.telegram_relay_token(),
                            TOOLS: settings.rest_token()}
        return self._tokens

    def caller(self, request: Request) -> str | None:
        """Which credential the request carries (RELAY or TOOLS), or None."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        for name, expected in self.tokens().items():
            if hmac.compare_digest(token.strip().encode(), expected.encode()):
                return name
        return None

    @staticmethod
    def sender_refusal(caller: str, sender: object) -> HTTPResponse | None:
        """The refusal for a sender id this caller may not use, or None when it may."""
        if not limits.valid_sender(sender):
            return _refuse(400, "sender must be 1-100 letters, digits or _.:- characters")
        assert isinstance(sender, str)
        if caller == RELAY and not _TELEGRAM_SENDER.fullmatch(sender):
            return _refuse(403, "this credential speaks only for Telegram chats")
        if caller == TOOLS and sender.lower().startswith((TELEGRAM_PREFIX, WEB_PREFIX)):
            return _refuse(403, "this credential cannot speak for a Telegram or web conversation")
        return None

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """``GET /`` and ``POST /webhook``, every message checked before the assistant sees it."""
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            caller = self.caller(request)
            if caller is None:
                return _refuse(401, "a valid credential is required")
            try:
                body = request.json
            except SanicException:  # not JSON
                body = None
            if not isinstance(body, dict):
                return _refuse(400, "body must be a JSON object")
            sender = body.get("sender")
            refusal = self.sender_refusal(caller, sender)
            if refusal is not None:
                return refusal
            text = body.get("message")
            # only our web channel sets the address tag of the code limit (bot/limits.py)
            metadata = limits.without_address_tag(body.get("metadata"))
            collector = CollectingOutputChannel()
            limit = limits.max_message_chars()
            if not isinstance(text, str):
                return response.json([])
            # the length first: a long message costs nothing more than this
            if len(text) > 2 * limit or len(text := limits.clean_text(text)) > limit:
                await collector.send_text_message(sender, limits.too_long_answer(limit))
                return response.json(collector.messages)
            text = payloads.harmless(text)
            if not text:
                return response.json([])
            try:
                await on_new_message(UserMessage(text, collector, sender,
                                                 input_channel=self.name(), metadata=metadata))
            except Exception as exc:
                # Rasa's own handler would log the message text with the error: keep it out.
                logger.error("handling a REST message failed: %s", type(exc).__name__)
                logger.debug("REST message failure", exc_info=True)
            return response.json(collector.messages)

        return webhook
