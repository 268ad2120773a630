"""The Application: handlers that pass Telegram updates to Rasa and send its replies back.

:func:`build_application` wires everything; :func:`serve` runs it (long polling or webhook)
until a stop event is set. ``python -m bot.services.telegram`` calls both.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any

from aiohttp import web
from telegram import BotCommand, Chat, Update
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.clinic import edge_help
from bot.commands import COMMANDS, message_for
from bot.services.telegram import journal, texts
from bot.services.telegram.config import TelegramConfig
from bot.services.telegram.delivery import (
    make_limiter,
    send_message,
    send_replies,
    sender_for_chat,
    with_network_retries,
)
from bot.services.telegram.journal import UpdateJournal
from bot.services.telegram.polling import Poller
from bot.services.telegram.rasa_client import RasaClient, RasaUnavailable
from bot.services.telegram.render import CallbackData, OutText, clean_text
from bot.services.telegram.webhook import start_webhook_server

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
# New messages only: edits of old messages are not new things said to the assistant.
PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
GROUP_COMMAND = filters.ChatType.GROUPS & filters.UpdateType.MESSAGE & filters.COMMAND


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Handle different chats at the same time, but one chat's updates strictly in order.

    The default processes one update at a time for everybody, so one slow Rasa answer would
    hold up every user; plain concurrency could answer one user's two messages out of order.
    """

    def __init__(self, max_concurrent_updates: int = 32) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run ``coroutine`` once no earlier update of the same chat is running."""
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        key = chat.id
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:  # forget idle chats so the dict stays small
                del self._waiting[key]
                del self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


def build_application(config: TelegramConfig, rasa: RasaClient) -> Application:
    """The Application with our handlers, flood-control limiter and per-chat ordering."""
    app = (
        ApplicationBuilder()
        .token(config.token)
        .base_url(config.api_base_url)
        .base_file_url(config.api_base_file_url)
        .rate_limiter(make_limiter(config))
        .concurrent_updates(PerChatUpdateProcessor())
        # Rasa's APScheduler would make python-telegram-bot start a JobQueue we never use.
        .job_queue(None)
        .build()
    )
    app.bot_data.update(rasa=rasa, callbacks=CallbackData(), config=config, tapped=OrderedDict())
    app.add_handler(CommandHandler([c.name for c in COMMANDS], on_command, filters=PRIVATE))
    app.add_handler(MessageHandler(PRIVATE & filters.COMMAND, on_unknown_command))
    app.add_handler(MessageHandler(PRIVATE & filters.TEXT, on_text))
    app.add_handler(
        MessageHandler(PRIVATE & ~filters.TEXT & ~filters.StatusUpdate.ALL, on_non_text)
    )
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(MessageHandler(GROUP_COMMAND, on_group_command))
    app.add_error_handler(on_error)
    return app


def _metadata(update: Update) -> dict[str, Any]:
    """What Rasa learns besides the text: the channel and language, no names or usernames."""
    user = update.effective_user
    return {"channel": "telegram", "language": user.language_code if user else None}


async def converse(update: Update, context: ContextTypes.DEFAULT_TYPE, message: str) -> None:
    """Send ``message`` to Rasa as this chat's user and deliver the replies.

    When Rasa can't answer, the reply still carries the emergency number and crisis lines;
    a message the edge check reads as a crisis gets them after ``crisis_grace`` seconds at
    the latest, however long Rasa takes (bot/clinic/edge_help.py, docs/safety.md).
    """
    chat = update.effective_chat
    assert chat is not None
    rasa: RasaClient = context.bot_data["rasa"]
    config: TelegramConfig = context.bot_data["config"]
    try:
        await context.bot.send_chat_action(chat.id, "typing")
    except TelegramError:
        pass  # only a courtesy: the reply matters, the "typing..." hint does not
    crisis = edge_help.looks_like_crisis(message)
    # Set when this update is replayed after a crash (bot/services/telegram/journal.py).
    progress = journal.CURRENT.get()
    helped = False
    if progress is not None and progress.replies is not None:
        # Rasa answered before the service stopped: send what was not sent, ask Rasa nothing.
        replies = progress.replies
    else:
        answer = asyncio.ensure_future(
            rasa.send(sender_for_chat(chat.id), message, _metadata(update)))
        if crisis:
            done, _ = await asyncio.wait({answer}, timeout=config.crisis_grace)
            if not done:
                log.warning("Rasa slow on a crisis message: sent the resources from the edge")
                await _send_help(context, chat.id, crisis=True)
                helped = True
        try:
            replies = await answer
        except RasaUnavailable as exc:
            log.warning("Rasa server unavailable (%s): answered with the resources", exc.reason)
            if not helped:
                await _send_help(context, chat.id, crisis=crisis)
            return
        if progress is not None:
            await progress.record_replies(replies)
    await send_replies(context.bot, chat.id, replies, context.bot_data["callbacks"],
                       start=progress.sent if progress else 0,
                       on_sent=progress.record_sent if progress else None)
    if crisis and not helped and _crisis_reply_without_numbers(replies):
        # Rasa gave its crisis words but the action that adds the clinic's numbers failed
        # (action server down): the numbers must still come.
        log.warning("crisis reply without the resources (action server down?): added them")
        await send_message(context.bot, chat.id,
                           OutText(edge_help.resources_text(edge_help.load_clinic())))


def _crisis_reply_without_numbers(replies: list[dict[str, Any]]) -> bool:
    """Whether Rasa's replies speak of the emergency number but do not give the clinic's."""
    texts_ = [str(r.get("text") or "") for r in replies]
    emergency = edge_help.load_clinic().emergency
    return (any("emergency" in t for t in texts_)
            and not any(emergency in t for t in texts_))


async def _send_help(context: ContextTypes.DEFAULT_TYPE, chat_id: int, crisis: bool) -> None:
    """The edge's own answer: always with the clinic's emergency number and crisis lines."""
    clinic = edge_help.load_clinic()
    texts_ = edge_help.crisis_reply(clinic) if crisis else edge_help.trouble_reply(clinic)
    await send_message(context.bot, chat_id, OutText("\n\n".join(texts_)))


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send a menu command's message (or a deep-link enrolment code) to Rasa."""
    message = update.effective_message
    assert message is not None and message.text is not None
    name = message.text.split()[0][1:].split("@")[0].lower()
    await converse(update, context, message_for(name, context.args or []))


