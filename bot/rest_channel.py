"""Rasa's REST channel with our input limits (internal: loopback, Telegram service and tests).

credentials.yml names ``bot.rest_channel.LimitedRestInput``; its name stays ``rest``, so the
webhook is still ``/webhooks/rest/webhook``. Every message has its control characters removed;
one over ``IPT_MAX_MESSAGE_CHARS`` is answered with a clear refusal and never reaches the
assistant (no tracker events, nothing stored).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint

from bot import limits

logger = logging.getLogger(__name__)


class LimitedRestInput(RestInput):
    """The REST channel, refusing over-long messages and removing control characters."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """Rasa's REST blueprint, with every message checked before the assistant sees it."""

        async def checked(message: UserMessage) -> Any:
            text = limits.clean_text(message.text or "") if isinstance(message.text, str) else ""
            limit = limits.max_message_chars()
            if len(text) > limit:
                await message.output_channel.send_text_message(
                    message.sender_id, limits.too_long_answer(limit)
                )
                return None
            if not text:
                return None
            message.text = text
            try:
                return await on_new_message(message)
            except Exception as exc:
                # Rasa's own handler would log the message text with the error: keep it out.
                logger.error("handling a REST message failed: %s", type(exc).__name__)
                logger.debug("REST message failure", exc_info=True)
                return None

        return super().blueprint(checked)
