"""Rasa's SQL tracker store on the project's database (``IPT_DATABASE_URL``).

endpoints.yml: ``tracker_store: {type: bot.rasa_ext.tracker_store.IPTTrackerStore}``. Conversations
then live next to the clinic's records (SQLite file or PostgreSQL), so one backup holds all.

Rasa wraps every tracker store in ``FailSafeTrackerStore``: when the database fails, a read
returns a fresh, empty conversation and a write goes to memory only, and the assistant keeps
answering. That is the right behaviour during a database restart, but it must not pass
silently: every failure here is counted in :data:`HEALTH`, logged once per outage as one
line without the conversation's content (SQLAlchemy's messages carry the event JSON, so the
original exception never reaches Rasa's own error log), and reported by the health
endpoint (:mod:`bot.rasa_ext.health`, ``GET /webhooks/ipt_health/`` on each Rasa server).
"""

from __future__ import annotations

import contextvars
import itertools
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.shared.utils.common import all_subclasses

from bot import limits
from bot.clinic.privacy import ERASED_KEY
from bot.clinic.store import db

logger = logging.getLogger(__name__)


# Said after the replies to a message whose conversation could not be read or saved. The
# words live here, not in the domain, for the reason of bot/clinic/edge_help.py: they are said
# exactly when part of Rasa's machinery cannot be relied on (and need no retrained model).
UNSAVED_NOTICE = (
    "I can't save our conversation right now, so I may have lost track of what we were "
    "doing, and what you say now may not be kept. Please try again in a little while."
)

# The failed operations of the message being handled (set by :func:`handle_message`).
_FAILED_NOW: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "tracker_store_failed_now", default=None)


class TrackerStoreUnavailable(Exception):
    """The database refused a tracker read or write (no conversation content inside)."""


class InvalidSenderId(ValueError):
    """A conversation id no channel of ours makes (too long, odd characters): never stored.

    The channels refuse such ids at the edge (bot/limits.py); this is the last line, so an
    id that slips through (Rasa's HTTP API, a new channel) cannot fail a write on PostgreSQL
    (``sender_id`` is 255 characters) and turn the health check red for everyone.
    """


@dataclass
class TrackerStoreHealth:
    """What the tracker store did since this process started."""

    failures: int = 0
    reads_failed: int = 0
    writes_failed: int = 0
    last_failure: float | None = None
    last_success: float | None = None
    last_error: str | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    @property
    def failing(self) -> bool:
        """Whether the latest operation failed (the database is down right now)."""
        return self.last_failure is not None and (
            self.last_success is None or self.last_failure > self.last_success)

    def succeeded(self) -> None:
        with self._lock:
            recovered = self.failing
            self.last_success = time.time()
        if recovered:
            logger.warning("tracker store: the database answers again; conversations are "
                           "saved again (%d failed operations in all)", self.failures)

    def failed(self, operation: str, exc: BaseException) -> None:
        with self._lock:
            first = not self.failing
            self.failures += 1
            if operation == "save":
                self.writes_failed += 1
            else:
                self.reads_failed += 1
            self.last_failure = time.time()
            self.last_error = type(exc).__name__
        if first:
            logger.error("tracker store: %s failed (%s): conversations are answered from "
                         "memory only and what is said meanwhile is NOT saved until the "
                         "database is back", operation, type(exc).__name__)

    def snapshot(self) -> dict[str, Any]:
        return {"status": "failing" if self.failing else "ok", "failures": self.failures,
                "reads_failed": self.reads_failed, "writes_failed": self.writes_failed,
                "last_failure": self.last_failure, "last_success": self.last_success,
                "last_error": self.last_error}


HEALTH = TrackerStoreHealth()

_EVENT_CLASSES: dict[str, type[Event]] = {}

# How many of a tracker's events are in the table, set when this store read or wrote it. Rasa
# counts the stored rows with a query on every save instead; within one message (the lock
# store keeps other servers off the conversation) the number is known. A tracker that did
# not come from here (a new one, one built from the HTTP API's events) is counted as Rasa does.
STORED_ATTR = "_ipt_events_stored"


def _mark_stored(tracker: DialogueStateTracker) -> None:
    setattr(tracker, STORED_ATTR, len(tracker.events))


