"""Which Telegram updates were answered: so a replay after a crash answers each one once.

Telegram hands an update out again until the service confirms it (the next getUpdates
``offset``, or a 200 to the webhook call). The service confirms an update only after its
answer was sent (bot/services/telegram/polling.py, bot/services/telegram/webhook.py), so an update taken by a
service that was then killed comes back. This journal, a table in the project's database,
says how far its answer got:

- no row: never taken; answer it;
- ``answering`` with no replies: taken, Rasa's answer not recorded; ask Rasa again;
- ``answering`` with replies: Rasa answered; send the replies not yet sent (``sent`` counts
  them) without asking Rasa again;
- ``answered``: done; skip it (Telegram replays what was answered but not yet confirmed).

Rasa's replies stay here only until they are all sent; rows are pruned after a week
(Telegram keeps an unconfirmed update for 24 hours). When the database is away the service
answers anyway, without the journal: an answer now beats an answer guaranteed once.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from bot.clinic.store import db
from bot.clinic.store.models import TelegramUpdate, utcnow

log = logging.getLogger(__name__)

KEEP = timedelta(days=7)


@dataclass
class Progress:
    """How far the answer to one update got (the journal's row, in memory)."""

    journal: UpdateJournal | None
    update_id: int
    replies: list[dict[str, Any]] | None = None
    sent: int = 0
    helped: bool = False  # the edge's crisis help went out already (not in the journal)
    extra: dict[str, Any] = field(default_factory=dict)

    async def record_replies(self, replies: list[dict[str, Any]]) -> None:
        """Remember Rasa's replies before sending them."""
        self.replies = replies
        if self.journal is not None:
            await self.journal.record_replies(self.update_id, replies)

    async def record_sent(self, count: int) -> None:
        """``count`` of the replies are sent now."""
        self.sent = count
        if self.journal is not None:
            await self.journal.record_sent(self.update_id, count)


# The update being handled, for the handlers (set around Application.process_update).
CURRENT: contextvars.ContextVar[Progress | None] = contextvars.ContextVar(
    "telegram_update_progress", default=None
)


class UpdateJournal:
    """The ``telegram_updates`` table of one bot, reached off the event loop."""

    def __init__(self, bot_id: int, url: str | None = None) -> None:
        self.bot_id = bot_id
        self.url = url
        self._warned = False

    async def _run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            result = await asyncio.to_thread(fn, *args, **kwargs)
        except SQLAlchemyError as exc:
            if not self._warned:
                log.error("update journal unavailable (%s): answering without it, so an "
                          "update replayed after a crash may be answered twice",
                          type(exc).__name__)
                self._warned = True
            raise JournalUnavailable from None
        if self._warned:
            log.warning("update journal available again")
            self._warned = False
        return result

    def _key(self, update_id: int) -> Any:
        return sa.and_(TelegramUpdate.bot_id == self.bot_id,
                       TelegramUpdate.update_id == update_id)

    def _begin(self, update_id: int) -> Progress | None:
        db.ensure_migrated(self.url)
        with db.unit_of_work(self.url) as s:
            row = s.execute(sa.select(TelegramUpdate).where(self._key(update_id))).scalar()
            if row is None:
                s.add(TelegramUpdate(bot_id=self.bot_id, update_id=update_id,
                                     state="answering", sent=0, updated_at=utcnow()))
                return Progress(self, update_id)
            if row.state == "answered":
                return None
            replies = json.loads(row.replies) if row.replies else None
            return Progress(self, update_id, replies=replies, sent=row.sent)

    async def begin(self, update_id: int) -> Progress | None:
        """The progress of ``update_id`` (recorded as taken), or None if it was answered."""
        try:
            return await self._run(self._begin, update_id)
        except JournalUnavailable:
            return Progress(None, update_id)

    def _update(self, update_id: int, **values: Any) -> None:
        with db.unit_of_work(self.url) as s:
            s.execute(sa.update(TelegramUpdate).where(self._key(update_id))
                      .values(updated_at=utcnow(), **values))

    async def _try_update(self, update_id: int, **values: Any) -> None:
        try:
            await self._run(self._update, update_id, **values)
        except JournalUnavailable:
            pass  # logged once by _run; the answer goes on

    async def record_replies(self, update_id: int, replies: list[dict[str, Any]]) -> None:
        """Store Rasa's replies to ``update_id`` until they are sent."""
        await self._try_update(update_id, replies=json.dumps(replies), sent=0)

    async def record_sent(self, update_id: int, count: int) -> None:
        """``count`` replies of ``update_id`` are sent."""
        await self._try_update(update_id, sent=count)

    async def finish(self, update_id: int) -> None:
        """``update_id`` is answered: forget its replies, keep the id."""
        await self._try_update(update_id, state="answered", replies=None)

    def _answered(self, update_ids: list[int]) -> set[int]:
        db.ensure_migrated(self.url)
        with db.unit_of_work(self.url) as s:
            rows = s.execute(sa.select(TelegramUpdate.update_id).where(
                TelegramUpdate.bot_id == self.bot_id,
                TelegramUpdate.update_id.in_(update_ids),
                TelegramUpdate.state == "answered")).scalars()
            return set(rows)

    async def answered(self, update_ids: list[int]) -> set[int]:
        """Which of ``update_ids`` are answered already (empty if the journal is away)."""
        if not update_ids:
            return set()
        try:
            return await self._run(self._answered, update_ids)
        except JournalUnavailable:
            return set()

    def _prune(self) -> int:
        with db.unit_of_work(self.url) as s:
            result = s.execute(sa.delete(TelegramUpdate).where(
                TelegramUpdate.bot_id == self.bot_id,
                TelegramUpdate.updated_at < utcnow() - KEEP))
            return result.rowcount or 0

    async def prune(self) -> int:
        """Delete rows older than a week; how many went."""
        try:
            return await self._run(self._prune)
        except JournalUnavailable:
            return 0


class JournalUnavailable(Exception):
    """The database did not answer the journal (the service answers without it)."""
