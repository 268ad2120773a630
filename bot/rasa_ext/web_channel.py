"""Rasa's socket.io channel, accepting only conversation ids our web server issued and signed.

Rasa's own ``SocketIOInput`` lets the browser choose its session id, which becomes the
conversation id, and takes the id again from every ``user_uttered`` event: anyone who knows
(or guesses) an id could read and write that conversation, including a Telegram one
(``tg-<chat_id>``). This subclass:

- accepts a ``session_request`` only with a token from :mod:`bot.signing`, binds the
  socket to that token's conversation (``web-...``) and joins its room;
- accepts a ``user_uttered`` only from a socket bound that way, and only for that same
  conversation; anything else is refused with a ``session_refused`` event and never reaches
  the assistant.

credentials.yml::

    bot.rasa_ext.web_channel.SignedSocketIOInput:
      session_persistence: true
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer
from sqlalchemy.exc import SQLAlchemyError

from bot import limits, payloads, signing

logger = logging.getLogger(__name__)

# How often messages waiting in the web outbox are looked for while widgets are connected.
OUTBOX_POLL_SECONDS = 2.0

REFUSED_EVENT = "session_refused"
# Shared with the Telegram service and the REST channel (bot/limits.py).
DEFAULT_MAX_MESSAGE_CHARS = limits.DEFAULT_MAX_MESSAGE_CHARS
TOO_LONG = limits.TOO_LONG
clean_text = limits.clean_text
CRISIS_RESPONSE_PREFIX = "utter_crisis"


def _address_tag(address: str | None) -> str | None:
    """The keyed tag of a client address (bot/clinic/store/codes.py), never the address itself."""
    from bot.clinic.store.codes import address_tag

    try:
        return address_tag(address)
    except Exception:  # no key readable: the other code limits still apply; chat goes on
        logger.exception("could not tag the client address for the code limit")
        return None


def is_crisis(message: dict[str, Any]) -> bool:
    """Whether a bot message is the crisis response (docs/widget.md: the convention)."""
    custom = message.get("custom")
    if isinstance(custom, dict) and custom.get("crisis") is True:
        return True
    name = message.get("utter_action")
    return isinstance(name, str) and name.startswith(CRISIS_RESPONSE_PREFIX)


class SignedSocketIOOutput(SocketIOOutput):
    """Rasa's socket.io output, with the crisis flag on messages and working custom payloads."""

    async def _send_message(self, socket_id: str, response: Any) -> None:
        """Emit with an ``id``: every tab of the conversation shows (and stores) it once."""
        if isinstance(response, dict) and "id" not in response:
            response = {**response, "id": uuid.uuid4().hex[:24]}
        await super()._send_message(socket_id, response)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Send each paragraph as a message, flagged ``crisis`` when it is the crisis response."""
        extra = {"crisis": True} if is_crisis(kwargs) else {}
        for part in text.strip().split("\n\n"):
            await self._send_message(recipient_id, {"text": part, **extra})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """Send paragraphs with the buttons as quick replies on the last one."""
        extra = {"crisis": True} if is_crisis(kwargs) else {}
        parts = text.strip().split("\n\n") or [text]
        replies = [{"content_type": "text", "title": b["title"], "payload": b["payload"]}
                   for b in buttons]
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            await self._send_message(
                recipient_id, {"text": part, "quick_replies": replies if last else [], **extra})

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """Send a response's ``custom`` payload as ``{"custom": ...}``.

        Rasa's own version passes the payload's keys as arguments to ``emit``, so a payload
        like ``{"crisis": true}`` would fail; wrapping it reaches the widget intact.
        """
        await self._send_message(recipient_id, {"custom": json_message})


# A server that emitted an outbox row waits this long for the widget's acknowledgement before
# the row may be emitted again (by it or another server); the widget shows a row once.
OUTBOX_ACK_WAIT = timedelta(seconds=60)
ACK_EVENT = "message_ack"  # server -> widget: {"message_id"}: answered, stop resending
OUTBOX_ACK_EVENT = "outbox_ack"  # widget -> server: {"outbox_id"}: displayed
# This process, for the widget message ids it is answering (bot/clinic/store/models.py WebMessage).
OWNER = uuid.uuid4().hex
_MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class OutboxOutput(SignedSocketIOOutput):
    """The output for one outbox row: each emitted message carries the row's id and its
    place in the row, so the widget shows it once and acknowledges it."""

    def __init__(self, sio: AsyncServer, bot_message_evt: str, row_id: int) -> None:
        super().__init__(sio, bot_message_evt)
        self.row_id = row_id
        self.index = 0

    async def _send_message(self, socket_id: str, response: Any) -> None:
        """Emit with the row's id and the message's place in it."""
        response = {**response, "outbox_id": self.row_id, "outbox_index": self.index}
        self.index += 1
        await super()._send_message(socket_id, response)


def _take_outbox(conversation_ids: list[str]) -> list[tuple[int, str, list[dict[str, Any]]]]:
    """Claim the waiting web outbox rows of these conversations, oldest first.

    A row is claimed by setting ``emitted_until`` with a conditional update, so of several
    Rasa servers exactly one emits it; it is emitted again only if no widget acknowledged it
    within OUTBOX_ACK_WAIT. A reminder whose session started (or was cancelled) before a
    widget displayed it is dropped instead, recorded as missed (``not_shown``).
    """
    import sqlalchemy as sa

    from bot.clinic import reminders
    from bot.clinic.store import db
    from bot.clinic.store.clock import database_now
    from bot.clinic.store.models import Appointment, Reminder, WebOutbox

    db.ensure_migrated()
    now = database_now()  # the lease is read by other Rasa servers: their clocks may differ
    taken = []
    with db.unit_of_work() as s:
        rows = s.execute(
            sa.select(WebOutbox.id, WebOutbox.sender_id, WebOutbox.messages,
                      WebOutbox.reminder_id, Appointment.starts_at, Appointment.status)
            .outerjoin(Reminder, Reminder.id == WebOutbox.reminder_id)
            .outerjoin(Appointment, Appointment.id == Reminder.appointment_id)
            .where(WebOutbox.sender_id.in_(conversation_ids),
                   sa.or_(WebOutbox.emitted_until.is_(None), WebOutbox.emitted_until < now))
            .order_by(WebOutbox.created_at, WebOutbox.id)
        ).all()
        for r in rows:
            if r.reminder_id is not None and (r.status != "booked" or r.starts_at <= now):
                reminders.mark_not_shown(s, r.reminder_id, "not_shown")
                s.execute(sa.delete(WebOutbox).where(WebOutbox.id == r.id))
                continue
            won = s.execute(
                sa.update(WebOutbox)
                .where(WebOutbox.id == r.id,
                       sa.or_(WebOutbox.emitted_until.is_(None), WebOutbox.emitted_until < now))
                .values(emitted_until=now + OUTBOX_ACK_WAIT)
                .execution_options(synchronize_session=False)
            ).rowcount
            if won:
                taken.append((r.id, r.sender_id, json.loads(r.messages)))
    return taken


def _outbox_displayed(row_id: int, conversation_id: str) -> bool:
    """The widget of ``conversation_id`` displayed the row: delete it, its reminder is sent."""
    import sqlalchemy as sa

    from bot.clinic import reminders
    from bot.clinic.store import db
    from bot.clinic.store.clock import database_now
    from bot.clinic.store.models import WebOutbox

    with db.unit_of_work() as s:
        reminder_id = s.execute(
            sa.select(WebOutbox.reminder_id)
            .where(WebOutbox.id == row_id, WebOutbox.sender_id == conversation_id)
        ).first()
        if reminder_id is None:
            return False  # acknowledged already, or not this conversation's
        if reminder_id[0] is not None:
            reminders.mark_shown(s, reminder_id[0], database_now())
        s.execute(sa.delete(WebOutbox).where(WebOutbox.id == row_id))
        return True


def _message_received(conversation_id: str, message_id: str) -> str:
    """Record a widget message by its id: ``new``, ``answered`` (a resend of an answered
    one), ``running`` (this server answers it now) or ``again`` (a server that took it died)."""
    import sqlalchemy as sa
    from sqlalchemy.exc import IntegrityError

    from bot.clinic.store import db
    from bot.clinic.store.clock import database_now
    from bot.clinic.store.models import WebMessage

    db.ensure_migrated()
    key = sa.and_(WebMessage.conversation_id == conversation_id,
                  WebMessage.message_id == message_id)
    with db.unit_of_work() as s:
        row = s.execute(sa.select(WebMessage.state, WebMessage.owner).where(key)).first()
        if row is None:
            try:
                with s.begin_nested():
                    s.add(WebMessage(conversation_id=conversation_id, message_id=message_id,
                                     state="received", owner=OWNER, received_at=database_now()))
                return "new"
            except IntegrityError:  # the same message, at the same moment, elsewhere
                return "running"
        if row.state == "answered":
            return "answered"
        if row.owner == OWNER:
            return "running"
        taken = s.execute(sa.update(WebMessage).where(key, WebMessage.owner == row.owner)
                          .values(owner=OWNER).execution_options(synchronize_session=False))
        return "again" if taken.rowcount == 1 else "running"


def _message_answered(conversation_id: str, message_id: str) -> None:
    import sqlalchemy as sa

    from bot.clinic.store import db
    from bot.clinic.store.models import WebMessage

    with db.unit_of_work() as s:
        s.execute(sa.update(WebMessage).where(
            WebMessage.conversation_id == conversation_id,
            WebMessage.message_id == message_id).values(state="answered"))


class OutboxPump:
    """Emit messages from the web outbox (session reminders) to connected widgets.

    The reminder worker runs in another process and cannot reach the sockets, which live
    here in the Rasa server; it leaves the messages in the ``web_outbox`` table. This pump
    sends them when a widget asks for its session (the next visit), and every few seconds
    to the conversations that have a widget connected. Each message carries its row's id
    (``outbox_id``, ``outbox_index``): the widget shows it once and acknowledges it
    (``outbox_ack``), and only then is the row deleted and its reminder counted as sent.
    """

    def __init__(self, sio: AsyncServer, namespace: str | None, bot_message_evt: str) -> None:
        self.sio = sio
        self.namespace = namespace
        self.output = SignedSocketIOOutput(sio, bot_message_evt)
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None

    def connected(self) -> list[str]:
        """The web conversations with at least one socket in their room."""
        rooms = self.sio.manager.rooms.get(self.namespace or "/", {})
        return [room for room, members in rooms.items()
                if isinstance(room, str) and room.startswith(signing.PREFIX) and members]

    async def deliver(self, conversation_ids: list[str]) -> int:
        """Emit the waiting messages of these conversations; how many rows went out."""
        if not conversation_ids:
            return 0
        async with self._lock:
            try:
                rows = await asyncio.to_thread(_take_outbox, conversation_ids)
            except SQLAlchemyError as exc:  # the database is down: rows wait for the next try
                logger.warning("web outbox unavailable (%s)", type(exc).__name__)
                return 0
            for row_id, conversation_id, messages in rows:
                output = OutboxOutput(self.sio, self.output.bot_message_evt, row_id)
                for message in messages:
                    await output.send_response(conversation_id, dict(message))
            return len(rows)

    async def displayed(self, row_id: object, conversation_id: str) -> None:
        """A widget of ``conversation_id`` acknowledged the row ``row_id``."""
        if not isinstance(row_id, int) or isinstance(row_id, bool):
            return
        try:
            await asyncio.to_thread(_outbox_displayed, row_id, conversation_id)
        except SQLAlchemyError as exc:  # shown again later, and the widget skips it
            logger.warning("web outbox unavailable (%s)", type(exc).__name__)

    def start(self) -> None:
        """Start polling for connected conversations (once; on the first session request)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll())

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(OUTBOX_POLL_SECONDS)
            try:
                await self.deliver(self.connected())
            except Exception:  # keep polling whatever one round did
                logger.exception("web outbox round failed")