def deserialise_events(dumped: list[dict[str, Any]]) -> list[Event]:
    """Rasa's ``deserialise_events`` with the event classes looked up in a table.

    Rasa looks each event's class up by walking every subclass of ``Event`` (a recursive
    walk per event: the largest part of reading a conversation). The table is built once and
    rebuilt when an unknown name comes (a class defined later); a name no class has goes
    through Rasa's own lookup, which handles the old ``topic`` events and raises for others.
    """
    events = []
    for data in dumped:
        name = data.get("event")
        if name is None:
            continue
        cls = _EVENT_CLASSES.get(name)
        if cls is None:
            _EVENT_CLASSES.update({c.type_name: c for c in all_subclasses(Event)})
            cls = _EVENT_CLASSES.get(name)
        event = cls._from_parameters(data) if cls else Event.from_parameters(data)
        if event:
            events.append(event)
    return events


class IPTTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose URL comes from our settings, with our SQLite pragmas."""

    def __init__(
        self,
        domain: Any = None,
        host: str | None = None,
        event_broker: Any = None,
        url: str | None = None,
        **kwargs: Any,
    ) -> None:
        # `host` is what Rasa passes from endpoints.yml `url:`; a full URL wins over the env.
        resolved = db.database_url(url or (host if host and "://" in host else None))
        if db.is_sqlite(resolved):
            path = sa.engine.make_url(resolved).database
            if path and path != ":memory:" and Path(path).is_relative_to(db.REPO_ROOT):
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs.pop("dialect", None)
        kwargs.pop("db", None)
        super().__init__(domain=domain, host=resolved, event_broker=event_broker, **kwargs)
        self.engine.dispose()
        self._read_sessions: Any = None  # SQLite only: sessions for lock-free reads
        if db.is_sqlite(resolved):
            # Our own engine's settings (WAL, busy timeout, BEGIN IMMEDIATE): the action server
            # writes to this file while Rasa saves trackers, and a deferred read transaction
            # that later writes would fail at once instead of waiting. Rasa's engine opened a
            # new connection (and ran the pragmas) for every read and write; ours are pooled.
            engine_url = self.engine.url
            self.engine = db.sqlite_engine(engine_url, future=False, pool_size=2, max_overflow=8)
            # Reading a conversation is one SELECT: in WAL mode it needs no lock, so reads
            # go through connections without BEGIN IMMEDIATE and never wait for a writer.
            reader = db.sqlite_engine(engine_url, future=False, write_lock=False, pool_size=2,
                                      max_overflow=8)
            self._read_sessions = sa.orm.session.sessionmaker(bind=reader)
        else:
            # Rasa's engine has no pre-ping: after a database restart every pooled connection
            # fails once. Ours checks a connection before use and gives up connecting after a
            # few seconds (these calls block Rasa's event loop while they wait).
            kwargs = create_engine_kwargs(self.engine.url)
            connect_args = {"connect_timeout": 3, **kwargs.pop("connect_args", {})}
            # hide_parameters: a failed INSERT's values are the conversation's events
            self.engine = sa.create_engine(self.engine.url, pool_pre_ping=True,
                                           connect_args=connect_args, hide_parameters=True,
                                           **kwargs)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def retrieve(self, sender_id: str) -> Any:
        if not limits.valid_sender(sender_id):
            return None
        return await self._guarded("retrieve", super().retrieve(sender_id))

    async def retrieve_full_tracker(self, sender_id: str) -> Any:
        if not limits.valid_sender(sender_id):
            return None
        return await self._guarded("retrieve", super().retrieve_full_tracker(sender_id))

    async def save(self, tracker: Any) -> None:
        if not limits.valid_sender(tracker.sender_id):
            raise InvalidSenderId("conversation id refused: too long or odd characters")
        await self._guarded("save", self._save(tracker))

    # Rasa talks to the database on the server's event loop, and so does this store: moving
    # the database work to a thread was measured and dropped (docs/benchmarks.md). On two
    # cores the thread switches cost more than the waits they hide: 75-84 against 84-91
    # messages per second with SQLite, 63 against 75 with PostgreSQL, at 10 conversations.

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> Any:
        """Rasa's ``_retrieve``, reading only the JSON column and with fast event lookup."""
        with (self._read_sessions() if self._read_sessions else self.session_scope()) as session:
            rows = (self._event_query(session, sender_id, fetch_events_from_all_sessions)
                    .with_entities(self.SQLEvent.data).all())
        if not self.domain or not rows:
            return None
        events = deserialise_events([json.loads(data) for (data,) in rows])
        tracker = DialogueStateTracker.from_events(sender_id, events, self.domain.slots)
        if not fetch_events_from_all_sessions and len(tracker.events) == len(rows):
            _mark_stored(tracker)
        return tracker

    async def _save(self, tracker: Any) -> None:
        """Rasa's ``save``, the new events written in one INSERT instead of ORM objects."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            rows = []
            for event in self._additional_events(session, tracker):
                data = event.as_dict()
                rows.append({
                    "sender_id": tracker.sender_id,
                    "type_name": event.type_name,
                    "timestamp": data.get("timestamp"),
                    "intent_name": data.get("parse_data", {}).get("intent", {}).get(
                        INTENT_NAME_KEY),
                    "action_name": data.get("name"),
                    "data": json.dumps(data),
                })
            if rows:
                session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()
        _mark_stored(tracker)

    async def _guarded(self, operation: str, call: Any) -> Any:
        try:
            result = await call
        except sa.exc.SQLAlchemyError as exc:
            HEALTH.failed(operation, exc)
            failed_now = _FAILED_NOW.get()
            if failed_now is not None:
                failed_now.append(operation)
            # `from None`: the SQL error's text holds the events (what the user wrote), and
            # Rasa's fail-safe wrapper logs the exception it receives at ERROR level.
            raise TrackerStoreUnavailable(
                f"tracker store {operation} failed: {type(exc).__name__}") from None
        HEALTH.succeeded()
        return result

    def ping(self) -> bool:
        """Whether the database answers a trivial query now."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except sa.exc.SQLAlchemyError:
            return False

    def _additional_events(self, session: Any, tracker: Any) -> Iterator:
        """The tracker's events not stored yet, minding erasure.

        Rasa stores the events past the count already in the table. When the user has just
        erased their data (bot/clinic/privacy.py), the action server deleted the rows, so the
        count is 0 and Rasa would write the whole erased conversation back from memory.
        The erasing action returns a marked restart: if the rows before it are gone, only
        the marker and what follows is stored.
        """
        events = list(tracker.events)
        marker = next(
            (
                i
                for i in range(len(events) - 1, -1, -1)
                if events[i].type_name == "restart"
                and (getattr(events[i], "metadata", None) or {}).get(ERASED_KEY)
            ),
            None,
        )
        if marker is not None:
            stored = self._event_query(
                session, tracker.sender_id, fetch_events_from_all_sessions=False
            ).count()
            if stored <= marker:
                return itertools.islice(events, max(stored, marker), len(events))
        known = getattr(tracker, STORED_ATTR, None)
        if known is not None and known <= len(events) and tracker.events.maxlen is None:
            return itertools.islice(events, known, len(events))
        return super()._additional_events(session, tracker)


