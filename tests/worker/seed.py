"""Many due reminders at once, inserted in bulk (tests and scripts/bench_reminders.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from bot.clinic.store import db
from bot.clinic.store.models import Appointment, ChannelLink, Client, Reminder


def midday_zone(now: datetime) -> str:
    """A fixed-offset time zone where ``now`` is around noon, far from any quiet hours."""
    offset = (12 - now.astimezone(timezone.utc).hour) % 24
    if offset > 12:
        offset -= 24
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT+11 is UTC-11


def seed_due_reminders(url: str, n: int, now: datetime, first_chat: int = 1000,
                       due_ago: timedelta = timedelta(seconds=1),
                       starts_in: timedelta = timedelta(hours=2),
                       tz: str | None = None) -> list[int]:
    """``n`` clients, each linked to Telegram chat ``first_chat + i`` with one session in
    ``starts_in`` and its reminder due ``due_ago`` ago; returns the chat ids.

    The clients live where it is midday at ``now`` unless ``tz`` says otherwise, so tests and
    benchmarks on the real clock do not meet quiet hours at night.
    """
    tz = tz or midday_zone(now)
    chats = [first_chat + i for i in range(n)]
    with db.unit_of_work(url) as s:
        base = s.scalar(sa.select(sa.func.coalesce(sa.func.max(Client.id), 0)))
        ids = [base + 1 + i for i in range(n)]
        s.execute(sa.insert(Client), [
            {"id": cid, "public_id": f"C-B{cid:07d}"[:16], "display_name": f"Client {cid}",
             "timezone": tz, "status": "active", "created_at": now, "updated_at": now}
            for cid in ids])
        s.execute(sa.insert(ChannelLink), [
            {"client_id": cid, "channel": "rest", "sender_id": f"tg-{chat}", "linked_at": now}
            for cid, chat in zip(ids, chats)])
        s.execute(sa.insert(Appointment), [
            {"id": cid, "client_id": cid, "starts_at": now + starts_in, "duration_minutes": 50,
             "status": "booked", "created_at": now, "updated_at": now}
            for cid in ids])
        s.execute(sa.insert(Reminder), [
            {"client_id": cid, "appointment_id": cid, "lead_minutes": 60,
             "due_at": now - due_ago, "status": "pending", "attempts": 0, "created_at": now}
            for cid in ids])
        if s.bind.dialect.name == "postgresql":
            # Explicit ids above: move the sequences past them for later ORM inserts.
            for table in ("clients", "appointments"):
                s.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"))
    return chats


def statuses(url: str) -> dict[str, int]:
    """How many reminders are in each status."""
    with db.unit_of_work(url) as s:
        return dict(s.execute(
            sa.select(Reminder.status, sa.func.count()).group_by(Reminder.status)).all())
