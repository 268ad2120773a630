"""Rasa's SQL tracker store on the project's database (``IPT_DATABASE_URL``).

endpoints.yml: ``tracker_store: {type: bot.tracker_store.IPTTrackerStore}``. Conversations
then live next to the clinic's records (SQLite file or PostgreSQL), so one backup holds all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore

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