# --- telling the user: a patch of Rasa 3.6's MessageProcessor.handle_message -----------------

_RASAS_HANDLE_MESSAGE: Any = None


async def handle_message(self: Any, message: Any) -> Any:
    """Rasa's ``handle_message``, then :data:`UNSAVED_NOTICE` if the store failed meanwhile.

    Rasa's fail-safe store answers from an empty conversation when the read fails and keeps
    a failed write in memory only; the replies (a crisis reply included) go out first and
    unchanged, and the notice comes last, so the person knows a form may have been forgotten
    and what they say now may not be kept.
    """
    from rasa.core.channels.channel import CollectingOutputChannel

    failed: list[str] = []
    token = _FAILED_NOW.set(failed)
    try:
        result = await _RASAS_HANDLE_MESSAGE(self, message)
    finally:
        _FAILED_NOW.reset(token)
    channel = message.output_channel
    if failed and channel is not None:
        await channel.send_text_message(message.sender_id, UNSAVED_NOTICE)
        if isinstance(channel, CollectingOutputChannel):
            result = channel.messages
    return result


def install() -> None:
    """Patch Rasa's message processor to tell the user when their conversation isn't saved."""
    global _RASAS_HANDLE_MESSAGE
    import rasa
    from rasa.core.processor import MessageProcessor

    if not rasa.__version__.startswith("3.6."):
        raise RuntimeError(f"bot.rasa_ext.tracker_store.install was written for Rasa 3.6, not "
                           f"{rasa.__version__}")
    if _RASAS_HANDLE_MESSAGE is None:
        _RASAS_HANDLE_MESSAGE = MessageProcessor.handle_message
        MessageProcessor.handle_message = handle_message  # type: ignore[method-assign]
