"""Session reminders: when each one is due, and what the conversation asks of the store.

Two halves, both free of Rasa:

- the policy (pure): a client's lead times (the clinic's default, their own, or none) and
  quiet hours in the client's time zone; a reminder that would fall in quiet hours is sent
  just before they begin instead, never later (:func:`due_time`);
- functions on a unit of work's session: :func:`sync_reminders` makes an appointment's
  reminders match its time and status (called by booking, moving and cancelling in the same
  transaction), and the chat's entry points (next session, "I can't make it", "remind me
  only the day before"), which always find the client from the conversation id.

The worker that sends due reminders is :mod:`bot.services.worker`; the design is in docs/reminders.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.clinic.config import ClinicConfigError, ReminderPolicy, parse_leads
from bot.clinic.store.models import Appointment, Client, Reminder, client_for_sender, utcnow

# Sent this long before quiet hours begin when the due time falls inside them.
BEFORE_QUIET = timedelta(minutes=1)
DAY_BEFORE = 1440
# A reminder is live while pending or claimed; these are the states sync may reset.
LIVE = ("pending", "claimed")
# What a client can choose in chat or the clinic with ipt-admin.
CHOICES = ("default", "day_before", "off")


class ReminderError(ValueError):
    """A reminder setting that cannot be used; the message is one readable line."""


def current_policy() -> ReminderPolicy:
    """The clinic's reminder policy from its configuration file (read on every call)."""
    from bot.clinic import config as clinic

    return clinic.load().reminders


# --- policy (pure) ------------------------------------------------------------------------


def client_leads(stored: str | None, policy: ReminderPolicy) -> tuple[int, ...]:
    """A client's lead times: None means the clinic's, "" none, else their own minutes."""
    if stored is None:
        return policy.lead_minutes
    if not stored.strip():
        return ()
    try:
        return parse_leads(stored, "reminder_leads")
    except ClinicConfigError:
        # A value the CLI would never write; fall back to the clinic's rather than none.
        return policy.lead_minutes


def leads_setting(choice: str) -> str | None:
    """The stored value for a choice: "default", "off", "day_before" or minutes "1440,60"."""
    value = (choice or "").strip().lower()
    if value == "default":
        return None
    if value in ("off", "none"):
        return ""
    if value == "day_before":
        return str(DAY_BEFORE)
    try:
        leads = parse_leads(value, "reminders")
    except ClinicConfigError:
        raise ReminderError(
            f"reminders must be default, off, day_before or minutes like 1440,60 (got {choice!r})"
        ) from None
    if not leads:
        return ""
    return ",".join(str(m) for m in leads)


def in_quiet_hours(clock: time, policy: ReminderPolicy) -> bool:
    """Whether a local wall-clock time falls in the quiet hours (which may wrap midnight)."""
    start, end = policy.quiet_start, policy.quiet_end
    if start is None or end is None:
        return False
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end


