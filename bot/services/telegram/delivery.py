"""Sending to Telegram without losing replies: flood-control waits, network retries, ids.

The reminder worker can reuse :func:`send_replies` with its own ``telegram.Bot``, inside a
:func:`send_window` so that a reminder whose moment passes while it waits is not sent.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import time
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from telegram import Bot, Message
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.ext import BaseRateLimiter, ExtBot
from telegram.warnings import PTBDeprecationWarning

from bot.services.telegram.config import TelegramConfig
from bot.services.telegram.render import CallbackData, OutMessage, OutPhoto, OutText, render
from bot.services.telegram.shared_pacing import SharedPacer

log = logging.getLogger(__name__)
T = TypeVar("T")

SENDER_PREFIX = "tg-"


def sender_for_chat(chat_id: int) -> str:
    """The Rasa conversation id of a Telegram chat (stable across restarts)."""
    return f"{SENDER_PREFIX}{chat_id}"


def chat_for_sender(sender: str) -> int | None:
    """The Telegram chat id of a Rasa conversation id, or None if it is not a Telegram one."""
    if not sender.startswith(SENDER_PREFIX):
        return None
    try:
        return int(sender[len(SENDER_PREFIX) :])
    except ValueError:
        return None


def _retry_after_seconds(exc: RetryAfter) -> float:
    """How long Telegram asks us to wait, whichever type python-telegram-bot hands out."""
    with warnings.catch_warnings():
        # 22.x warns that retry_after will become a timedelta; both types are handled here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


# Telegram's limits (Bot FAQ): about 30 messages a second in all, about one a second in one
# chat (short bursts tolerated). We stay ahead of both: at most OVERALL_RATE a second with a
# burst of OVERALL_BURST (25 in a second at most: room for network jitter), per chat one a second
# after a burst of CHAT_BURST (a reply of three paragraphs still goes out at once).
OVERALL_RATE = 20.0
OVERALL_BURST = 5
CHAT_RATE = 1.0
CHAT_BURST = 3


def _is_message(endpoint: str) -> bool:
    """Whether a Bot API call puts a message in a chat (what Telegram's limits count)."""
    return endpoint.startswith("send") and endpoint != "sendChatAction"


class Pacer:
    """Space messages ahead of Telegram's limits, overall and per chat (virtual scheduling).

    Each bucket keeps the theoretical time of its next message (the generic cell rate
    algorithm): a message goes at the earliest moment every bucket it belongs to allows, and
    that moment is reserved before waiting, so concurrent senders queue fairly.
    """

    def __init__(self, overall_rate: float = OVERALL_RATE, overall_burst: int = OVERALL_BURST,
                 chat_rate: float = CHAT_RATE, chat_burst: int = CHAT_BURST,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.overall_rate, self.overall_burst = overall_rate, overall_burst
        self.chat_rate, self.chat_burst = chat_rate, chat_burst
        self._overall = (1.0 / overall_rate, (overall_burst - 1) / overall_rate)
        self._chat = (1.0 / chat_rate, (chat_burst - 1) / chat_rate)
        self._clock = clock
        self._tat_overall = 0.0
        self._tat_chat: dict[object, float] = {}

    def reserve(self, chat: object | None) -> float:
        """Reserve the next slot for a message to ``chat``; how many seconds to wait for it."""
        now = self._clock()
        interval, tolerance = self._overall
        at = max(now, self._tat_overall - tolerance)
        if chat is not None:
            chat_interval, chat_tolerance = self._chat
            at = max(at, self._tat_chat.get(chat, 0.0) - chat_tolerance)
            self._tat_chat[chat] = max(self._tat_chat.get(chat, 0.0), at) + chat_interval
            if len(self._tat_chat) > 10_000:  # forget chats that are idle again
                self._tat_chat = {k: v for k, v in self._tat_chat.items() if v > now}
        self._tat_overall = max(self._tat_overall, at) + interval
        return at - now


class SendWindowClosed(TelegramError):
    """The moment for a message passed while it waited for its slot: it was not sent."""


# The current task's send window (see send_window): None, or a check made at the last moment.
_window: ContextVar[Callable[[], bool] | None] = ContextVar("telegram_send_window", default=None)


@contextmanager
def send_window(still_open: Callable[[], bool] | None) -> Iterator[None]:
    """Within this block, a message goes to Telegram only if ``still_open()`` holds when it is
    handed over, after any pacing, flood-control or network-retry wait; else the send raises
    :class:`SendWindowClosed`. Once one message of the reply has gone, the rest follow it.

    Why: the reminder worker checks quiet hours and the session's start before sending, but
    a message can then wait seconds for its pacing slot, or a minute for flood control, and
    arrive in the client's night (found by scripts/soak_reminders.py). The limiter checks
    again at the last moment. The window belongs to the current task (a context variable),
    so concurrent deliveries each keep their own.
    """
    token = _window.set(still_open)
    try:
        yield
    finally:
        _window.reset(token)


class RetryAfterLimiter(BaseRateLimiter[None]):
    """Pace messages ahead of Telegram's limits, and honour its flood control when it answers.

    python-telegram-bot's AIORateLimiter does much the same but needs the ``aiolimiter``
    package and does not pace private chats. Messages are spaced by a :class:`Pacer`; on a
    429 ``retry_after`` every request waits the time Telegram asks, then the call is tried
    again, a bounded number of times.
    """

    def __init__(self, max_retries: int = 3, max_wait: float = 60.0,
                 pacer: Pacer | None = None, shared: SharedPacer | None = None) -> None:
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.pacer = pacer or Pacer()
        # Pacing shared with the bot's other senders through Redis; falls back to ``pacer``.
        self.shared = shared
        self._resume_at = 0.0

    async def initialize(self) -> None:
        """Nothing to set up (Redis is reached on the first message)."""

    async def shutdown(self) -> None:
        """Close the connection to Redis, if any."""
        if self.shared is not None:
            await self.shared.close()

    async def _reserve(self, chat: object | None) -> float:
        if self.shared is not None:
            return await self.shared.reserve(chat)
        return self.pacer.reserve(chat)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Call the Bot API; on RetryAfter wait as told and try again, a bounded number of times.

        A message inside a :func:`send_window` goes only if the window is still open after
        the waits.
        """
        message = _is_message(endpoint)
        for attempt in range(self.max_retries + 1):
            if message:
                pause = await self._reserve((data or {}).get("chat_id"))
                if pause > 0:
                    await asyncio.sleep(pause)
            pause = self._resume_at - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            still_open = _window.get() if message else None
            if still_open is not None and not still_open():
                raise SendWindowClosed(f"the moment for {endpoint} passed while it waited")
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as exc:
                wait = _retry_after_seconds(exc)
                if attempt == self.max_retries or wait > self.max_wait:
                    raise
                log.warning("Telegram flood control on %s: waiting %.0f s", endpoint, wait)
                self._resume_at = max(self._resume_at, time.monotonic() + wait + 0.1)
                continue
            if still_open is not None:
                _window.set(None)  # the reply has begun: its other messages follow it
            return result
        raise AssertionError("unreachable")  # the loop returns or raises


def make_limiter(config: TelegramConfig) -> RetryAfterLimiter:
    """The limiter for ``config``'s bot: paced with its other senders when Redis is set."""
    pacer = Pacer()
    return RetryAfterLimiter(pacer=pacer, shared=shared_pacer(config, pacer))


def shared_pacer(config: TelegramConfig, local: Pacer) -> SharedPacer | None:
    """Pacing through ``config.redis_url`` with ``local`` as its fallback; None without Redis."""
    if not config.redis_url:
        return None
    try:
        return SharedPacer(config.redis_url, config.token.split(":", 1)[0], local,
                           password=config.redis_password,
                           overall=(local.overall_rate, local.overall_burst),
                           chat=(local.chat_rate, local.chat_burst))
    except ValueError as exc:  # not a Redis URL
        log.warning("IPT_REDIS_URL: %s: Telegram messages are paced by each process alone", exc)
        return None


def make_bot(config: TelegramConfig) -> ExtBot[None]:
    """A Bot for sending outside the Application (the reminder worker), same limiter and URLs.

    Use it as ``async with make_bot(config) as bot: await send_replies(bot, ...)``.
    """
    return ExtBot(
        config.token,
        base_url=config.api_base_url,
        base_file_url=config.api_base_file_url,
        rate_limiter=make_limiter(config),
    )


async def with_network_retries(
    call: Callable[[], Awaitable[T]], attempts: int = 4, first_delay: float = 0.5
) -> T:
    """Await ``call()``; on a network error or time-out try again with doubling delays.

    BadRequest is a NetworkError subclass in python-telegram-bot but retrying it cannot help.
    A time-out may hide a message that did arrive: a rare duplicate beats a lost reply.
    """
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except BadRequest:
            raise
        except NetworkError as exc:
            if attempt == attempts:
                raise
            log.warning(
                "Telegram network error (%s), retry %d in %.1f s",
                type(exc).__name__,
                attempt,
                delay,
            )
            await asyncio.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


async def send_message(bot: Bot, chat_id: int, message: OutMessage) -> Message:
    """Send one rendered message; a photo Telegram cannot fetch is sent as its link."""
    if isinstance(message, OutPhoto):
        try:
            return await with_network_retries(
                lambda: bot.send_photo(
                    chat_id, message.url, caption=message.caption, reply_markup=message.reply_markup
                )
            )
        except BadRequest:
            log.warning("Telegram could not send a photo; sending its link instead")
            text = f"{message.caption}\n\n{message.url}" if message.caption else message.url
            message = OutText(text, message.reply_markup)
    assert isinstance(message, OutText)
    return await with_network_retries(
        lambda: bot.send_message(chat_id, message.text, reply_markup=message.reply_markup)
    )


async def send_replies(
    bot: Bot,
    chat_id: int,
    replies: list[dict[str, Any]],
    callbacks: CallbackData,
    start: int = 0,
    on_sent: Callable[[int], Awaitable[None]] | None = None,
) -> list[Message]:
    """Render Rasa's replies and send them to ``chat_id`` in order.

    ``start`` skips the messages a killed service had already sent; ``on_sent(n)`` is awaited
    after each message with how many are sent now (the update journal records it).
    """
    sent = []
    for number, message in enumerate(render(replies, callbacks), start=1):
        if number <= start:
            continue
        sent.append(await send_message(bot, chat_id, message))
        if on_sent is not None:
            await on_sent(number)
    return sent
