"""Fictional records for the console's tests, benchmark and screenshots (no real person)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from bot.clinic.store import services
from bot.clinic.store.models import Appointment, Reminder
from bot.services.console import accounts

PASSWORD = "a long test password"
NOTES = ["Slept better.", "Argued with my sister, then we talked.", None, "Tired after work.",
         "Called an old friend.", None]


def staff(s, email: str, role: str = "clinician", now: datetime | None = None):
    return accounts.add_staff(s, email, role, PASSWORD, now=now)


def client_with_history(s, now: datetime, name: str = "Robin", checkins: int = 30,
                        clinician=None, seed: int = 7):
    """A client with check-ins (one a day back from ``now``), homework, sessions and a flag."""
    rnd = random.Random(seed)
    c, _ = services.create_client(s, name, "Europe/Berlin", agreed_sessions=16, now=now - timedelta(days=checkins + 10))
    if clinician is not None:
        accounts.assign_client(s, c, clinician, now=now)
    mood = 4
    for i in range(checkins):
        mood = max(0, min(10, mood + rnd.choice((-1, 0, 0, 1, 1))))
        ci = services.record_checkin(s, c, mood, NOTES[i % len(NOTES)], worked_on_homework=i % 3 != 0)
        ci.created_at = now - timedelta(days=checkins - i, hours=rnd.randint(0, 5))
    past = Appointment(client_id=c.id, starts_at=now - timedelta(days=7), duration_minutes=50,
                       status="attended", created_at=now - timedelta(days=20), updated_at=now)
    s.add(past)
    s.flush()
    s.add(Reminder(client_id=c.id, appointment_id=past.id, lead_minutes=1440, status="sent",
                   due_at=past.starts_at - timedelta(days=1), sent_at=past.starts_at - timedelta(days=1),
                   created_at=now - timedelta(days=20)))
    nxt = services.book_appointment(s, c, now + timedelta(days=2, hours=3), now=now)
    later = services.book_appointment(s, c, now + timedelta(days=9, hours=3), now=now)
    later.cancel_requested_at = now - timedelta(hours=5)
    hw = services.assign_homework(s, c, "Talk with one person about the role change",
                                  "Notice what you felt before and after.", nxt.id)
    hw.assigned_at = now - timedelta(days=7)
    for i in range(3):
        e = services.log_homework(s, c, f"Called my brother (week {i + 1}).", "Awkward at first.",
                                  feeling=rnd.randint(3, 8), obstacles="Work ran late." if i else None,
                                  assignment_id=hw.id)
        e.created_at = now - timedelta(days=6 - 2 * i)
    flag = services.record_safety_flag(s, c, "self_harm")
    flag.created_at = now - timedelta(days=1)
    s.flush()
    return c
