"""The worker's side of the reminders table: claim due ones atomically, then settle each.

A claim is ``status = 'claimed'`` with ``claimed_until`` in the future; the claim's token is
the reminder's ``attempts`` count, which every claim increases. A worker settles a reminder
only while its own claim still stands (same token, still claimed), so a reminder that was
moved, cancelled or re-claimed after an expiry is never marked by a stale worker.

PostgreSQL: the claiming SELECT takes row locks with ``FOR UPDATE SKIP LOCKED``, so workers
running at the same time each get different reminders without waiting for each other.
SQLite: every transaction starts with ``BEGIN IMMEDIATE`` (bot.clinic.store.db), so claims are
serialised; run one worker there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.clinic.store.models import Appointment, ChannelLink, Client, Reminder
from bot.services.telegram.delivery import SENDER_PREFIX as TELEGRAM_PREFIX
from bot.signing import PREFIX as WEB_PREFIX

TELEGRAM = "telegram"
WEB = "web"


@dataclass(frozen=True)
class Claim:
    """A reminder this worker holds until ``until``; ``token`` identifies the claim."""

    reminder_id: int
    token: int
    until: datetime
    appointment_id: int
    client_id: int
    starts_at: datetime
    sender_id: str | None
    timezone: str = "UTC"  # the client's, for quiet hours at the moment of sending

    @property
    def channel(self) -> str | None:
        """Where the reminder goes: "telegram", "web", or None (no channel to push to)."""
        return channel_of(self.sender_id)


def channel_of(sender_id: str | None) -> str | None:
    """The push channel of a conversation id, from its prefix."""
    if sender_id and sender_id.startswith(TELEGRAM_PREFIX):
        return TELEGRAM
    if sender_id and sender_id.startswith(WEB_PREFIX):
        return WEB
    return None


def _claimable(now: datetime):
    """Pending and due, or claimed by someone whose claim has run out (a crash)."""
    return sa.or_(
        sa.and_(Reminder.status == "pending", Reminder.due_at <= now),
        sa.and_(Reminder.status == "claimed", Reminder.claimed_until <= now),
    )


def settle_stale(session: Session, now: datetime) -> dict[str, int]:
    """Claimable reminders that can no longer be useful: missed or cancelled, never sent.

    Missed: the session has started (a reminder after it began is no use), or a reminder
    nearer the session is due too (after an outage the day-before and the hour-before ones
    would arrive together: only the nearer one goes, the other is recorded as superseded).
    Cancelled: the appointment is no longer booked.
    """
    started = sa.select(Appointment.id).where(Appointment.starts_at <= now)
    not_booked = sa.select(Appointment.id).where(Appointment.status != "booked")
    done = {}
    for status, reason, appointments in (
        ("cancelled", "appointment_not_booked", not_booked),
        ("missed", "session_started", started),
    ):
        done[status] = session.execute(
            sa.update(Reminder)
            .where(_claimable(now), Reminder.appointment_id.in_(appointments))
            .values(status=status, reason=reason, claimed_until=None)
            .execution_options(synchronize_session=False)
        ).rowcount
    nearer = sa.orm.aliased(Reminder)
    superseded = sa.select(Reminder.id).where(
        _claimable(now),
        sa.exists().where(
            nearer.appointment_id == Reminder.appointment_id,
            nearer.lead_minutes < Reminder.lead_minutes,
            nearer.due_at <= now,
            nearer.status.in_(("pending", "claimed", "outbox", "sent")),
        ),
    )
    done["superseded"] = session.execute(
        sa.update(Reminder)
        .where(Reminder.id.in_(superseded.scalar_subquery()))
        .values(status="missed", reason="superseded", claimed_until=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    return done


def preferred_senders(session: Session, client_ids: set[int]) -> dict[int, str]:
    """Each client's conversation to remind: the newest Telegram one, else the newest web one."""
    rows = session.execute(
        sa.select(ChannelLink.client_id, ChannelLink.sender_id)
        .where(ChannelLink.client_id.in_(client_ids))
        .order_by(ChannelLink.linked_at, ChannelLink.id)
    ).all()
    best: dict[int, str] = {}
    rank = {TELEGRAM: 2, WEB: 1}
    for client_id, sender in rows:
        score = rank.get(channel_of(sender), 0)
        if score and score >= rank.get(channel_of(best.get(client_id)), 0):
            best[client_id] = sender  # later rows are newer: equal rank, newer wins
    return best


