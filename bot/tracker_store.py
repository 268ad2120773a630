"""Rasa's SQL tracker store on the project's database (``IPT_DATABASE_URL``).

endpoints.yml: ``tracker_store: {type: bot.tracker_store.IPTTrackerStore}``. Conversations
then live next to the clinic's records (SQLite file or PostgreSQL), so one backup holds all.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore

from bot.privacy import ERASED_KEY
from bot.store import db


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
        if db.is_sqlite(resolved):
            # Same settings as our own engine (WAL, busy timeout, BEGIN IMMEDIATE): the action
            # server writes to this file while Rasa saves trackers, and a deferred read
            # transaction that later writes would fail at once instead of waiting.
            self.engine.dispose()
            sa.event.listen(self.engine, "connect", db.sqlite_on_connect)
            sa.event.listen(self.engine, "begin", db.sqlite_on_begin)

    def _additional_events(self, session: Any, tracker: Any) -> Iterator:
        """The tracker's events not stored yet, minding erasure.

        Rasa stores the events past the count already in the table. When the user has just
        erased their data (bot/privacy.py), the action server deleted the rows, so the
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
        return super()._additional_events(session, tracker)