async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer an unknown command with the help text (never pass a typed intent to Rasa)."""
    await converse(update, context, message_for("help", []))


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Pass the user's text to Rasa, after removing control characters and checking length."""
    message = update.effective_message
    assert message is not None and message.text is not None
    config: TelegramConfig = context.bot_data["config"]
    text = clean_text(message.text)
    # Text starting with "/" is a Rasa intent shortcut: only our commands and buttons send those.
    text = text.lstrip("/").strip()
    if not text:
        return
    if len(text) > config.max_message_chars:
        await send_message(
            context.bot,
            message.chat_id,
            OutText(texts.TOO_LONG.format(limit=config.max_message_chars)),
        )
        return
    await converse(update, context, text)


async def on_non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Kindly say that only text can be read (voice, stickers, photos, files...)."""
    message = update.effective_message
    assert message is not None
    await send_message(context.bot, message.chat_id, OutText(texts.TEXT_ONLY))


async def on_group_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask people who address the bot in a group to write privately (nothing goes to Rasa)."""
    message = update.effective_message
    assert message is not None
    await send_message(context.bot, message.chat_id, OutText(texts.PRIVATE_ONLY))


def _payload_of_tap(update: Update, callbacks: CallbackData) -> str | None:
    """The payload of the tapped button, if that button is really on the message."""
    query = update.callback_query
    assert query is not None
    message = query.message
    markup = getattr(message, "reply_markup", None)
    if not query.data or markup is None:
        return None
    # Modified clients can send any callback_data: accept only data of a button we sent.
    offered = {b.callback_data for row in markup.inline_keyboard for b in row}
    if query.data not in offered:
        return None
    return callbacks.decode(str(query.data))


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the tap, retire the keyboard, then send the button's payload to Rasa."""
    query = update.callback_query
    assert query is not None
    chat = update.effective_chat
    tapped: OrderedDict[tuple[int, int], None] = context.bot_data["tapped"]
    key = (chat.id, query.message.message_id) if chat and query.message else None
    payload = None
    repeated = key in tapped
    try:
        if chat is not None and chat.type == Chat.PRIVATE and not repeated:
            payload = _payload_of_tap(update, context.bot_data["callbacks"])
    finally:
        # Always answer, or the user's button keeps spinning; a second tap just stops it.
        notice = None if payload or repeated else texts.BUTTON_EXPIRED
        try:
            await with_network_retries(lambda: query.answer(text=notice))
        except TelegramError as exc:
            log.warning("could not answer a button tap (%s)", type(exc).__name__)
    if payload is None or key is None:
        return
    tapped[key] = None
    while len(tapped) > 10_000:
        tapped.popitem(last=False)
    try:
        await with_network_retries(lambda: query.edit_message_reply_markup(reply_markup=None))
    except BadRequest:
        pass  # already without a keyboard, or too old to edit: nothing to retire
    await converse(update, context, payload)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log any error a handler raised, with its traceback (never the message text)."""
    if isinstance(context.error, Forbidden):
        # The user blocked the bot or left: expected, and nothing we can do about it.
        log.warning("Telegram refused a message to a chat (%s)", context.error.message)
        return
    log.error("error while handling a Telegram update", exc_info=context.error)


async def set_command_menu(app: Application) -> None:
    """Show our commands in Telegram's menu."""
    commands = [BotCommand(c.name, c.description) for c in COMMANDS]
    try:
        await with_network_retries(lambda: app.bot.set_my_commands(commands))
    except TelegramError as exc:
        log.warning("could not set the command menu (%s); carrying on", type(exc).__name__)