def claim_due(session: Session, now: datetime, limit: int, hold: timedelta) -> list[Claim]:
    """Settle stale reminders, then claim up to ``limit`` due ones until ``now + hold``."""
    settle_stale(session, now)
    ids = list(
        session.scalars(
            sa.select(Reminder.id)
            .where(_claimable(now))
            .order_by(Reminder.due_at, Reminder.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return []
    until = now + hold
    session.execute(
        sa.update(Reminder)
        .where(Reminder.id.in_(ids))
        .values(status="claimed", claimed_until=until, attempts=Reminder.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(
        sa.select(
            Reminder.id, Reminder.attempts, Reminder.appointment_id, Reminder.client_id,
            Appointment.starts_at, Client.timezone,
        )
        .join(Appointment, Appointment.id == Reminder.appointment_id)
        .join(Client, Client.id == Reminder.client_id)
        .where(Reminder.id.in_(ids))
        .order_by(Reminder.due_at, Reminder.id)
    ).all()
    senders = preferred_senders(session, {r.client_id for r in rows})
    return [
        Claim(r.id, r.attempts, until, r.appointment_id, r.client_id, r.starts_at,
              senders.get(r.client_id), r.timezone)
        for r in rows
    ]


def _settle(session: Session, claim: Claim, **values) -> bool:
    """Update the reminder if this claim still stands; True when it did."""
    return (
        session.execute(
            sa.update(Reminder)
            .where(
                Reminder.id == claim.reminder_id,
                Reminder.status == "claimed",
                Reminder.attempts == claim.token,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


def mark_sent(session: Session, claim: Claim, now: datetime) -> bool:
    """Record that the reminder went out."""
    return _settle(session, claim, status="sent", sent_at=now, claimed_until=None, reason=None)


def mark_outbox(session: Session, claim: Claim) -> bool:
    """Record that the reminder waits in the web outbox: sent once a widget displays it."""
    return _settle(session, claim, status="outbox", claimed_until=None, reason=None)


def mark_missed(session: Session, claim: Claim, reason: str) -> bool:
    """Give up: it can no longer be delivered in its useful time (``reason`` is a short code)."""
    return _settle(session, claim, status="missed", claimed_until=None, reason=reason[:32])


def mark_cancelled(session: Session, claim: Claim, reason: str) -> bool:
    """Nothing to remind of any more (the session was cancelled or moved meanwhile)."""
    return _settle(session, claim, status="cancelled", claimed_until=None, reason=reason[:32])


def still_remindable(session: Session, claim: Claim, now: datetime) -> bool:
    """Whether the claim's session is still booked and ahead, for a client still linked.

    Rasa answering a reminder with nothing means either that (the action found nothing to
    remind of) or that our action failed (say the database was briefly away): only in the
    first case may the reminder be dropped.
    """
    appointment = session.get(Appointment, claim.appointment_id)
    if appointment is None or appointment.status != "booked" or appointment.starts_at <= now:
        return False
    return claim.sender_id is not None and session.scalar(
        sa.select(sa.func.count()).select_from(ChannelLink).where(
            ChannelLink.client_id == claim.client_id, ChannelLink.sender_id == claim.sender_id)
    ) > 0


def renew(session: Session, claim: Claim, until: datetime) -> bool:
    """Extend our lease while a delivery runs; False when the claim no longer stands (another
    worker took the reminder over, or it was moved or cancelled): then nothing may be sent."""
    return _settle(session, claim, claimed_until=until)


def retry_later(session: Session, claim: Claim, reason: str, at: datetime) -> bool:
    """Keep the claim until ``at``; when it runs out the reminder is claimable again."""
    return _settle(session, claim, claimed_until=at, reason=reason[:32])