class SignedSocketIOInput(SocketIOInput):
    """Socket.io input channel that refuses session ids not signed by our web server."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Build the channel from its credentials.yml section (same keys as Rasa's)."""
        channel = super().from_credentials(credentials)
        assert isinstance(channel, SignedSocketIOInput)
        return channel

    def __init__(self, *args: Any, secret: bytes | None = None, max_age: int | None = None,
                 **kwargs: Any) -> None:
        """Create the channel; the secret is read when the blueprint is built, not here."""
        super().__init__(*args, **kwargs)
        self._secret = secret
        self._max_age = max_age
        self._max_chars = limits.max_message_chars()

    def get_output_channel(self) -> SignedSocketIOOutput | None:
        """Output channel for messages Rasa sends on its own (reminders, external events)."""
        if self.sio is None:
            return None
        return SignedSocketIOOutput(self.sio, self.bot_message_evt)

    def _verify(self, token: object) -> signing.WebSession | None:
        if self._secret is None:
            self._secret = signing.load_secret()
        if self._max_age is None:
            self._max_age = signing.max_age_from_env()
        return signing.verify(self._secret, token, max_age=self._max_age)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """Sanic blueprint with the socket.io server and our checking event handlers."""
        # Origins are checked by our web server, the only way in from the outside;
        # Rasa itself listens on loopback behind it.
        # frames (and polling bodies) no bigger than the longest message needs (issue 19)
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[],
                          max_http_buffer_size=limits.max_frame_bytes())
        per_visitor = limits.RateLimiter.from_env("messages_per_visitor")
        socketio_webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        self._verify(None)  # load the secret now, so a missing one fails at start, not later
        pump = OutboxPump(sio, self.namespace, self.bot_message_evt)

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: dict, auth: dict | None = None) -> bool:
            # The visitor's address as our web server saw it (the last X-Forwarded-For
            # entry, which it appends), kept for this socket as a keyed tag only: the
            # enrolment-code limit per address counts by it (bot/clinic/store/services.py).
            address = limits.forwarded_address(environ.get("HTTP_X_FORWARDED_FOR"),
                                               environ.get("REMOTE_ADDR"))
            await sio.save_session(sid, {limits.ADDRESS_TAG_KEY: _address_tag(address)},
                                   namespace=self.namespace)
            return True

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: str, *_: Any) -> None:
            logger.debug("socket %s disconnected", sid)

        async def refuse(sid: str, reason: str) -> None:
            # no message text and no token in the log: both are the visitor's
            logger.warning("socket.io %s refused: %s", sid, reason)
            await sio.emit(REFUSED_EVENT, {"reason": reason}, room=sid,
                           namespace=self.namespace)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any = None) -> None:
            token = data.get("session_id") if isinstance(data, dict) else None
            session = self._verify(token)
            if session is None:
                await refuse(sid, "invalid session id")
                return
            previous = await sio.get_session(sid, namespace=self.namespace)
            bound = previous.get("conversation_id")
            if bound and bound != session.conversation_id:
                # one socket, one conversation: leave the old room before joining another
                await sio.leave_room(sid, bound, namespace=self.namespace)
            await sio.save_session(sid, {**previous, "conversation_id": session.conversation_id},
                                   namespace=self.namespace)
            await sio.enter_room(sid, session.conversation_id, namespace=self.namespace)
            await sio.emit("session_confirm", session.token, room=sid, namespace=self.namespace)
            # Reminders that came while the widget was closed are shown now (next visit).
            pump.start()
            await pump.deliver([session.conversation_id])

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any = None) -> None:
            if not isinstance(data, dict):
                await refuse(sid, "malformed message")
                return
            saved = await sio.get_session(sid, namespace=self.namespace)
            bound = saved.get("conversation_id")
            session = self._verify(data.get("session_id"))
            if session is None:
                await refuse(sid, "invalid session id")
                return
            if bound != session.conversation_id:
                # a valid token, but not the one this socket asked for: no switching
                # conversations in mid-stream (and no writing without listening)
                await refuse(sid, "session not requested on this connection")
                return
            text = data.get("message")
            if not isinstance(text, str):
                await refuse(sid, "malformed message")
                return
            if not per_visitor.allow(session.conversation_id):
                await sio.emit(self.bot_message_evt, {"text": limits.SLOW_DOWN},
                               room=sid, namespace=self.namespace)
                return
            # the length first (a long message costs nothing more than this), then cleaning
            if len(text) > 2 * self._max_chars or len(text := clean_text(text)) > self._max_chars:
                # refused with a clear answer, not processed (issue 9: input limits)
                await sio.emit(self.bot_message_evt,
                               {"text": TOO_LONG.format(limit=self._max_chars)},
                               room=sid, namespace=self.namespace)
                return
            text = payloads.harmless(text)  # a typed "/intent{...}" is plain text
            if not text:
                return
            conversation = session.conversation_id
            # The widget's id for this message: a resend after a reconnection is answered
            # once (the acknowledgement goes to the conversation's room, every tab of it).
            message_id = data.get("message_id")
            if not (isinstance(message_id, str) and _MESSAGE_ID.match(message_id)):
                message_id = None
            if message_id is not None:
                try:
                    seen = await asyncio.to_thread(_message_received, conversation, message_id)
                except SQLAlchemyError as exc:  # answer it anyway: an answer beats none
                    logger.warning("widget message ids unavailable (%s)", type(exc).__name__)
                    seen = "new"
                if seen == "answered":
                    await ack(conversation, message_id)
                    return
                if seen == "running":
                    return  # being answered here: the answer and its ack go to the room
            output_channel = SignedSocketIOOutput(sio, self.bot_message_evt)
            await on_new_message(UserMessage(
                text, output_channel, conversation,
                input_channel=self.name(),
                metadata=({limits.ADDRESS_TAG_KEY: saved[limits.ADDRESS_TAG_KEY]}
                          if saved.get(limits.ADDRESS_TAG_KEY) else {}),
            ))
            if message_id is not None:
                try:
                    await asyncio.to_thread(_message_answered, conversation, message_id)
                except SQLAlchemyError as exc:
                    logger.warning("widget message ids unavailable (%s)", type(exc).__name__)
                await ack(conversation, message_id)

        async def ack(conversation_id: str, message_id: str) -> None:
            await sio.emit(ACK_EVENT, {"message_id": message_id}, room=conversation_id,
                           namespace=self.namespace)

        @sio.on(OUTBOX_ACK_EVENT, namespace=self.namespace)
        async def outbox_ack(sid: str, data: Any = None) -> None:
            # only for the conversation this socket asked for: a row id alone proves nothing
            bound = (await sio.get_session(sid, namespace=self.namespace)).get("conversation_id")
            if bound and isinstance(data, dict):
                await pump.displayed(data.get("outbox_id"), bound)

        return socketio_webhook