async def _initialize(app: Application, stop: asyncio.Event) -> bool:
    """Initialize (getMe), retrying while Telegram is unreachable; False if stopped first."""
    delay = 1.0
    while not stop.is_set():
        try:
            await app.initialize()
            return True
        except InvalidToken:
            raise
        except NetworkError as exc:
            log.warning(
                "Telegram is not reachable (%s); trying again in %.0f s", type(exc).__name__, delay
            )
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except asyncio.TimeoutError:
                pass
            delay = min(delay * 2, 60.0)
    return False


def quiet_http_logs() -> None:
    """Turn down httpx: it logs every request URL at INFO, and Bot API URLs hold the token."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


async def serve(config: TelegramConfig, stop: asyncio.Event) -> None:
    """Run the Telegram service until ``stop`` is set."""
    quiet_http_logs()
    from bot.settings import telegram_relay_token

    async with RasaClient(config.rasa_url, timeout=config.rasa_timeout,
                          token=telegram_relay_token()) as rasa:
        app = build_application(config, rasa)
        if not await _initialize(app, stop):
            return
        updates = UpdateJournal(app.bot.id, config.database_url)
        await updates.prune()
        runner: web.AppRunner | None = None
        poller: Poller | None = None
        try:
            await set_command_menu(app)
            if config.mode == "webhook":
                assert config.webhook_url and config.webhook_secret
                runner = await start_webhook_server(
                    app,
                    updates,
                    config.webhook_listen,
                    config.webhook_port,
                    config.webhook_path,
                    config.webhook_secret,
                )
                await app.start()
                await with_network_retries(
                    lambda: app.bot.set_webhook(
                        config.webhook_url,
                        secret_token=config.webhook_secret,
                        allowed_updates=ALLOWED_UPDATES,
                    )
                )
                log.info("Telegram is on: webhook at %s", config.webhook_path)
            else:
                # Our own poller, not python-telegram-bot's Updater: the Updater confirms an
                # update as soon as it is fetched, ours only once it is answered.
                await app.start()
                poller = Poller(app, updates, ALLOWED_UPDATES)
                await poller.start()
                log.info("Telegram is on: long polling")
            await stop.wait()
        finally:
            # Stop taking updates first, then finish the ones already taken.
            if runner is not None:
                await runner.cleanup()
            if poller is not None:
                await poller.stop(grace=config.rasa_timeout)
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            await app.shutdown()
