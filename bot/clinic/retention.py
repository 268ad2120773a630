"""Retention: delete the conversations nobody needs to keep any more.

Conversations (Rasa's tracker rows) of people who never linked a clinic record, and of
clients the clinic has closed (``ipt-admin client set C-... --status closed``), are deleted
once they have been quiet for the clinic's ``retention_days`` (default 90, bot/clinic/config.py).
Conversations of active clients stay while the client is in therapy; the clinic erases
those with ``ipt-admin client delete``. Records (homework, check-ins...) are never touched
here. See docs/privacy.md.

Callers:
- the reminder worker, once a day or so: ``purge_expired()``;
- ``ipt-admin db purge [--days N] [--dry-run]``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy.orm import Session

from bot.clinic import config as clinic
from bot.clinic.store import db, services

log = logging.getLogger(__name__)


def retention_days() -> int:
    """The clinic's retention period in days (``retention_days``, default 90)."""
    return clinic.load().retention_days


def purge_in_session(
    session: Session,
    days: int | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> dict[str, int]:
    """Purge inside the caller's unit of work; counts of conversations and events deleted."""
    days = days or retention_days()
    now = now or datetime.now(timezone.utc)
    senders = services.expired_conversations(session, now - timedelta(days=days))
    events = 0 if dry_run else services.delete_conversations(session, senders)
    if senders and not dry_run:
        # counts only: conversation ids are pseudonymous, but they are not needed in the log
        log.info("retention: deleted %d conversations (%d events)", len(senders), events)
    return {"conversations": len(senders), "events": events, "days": days}


def purge_expired(
    url: str | None = None, now: datetime | None = None, days: int | None = None
) -> dict[str, int]:
    """Delete expired conversations in one transaction; returns ``{"conversations", "events",
    "days"}``.

    ``url`` is the database (default ``IPT_DATABASE_URL``), ``now`` the current time (aware;
    tests pass a fixed one), ``days`` overrides the clinic's ``retention_days``. Safe to call
    as often as wanted: a second call finds nothing left to delete.
    """
    db.ensure_migrated(url)
    with db.unit_of_work(url) as session:
        return purge_in_session(session, days=days, now=now)
