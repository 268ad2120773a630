"""The database server's clock: the one time every process that shares the records agrees on.

Leases (a worker's claim on a reminder, a Rasa server's hold on a web outbox row) are written
by one machine and read by another. Timed by each machine's own clock, a machine running 90 s
ahead takes over a lease another still holds, and the reminder goes out twice. Timed by the
database's clock, they agree whatever the machines' clocks say.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.clinic.store import db
from bot.clinic.store.models import utcnow

log = logging.getLogger(__name__)


class DatabaseClock:
    """The database server's clock, so that processes on several machines agree on leases.

    Measured at most every ``refresh`` (one ``SELECT clock_timestamp()`` on PostgreSQL) and
    kept as an offset from the local clock, so asking the time costs nothing in between. On
    SQLite, one machine and one clock: the local one.
    """

    def __init__(self, url: str | None = None, local: Callable[[], datetime] = utcnow,
                 refresh: timedelta = timedelta(seconds=30)) -> None:
        self.url, self.local, self.refresh = url, local, refresh
        self.offset = timedelta(0)
        self._measured_at: datetime | None = None

    def __call__(self) -> datetime:
        now = self.local()
        if self._measured_at is None or abs(now - self._measured_at) >= self.refresh:
            self._measure()
            self._measured_at = now
        return now + self.offset

    def _measure(self) -> None:
        engine = db.get_engine(self.url)
        if engine.dialect.name != "postgresql":
            return
        try:
            with engine.connect() as conn:
                before = self.local()
                server = conn.scalar(sa.text("SELECT clock_timestamp()"))
                after = self.local()
        except sa.exc.SQLAlchemyError as exc:  # keep the last offset; callers report outages
            log.warning("could not read the database clock (%s)", type(exc).__name__)
            return
        self.offset = server - (before + (after - before) / 2)


_clocks: dict[str, DatabaseClock] = {}
_lock = threading.Lock()


def database_clock(url: str | None = None) -> DatabaseClock:
    """The process-wide clock of the database at ``url`` (default: ``IPT_DATABASE_URL``)."""
    url = db.database_url(url)
    with _lock:
        if url not in _clocks:
            _clocks[url] = DatabaseClock(url)
        return _clocks[url]


def database_now(url: str | None = None) -> datetime:
    """The time now by the database's clock, aware, in UTC."""
    return database_clock(url)()