def quiet_hours_end(now: datetime, tz: str, policy: ReminderPolicy) -> datetime | None:
    """When the quiet hours the client is in at ``now`` end (UTC), or None if they are not."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    if not in_quiet_hours(local.time(), policy):
        return None
    assert policy.quiet_end is not None
    end = datetime.combine(local.date(), policy.quiet_end, tzinfo=zone)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), policy.quiet_end, tzinfo=zone)
    return end.astimezone(now.tzinfo)


def lead_back(starts_at: datetime, lead_minutes: int, zone: ZoneInfo) -> datetime:
    """``lead_minutes`` before ``starts_at``: whole days on the client's wall clock, the rest exact.

    "The day before" a 10:00 session is 10:00 the day before even across a daylight-saving
    change (then 23 or 25 hours earlier); "an hour before" is always 60 minutes. Python's
    arithmetic on an aware datetime in one zone is wall-clock arithmetic, which is what the
    day part needs.
    """
    days, minutes = divmod(lead_minutes, 1440)
    wall = starts_at.astimezone(zone) - timedelta(days=days)
    return wall.astimezone(starts_at.tzinfo) - timedelta(minutes=minutes)


def due_time(
    starts_at: datetime,
    lead_minutes: int,
    tz: str,
    policy: ReminderPolicy,
    now: datetime | None = None,
) -> datetime:
    """When a reminder ``lead_minutes`` before ``starts_at`` goes out, in UTC.

    In quiet hours (client's time) it moves to just before those quiet hours began. Only
    when that moment has already passed (a session booked late in the evening for early
    next morning) does it go out as the quiet hours end, if that is still before the session.
    """
    zone = ZoneInfo(tz)
    due = lead_back(starts_at, lead_minutes, zone)
    local = due.astimezone(zone)
    if not in_quiet_hours(local.time(), policy):
        return due
    assert policy.quiet_start is not None and policy.quiet_end is not None
    began: date = local.date()
    wraps = policy.quiet_start > policy.quiet_end
    if wraps and local.time() < policy.quiet_start:
        began -= timedelta(days=1)  # after midnight: these quiet hours began yesterday
    earlier = (datetime.combine(began, policy.quiet_start, tzinfo=zone) - BEFORE_QUIET).astimezone(
        due.tzinfo
    )
    if now is None or earlier > now:
        return earlier
    ended = datetime.combine(began + timedelta(days=1 if wraps else 0), policy.quiet_end,
                             tzinfo=zone).astimezone(due.tzinfo)
    return ended if ended < starts_at else earlier


# --- keeping reminders in step with appointments -------------------------------------------


def sync_reminders(
    session: Session,
    appointment: Appointment,
    client: Client,
    policy: ReminderPolicy | None = None,
    now: datetime | None = None,
) -> list[Reminder]:
    """Make the appointment's reminders match its time, status and the client's choice.

    Runs inside the caller's transaction. A booked appointment gets one reminder per lead
    time still ahead of ``now``; one already sent for the same time is kept; moving resets
    the others to pending at their new time; anything no longer wanted is cancelled.
    Returns the live reminders.
    """
    now = now or utcnow()
    policy = policy or current_policy()
    existing = {
        r.lead_minutes: r
        for r in session.scalars(sa.select(Reminder).where(Reminder.appointment_id == appointment.id))
    }
    wanted: dict[int, datetime] = {}
    if appointment.status == "booked" and appointment.starts_at > now:
        # Shortest lead last, so of two reminders moved to the same moment the later-lead
        # (nearer the session) one is kept.
        for lead in sorted(client_leads(client.reminder_leads, policy), reverse=True):
            due = due_time(appointment.starts_at, lead, client.timezone, policy, now)
            if due <= now:
                continue  # its time passed before the booking: not sent late
            for other, other_due in list(wanted.items()):
                if other_due == due:
                    del wanted[other]
            wanted[lead] = due
    for lead, reminder in existing.items():
        if lead not in wanted and reminder.status in LIVE:
            reminder.status = "cancelled"
            reminder.claimed_until = None
            reminder.reason = "appointment_cancelled" if appointment.status != "booked" else "not_wanted"
    live = []
    for lead, due in wanted.items():
        reminder = existing.get(lead)
        if reminder is None:
            reminder = Reminder(
                client_id=client.id, appointment_id=appointment.id, lead_minutes=lead, due_at=due,
                status="pending", attempts=0,
            )
            session.add(reminder)
        elif reminder.due_at != due or reminder.status not in ("pending", "claimed", "outbox", "sent"):
            # Moved (or wanted again): a fresh reminder for the new time. A worker still
            # holding the old claim cannot mark it sent: its claim no longer matches.
            reminder.due_at = due
            reminder.status = "pending"
            reminder.claimed_until = None
            reminder.sent_at = None
            reminder.reason = None
        live.append(reminder)
    session.flush()
    return [r for r in live if r.status in LIVE]


def upcoming_booked(session: Session, client: Client, now: datetime) -> list[Appointment]:
    """The client's booked appointments that have not started, soonest first."""
    return list(
        session.scalars(
            sa.select(Appointment)
            .where(
                Appointment.client_id == client.id,
                Appointment.status == "booked",
                Appointment.starts_at > now,
            )
            .order_by(Appointment.starts_at, Appointment.id)
        )
    )


def resync_client(
    session: Session, client: Client, policy: ReminderPolicy | None = None, now: datetime | None = None
) -> int:
    """Redo the reminders of all the client's upcoming sessions (new choice or time zone)."""
    now = now or utcnow()
    policy = policy or current_policy()
    appointments = upcoming_booked(session, client, now)
    for appointment in appointments:
        sync_reminders(session, appointment, client, policy, now)
    return len(appointments)


def set_client_reminders(
    session: Session,
    client: Client,
    choice: str,
    policy: ReminderPolicy | None = None,
    now: datetime | None = None,
) -> str | None:
    """Store a client's reminder choice and apply it to their upcoming sessions."""
    client.reminder_leads = leads_setting(choice)
    resync_client(session, client, policy, now)
    return client.reminder_leads


def describe_leads(stored: str | None, policy: ReminderPolicy) -> str:
    """A short label for the CLI: "default (1440,60)", "off" or "1440"."""
    leads = ",".join(str(m) for m in client_leads(stored, policy))
    if stored is None:
        return f"default ({leads or 'none'})"
    return leads or "off"


# --- what the conversation needs ----------------------------------------------------------


@dataclass(frozen=True)
class SessionView:
    """A session as the client hears about it: local day and time, and the count."""

    appointment_id: int
    day: str
    time: str
    zone: str
    number: int
    agreed: int | None

    @property
    def left_after(self) -> int | None:
        """Sessions left after this one, when the clinic set an agreed number."""
        return None if self.agreed is None else max(self.agreed - self.number, 0)


def _view(session: Session, client: Client, appointment: Appointment) -> SessionView:
    local = appointment.starts_at.astimezone(ZoneInfo(client.timezone))
    # Every session not cancelled counts, up to and including this one.
    number = session.scalar(
        sa.select(sa.func.count())
        .select_from(Appointment)
        .where(
            Appointment.client_id == client.id,
            Appointment.status != "cancelled",
            Appointment.starts_at <= appointment.starts_at,
        )
    )
    return SessionView(
        appointment.id,
        f"{local:%A} {local.day} {local:%B}",
        f"{local:%H:%M}",
        client.timezone.replace("_", " "),
        int(number or 0),
        client.agreed_sessions,
    )


def _client(session: Session, sender_id: str) -> Client | None:
    return client_for_sender(session, sender_id)


@dataclass(frozen=True)
class Answer:
    """What to tell the client: "unlinked", "none" or "ok", and the session if there is one."""

    status: str
    session: SessionView | None = None


def next_session(session: Session, sender_id: str, now: datetime | None = None) -> Answer:
    """The linked client's next booked session."""
    now = now or utcnow()
    client = _client(session, sender_id)
    if client is None:
        return Answer("unlinked")
    upcoming = upcoming_booked(session, client, now)
    if not upcoming:
        return Answer("none")
    return Answer("ok", _view(session, client, upcoming[0]))


def reminded_session(
    session: Session, sender_id: str, appointment_id: int | None, now: datetime | None = None
) -> Answer:
    """The session a reminder is about: the given appointment if it is the client's, booked
    and ahead, else their next one."""
    now = now or utcnow()
    client = _client(session, sender_id)
    if client is None:
        return Answer("unlinked")
    if appointment_id is not None:
        appointment = session.get(Appointment, appointment_id)
        if (
            appointment is not None
            and appointment.client_id == client.id
            and appointment.status == "booked"
            and appointment.starts_at > now
        ):
            return Answer("ok", _view(session, client, appointment))
    return next_session(session, sender_id, now)


def request_cancellation(
    session: Session, sender_id: str, appointment_id: int | None = None, now: datetime | None = None
) -> Answer:
    """Record that the client can't make their next (or the reminded) session.

    Only a request: the appointment stays booked and its reminders stay, the clinic decides
    (ipt-admin appointment list shows the request). Asking twice keeps the first time.
    """
    now = now or utcnow()
    answer = reminded_session(session, sender_id, appointment_id, now)
    if answer.session is None:
        return answer
    appointment = session.get(Appointment, answer.session.appointment_id, with_for_update=True)
    if appointment.cancel_requested_at is None:
        appointment.cancel_requested_at = now
        session.flush()
    return answer


def set_reminders_from_chat(session: Session, sender_id: str, choice: str) -> bool:
    """Apply the client's reminder choice from chat; False when the chat is not linked."""
    if choice not in CHOICES:
        raise ReminderError(f"unknown reminder choice {choice!r}")
    client = _client(session, sender_id)
    if client is None:
        return False
    set_client_reminders(session, client, choice)
    return True


# --- web reminders: shown or not (the widget acknowledges what it displayed) -------------------


def mark_shown(session: Session, reminder_id: int, now: datetime) -> bool:
    """A widget displayed the web reminder: now it is sent (once, whoever acknowledges)."""
    return session.execute(
        sa.update(Reminder)
        .where(Reminder.id == reminder_id, Reminder.status == "outbox")
        .values(status="sent", sent_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount == 1


def mark_not_shown(session: Session, reminder_id: int, reason: str) -> bool:
    """A web reminder no widget displayed in time (session started, or two weeks passed)."""
    return session.execute(
        sa.update(Reminder)
        .where(Reminder.id == reminder_id, Reminder.status == "outbox")
        .values(status="missed", reason=reason[:32])
        .execution_options(synchronize_session=False)
    ).rowcount == 1
