"""What the console's pages show, read in one unit of work (no HTTP here).

The client list is a handful of grouped queries whatever the number of clients; one client's
page reads each kind of record once, through the same service functions as ``ipt-admin``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.clinic import reminders
from bot.clinic.store import services
from bot.clinic.store.models import (
    Appointment,
    CheckIn,
    Client,
    ClientAssignment,
    HomeworkAssignment,
    HomeworkEntry,
    Reminder,
    SafetyFlag,
    Staff,
    utcnow,
)
from bot.services.console import accounts, chart

CLIENT_STATUSES = ("active", "closed")


def local(value: datetime | None, tz: str, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """A UTC time in the client's zone, or an empty string."""
    return "" if value is None else value.astimezone(ZoneInfo(tz)).strftime(fmt)


def lead(minutes: int) -> str:
    """A reminder's lead time in words: "1 day", "2 h", "30 min"."""
    if minutes % 1440 == 0:
        days = minutes // 1440
        return f"{days} day" + ("s" if days != 1 else "")
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


@dataclass
class ClientRow:
    """One line of the client list."""

    public_id: str
    name: str
    status: str
    timezone: str
    next_session: datetime | None
    last_checkin: datetime | None
    last_mood: int | None
    open_flags: int
    cancel_requests: int


def client_rows(session: Session, staff: Staff, query: str = "", status: str = "",
                now: datetime | None = None) -> list[ClientRow]:
    """The clients ``staff`` may see: open safety flags first, then the soonest next session."""
    now = now or utcnow()
    next_s = (sa.select(Appointment.client_id, sa.func.min(Appointment.starts_at).label("at"))
              .where(Appointment.status == "booked", Appointment.starts_at >= now)
              .group_by(Appointment.client_id).subquery())
    requests = (sa.select(Appointment.client_id, sa.func.count().label("n"))
                .where(Appointment.status == "booked", Appointment.starts_at >= now,
                       Appointment.cancel_requested_at.is_not(None))
                .group_by(Appointment.client_id).subquery())
    last_c = (sa.select(CheckIn.client_id, sa.func.max(CheckIn.created_at).label("at"))
              .group_by(CheckIn.client_id).subquery())
    flags = (sa.select(SafetyFlag.client_id, sa.func.count().label("n"))
             .where(SafetyFlag.reviewed_at.is_(None)).group_by(SafetyFlag.client_id).subquery())
    q = (sa.select(Client, next_s.c.at, last_c.c.at, flags.c.n, requests.c.n)
         .outerjoin(next_s, next_s.c.client_id == Client.id)
         .outerjoin(last_c, last_c.c.client_id == Client.id)
         .outerjoin(flags, flags.c.client_id == Client.id)
         .outerjoin(requests, requests.c.client_id == Client.id))
    if staff.role != "admin":
        q = q.where(Client.id.in_(sa.select(ClientAssignment.client_id)
                                  .where(ClientAssignment.staff_id == staff.id)))
    query = (query or "").strip()
    if query:
        like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = q.where(sa.or_(Client.public_id.ilike(like, escape="\\"),
                           Client.display_name.ilike(like, escape="\\")))
    if status in CLIENT_STATUSES:
        q = q.where(Client.status == status)
    rows = []
    for c, nxt, last, nflags, nreq in session.execute(q):
        rows.append(ClientRow(c.public_id, c.display_name, c.status, c.timezone, nxt, last, None,
                              int(nflags or 0), int(nreq or 0)))
    # The mood of each last check-in, in one more query.
    wanted = [(r.public_id, r.last_checkin) for r in rows if r.last_checkin is not None]
    if wanted:
        moods = dict(session.execute(
            sa.select(Client.public_id, CheckIn.mood).join(CheckIn, CheckIn.client_id == Client.id)
            .join(last_c, sa.and_(last_c.c.client_id == CheckIn.client_id,
                                  last_c.c.at == CheckIn.created_at))
            .where(Client.public_id.in_([w[0] for w in wanted]))).all())
        for r in rows:
            r.last_mood = moods.get(r.public_id)
    far = datetime.max.replace(tzinfo=now.tzinfo)
    rows.sort(key=lambda r: (-r.open_flags, -r.cancel_requests, r.next_session or far,
                             r.name.lower()))
    return rows


@dataclass
class SessionLine:
    """A session with its reminders."""

    id: int
    starts_at: datetime
    minutes: int
    status: str
    cancel_requested_at: datetime | None
    upcoming: bool
    reminders: list[Reminder] = field(default_factory=list)


@dataclass
class ClientPage:
    """Everything one client's page shows."""

    client: Client
    clinicians: list[str]
    reminder_setting: str
    checkins: list[CheckIn]
    entries: list[HomeworkEntry]
    assignments: list[HomeworkAssignment]
    entries_by_assignment: dict[int | None, list[HomeworkEntry]]
    sessions: list[SessionLine]
    flags: list[SafetyFlag]
    chart: str
    summary: dict[str, int]

    @property
    def upcoming(self) -> list[SessionLine]:
        return [s for s in self.sessions if s.upcoming]

    @property
    def past(self) -> list[SessionLine]:
        return [s for s in reversed(self.sessions) if not s.upcoming]

    @property
    def requests(self) -> list[SessionLine]:
        return [s for s in self.sessions if s.cancel_requested_at is not None]

    @property
    def open_flags(self) -> list[SafetyFlag]:
        return [f for f in self.flags if f.reviewed_at is None]


def client_page(session: Session, client: Client, now: datetime | None = None) -> ClientPage:
    """Read one client's records for their page."""
    now = now or utcnow()
    checkins = services.list_checkins(session, client)
    entries = services.list_homework_entries(session, client)
    assignments = services.list_assignments(session, client)
    by_assignment: dict[int | None, list[HomeworkEntry]] = {}
    for e in entries:
        by_assignment.setdefault(e.assignment_id, []).append(e)
    appts = services.list_appointments(session, client, include_past=True, now=now)
    rems: dict[int, list[Reminder]] = {}
    for r in session.scalars(sa.select(Reminder).where(Reminder.client_id == client.id)
                             .order_by(Reminder.due_at)):
        rems.setdefault(r.appointment_id, []).append(r)
    sessions = [SessionLine(a.id, a.starts_at, a.duration_minutes, a.status, a.cancel_requested_at,
                            a.status == "booked" and a.starts_at >= now, rems.get(a.id, []))
                for a in appts]
    svg = chart.mood_svg(
        [chart.Point(c.created_at, c.mood) for c in checkins],
        [chart.Point(e.created_at, e.feeling) for e in entries if e.feeling is not None],
        client.timezone,
    )
    try:
        setting = reminders.describe_leads(client.reminder_leads, reminders.current_policy())
    except Exception:  # noqa: BLE001 - a broken clinic file must not hide the client's page
        setting = client.reminder_leads or "default"
    return ClientPage(client, accounts.clinicians_of(session, client), setting, checkins, entries,
                      assignments, by_assignment, sessions, services.list_flags(session, client),
                      svg, services.client_summary(session, client))
