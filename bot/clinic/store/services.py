"""Service functions on the clinic's records. Each takes the session of a unit of work.

The caller owns the transaction (``with unit_of_work() as s: create_client(s, ...)``), so
several calls can share one; nothing here commits. Bad input raises ``InvalidInput``, a
missing record ``NotFound``: both carry a message fit to show a user as one line.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot import limits
from bot.clinic import reminders
from bot.clinic.config import ReminderPolicy
from bot.clinic.store import codes
from bot.clinic.store.models import (
    Appointment,
    ChannelLink,
    CheckIn,
    Client,
    ClientAssignment,
    CodeAttempt,
    EnrolmentCode,
    HomeworkAssignment,
    HomeworkEntry,
    Reminder,
    SafetyFlag,
    WebOutbox,
    client_for_sender,
    utcnow,
)

CODE_VALID_FOR = timedelta(days=7)
MAX_FAILED_CODES = 5
LOCKOUT = timedelta(hours=1)
# Over every conversation together: a web conversation costs one POST, so the limit per
# conversation alone would not stop guessing from many of them (issue 19).
MAX_CODE_ATTEMPTS_PER_HOUR = int(os.environ.get("IPT_MAX_CODE_ATTEMPTS_PER_HOUR", "200"))
MAX_NAME = 80
MAX_TEXT = 2000
# Rasa's SQL tracker store table (created by Rasa, not by our migrations).
EVENTS_TABLE = "events"


class StoreError(Exception):
    """A problem the user can fix; the message is one readable line."""


class InvalidInput(StoreError, ValueError):
    """The input is not acceptable (bad time zone, past date, empty name...)."""


class NotFound(StoreError, LookupError):
    """No such record."""


class Redeem(str, Enum):
    """Outcome of a code attempt from a conversation."""

    LINKED = "linked"
    ALREADY_LINKED = "already_linked"
    WRONG = "wrong"
    EXPIRED = "expired"
    USED = "used"
    LOCKED = "locked"
    NO_CODE = "no_code"
    NEEDS_CONSENT = "needs_consent"


@dataclass(frozen=True)
class RedeemResult:
    """What happened to a code attempt, and the client when it linked."""

    outcome: Redeem
    client: Client | None = None
    locked_until: datetime | None = None


# --- validation -----------------------------------------------------------------------------


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone, else ``InvalidInput``."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidInput(f"unknown time zone: {name!r} (use a name like Europe/Berlin)") from None
    return name


def check_name(name: str) -> str:
    """A trimmed display name of 1 to 80 characters."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"display name must be 1 to {MAX_NAME} characters")
    return name


def check_text(value: str | None, field: str, required: bool = False) -> str | None:
    """Free text kept as written, refused (not cut) when over the limit."""
    if value is None or not value.strip():
        if required:
            raise InvalidInput(f"{field} is required")
        return None
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{field} is longer than {MAX_TEXT} characters")
    return value


def check_rating(value: int | None, field: str) -> int | None:
    """A 0-10 rating or None."""
    if value is None:
        return None
    if not isinstance(value, int) or not 0 <= value <= 10:
        raise InvalidInput(f"{field} must be a whole number from 0 to 10")
    return value


def _new_public_id(session: Session) -> str:
    """A fresh pseudonymous client id such as ``C-7KQ2MX``."""
    while True:
        pid = "C-" + "".join(secrets.choice(codes.ALPHABET) for _ in range(6))
        if session.scalar(sa.select(Client.id).where(Client.public_id == pid)) is None:
            return pid


# --- clients and codes ----------------------------------------------------------------------


def create_client(
    session: Session,
    display_name: str,
    tz: str = "UTC",
    agreed_sessions: int | None = None,
    now: datetime | None = None,
) -> tuple[Client, str]:
    """Create a client and a first enrolment code; returns the client and the plain code."""
    if agreed_sessions is not None and agreed_sessions < 1:
        raise InvalidInput("agreed sessions must be a positive number")
    now = now or utcnow()  # one reading of the clock for the client and its first code
    client = Client(
        public_id=_new_public_id(session),
        display_name=check_name(display_name),
        timezone=check_timezone(tz),
        agreed_sessions=agreed_sessions,
        created_at=now,
        updated_at=now,
    )
    session.add(client)
    session.flush()
    return client, new_code(session, client, now)


def new_code(session: Session, client: Client, now: datetime | None = None) -> str:
    """Issue a new enrolment code for ``client``, valid for 7 days; returns it in plain text."""
    now = now or utcnow()
    code = codes.generate()
    session.add(
        EnrolmentCode(
            client_id=client.id,
            code_hash=codes.hash_code(code),
            created_at=now,
            expires_at=now + CODE_VALID_FOR,
        )
    )
    session.flush()
    return code


def get_client(session: Session, public_id: str) -> Client:
    """The client with this id (case-insensitive), or ``NotFound``."""
    pid = (public_id or "").strip().upper()
    if pid and not pid.startswith("C-"):
        pid = "C-" + pid
    client = session.scalar(sa.select(Client).where(Client.public_id == pid))
    if client is None:
        raise NotFound(f"no client with id {public_id!r}")
    return client


def list_clients(session: Session) -> list[Client]:
    """All clients, oldest first."""
    return list(session.scalars(sa.select(Client).order_by(Client.created_at, Client.id)))


CLIENT_STATUSES = ("active", "closed")


def update_client(
    session: Session,
    client: Client,
    display_name: str | None = None,
    tz: str | None = None,
    agreed_sessions: int | None = None,
    reminder_choice: str | None = None,
    policy: ReminderPolicy | None = None,
    status: str | None = None,
    now: datetime | None = None,
) -> Client:
    """Change a client's name, time zone, agreed sessions, reminders (see bot.clinic.reminders) or status.

    A new time zone or reminder choice reschedules the reminders of upcoming sessions
    (quiet hours are in the client's time). A ``closed`` client's conversations are purged
    after the retention period (bot/clinic/retention.py); their records stay until the clinic
    erases them.
    """
    if status is not None:
        if status not in CLIENT_STATUSES:
            raise InvalidInput(f"status must be one of: {', '.join(CLIENT_STATUSES)}")
        client.status = status
    if display_name is not None:
        client.display_name = check_name(display_name)
    if agreed_sessions is not None:
        if agreed_sessions < 1:
            raise InvalidInput("agreed sessions must be a positive number")
        client.agreed_sessions = agreed_sessions
    if reminder_choice is not None:
        try:
            client.reminder_leads = reminders.leads_setting(reminder_choice)
        except reminders.ReminderError as e:
            raise InvalidInput(str(e)) from None
    if tz is not None:
        client.timezone = check_timezone(tz)
    session.flush()
    if tz is not None or reminder_choice is not None:
        reminders.resync_client(session, client, policy, now)
    return client


def record_consent(session: Session, client: Client, now: datetime | None = None) -> Client:
    """Record when the client agreed to the privacy notice (kept at the first agreement)."""
    if client.consent_at is None:
        client.consent_at = now or utcnow()
        session.flush()
    return client


def _capped_until(session: Session, now: datetime, cap: int, *where: Any) -> datetime | None:
    """When the last hour's attempts matching ``where`` fall below ``cap``, if they reach it."""
    since = now - LOCKOUT
    recent = sa.select(CodeAttempt.attempted_at).where(CodeAttempt.attempted_at > since, *where)
    count = session.scalar(sa.select(sa.func.count()).select_from(recent.subquery()))
    if count < cap:
        return None
    oldest = session.scalar(sa.select(sa.func.min(CodeAttempt.attempted_at))
                            .where(CodeAttempt.attempted_at > since, *where))
    oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=timezone.utc)
    return oldest + LOCKOUT


def _global_lockout_until(session: Session, now: datetime) -> datetime | None:
    """When code checks resume for everyone, if the last hour's attempts reached the cap."""
    return _capped_until(session, now, MAX_CODE_ATTEMPTS_PER_HOUR)


def address_lockout_until(session: Session, address: str | None,
                          now: datetime | None = None) -> datetime | None:
    """When a client address (its tag, codes.address_tag) may try codes again, if locked now.

    Attempts from every conversation count: a new web conversation costs one POST, so the
    per-conversation limit alone does not stop one visitor (issue 19).
    """
    if not address:
        return None
    return _capped_until(session, now or utcnow(), limits.code_attempts_per_address(),
                         CodeAttempt.address == address)


def lockout_until(session: Session, sender_id: str, now: datetime | None = None) -> datetime | None:
    """When a conversation may try codes again, if it is locked out now."""
    now = now or utcnow()
    last = session.scalar(
        sa.select(sa.func.max(CodeAttempt.attempted_at)).where(CodeAttempt.sender_id == sender_id)
    )
    if last is None:
        return None
    last = last if last.tzinfo else last.replace(tzinfo=timezone.utc)
    if last + LOCKOUT <= now:
        return None
    # Locked for an hour from the failure that made it five within an hour.
    recent = session.scalar(
        sa.select(sa.func.count())
        .select_from(CodeAttempt)
        .where(
            CodeAttempt.sender_id == sender_id,
            CodeAttempt.attempted_at > last - LOCKOUT,
            CodeAttempt.attempted_at <= last,
        )
    )
    return last + LOCKOUT if recent >= MAX_FAILED_CODES else None


def link_channel(
    session: Session, client: Client, channel: str, sender_id: str, now: datetime | None = None
) -> ChannelLink:
    """Link a conversation to ``client`` (idempotent for the same client)."""
    link = session.scalar(sa.select(ChannelLink).where(ChannelLink.sender_id == sender_id))
    if link is not None:
        if link.client_id != client.id:
            raise InvalidInput("this conversation is already linked to another client")
        return link
    link = ChannelLink(
        client_id=client.id,
        channel=(channel or "unknown")[:32],
        sender_id=sender_id,
        linked_at=now or utcnow(),
    )
    session.add(link)
    session.flush()
    return link


def redeem_code(
    session: Session,
    sender_id: str,
    channel: str,
    typed: str | None,
    now: datetime | None = None,
    require_consent: bool = False,
    consent: bool = False,
    address: str | None = None,
) -> RedeemResult:
    """Check a code typed in a conversation and link it; every failure counts toward the limit.

    ``address``: the tag of the client address the message came from (codes.address_tag),
    when the channel knows it; failures count toward that address's limit as well.

    With ``require_consent``, a valid code of a client who has not agreed to the privacy
    notice yet is not used: the result is ``NEEDS_CONSENT`` and nothing is stored, so the
    conversation can ask first. ``consent=True`` (the client said yes to that question)
    links and records the consent in the same transaction.
    """
    now = now or utcnow()
    current = client_for_sender(session, sender_id)
    if current is not None:
        return RedeemResult(Redeem.ALREADY_LINKED, current)
    until = (lockout_until(session, sender_id, now)
             or address_lockout_until(session, address, now)
             or _global_lockout_until(session, now))
    if until is not None:
        return RedeemResult(Redeem.LOCKED, locked_until=until)
    code = codes.normalise(typed or "")
    if code is None:
        return RedeemResult(Redeem.NO_CODE)
    # FOR UPDATE: two conversations typing the same code at once cannot both use it.
    row = session.scalar(
        sa.select(EnrolmentCode)
        .where(EnrolmentCode.code_hash == codes.hash_code(code))
        .with_for_update()
    )
    outcome = Redeem.WRONG
    if row is not None and row.used_at is not None:
        outcome = Redeem.USED
    elif row is not None and row.expires_at <= now:
        outcome = Redeem.EXPIRED
    elif row is not None:
        client = session.get(Client, row.client_id)
        if consent:
            record_consent(session, client, now)
        elif require_consent and client.consent_at is None:
            # counts as an attempt: testing codes at this step is limited like any other
            # (linking after the "yes" clears the conversation's attempts)
            session.add(CodeAttempt(sender_id=sender_id, attempted_at=now, address=address))
            session.flush()
            return RedeemResult(Redeem.NEEDS_CONSENT, client)
        row.used_at, row.used_by = now, sender_id
        link_channel(session, client, channel, sender_id, now)
        session.execute(sa.delete(CodeAttempt).where(CodeAttempt.sender_id == sender_id))
        return RedeemResult(Redeem.LINKED, client)
    session.add(CodeAttempt(sender_id=sender_id, attempted_at=now, address=address))
    session.flush()
    return RedeemResult(outcome, locked_until=lockout_until(session, sender_id, now)
                        or address_lockout_until(session, address, now))


# --- appointments ---------------------------------------------------------------------------


def _check_start(starts_at: datetime, now: datetime) -> None:
    if starts_at.tzinfo is None:
        raise InvalidInput("the start time needs a time zone")
    if starts_at <= now:
        raise InvalidInput("the start time is in the past")


def book_appointment(
    session: Session,
    client: Client,
    starts_at: datetime,
    duration_minutes: int = 50,
    now: datetime | None = None,
    policy: ReminderPolicy | None = None,
) -> Appointment:
    """Book a session for ``client`` and its reminders; ``starts_at`` aware and in the future."""
    now = now or utcnow()
    _check_start(starts_at, now)
    if not 10 <= duration_minutes <= 240:
        raise InvalidInput("length must be between 10 and 240 minutes")
    appt = Appointment(
        client_id=client.id,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        status="booked",
        created_at=now,
        updated_at=now,
    )
    session.add(appt)
    session.flush()
    reminders.sync_reminders(session, appt, client, policy, now)
    return appt


def move_appointment(
    session: Session,
    appointment: Appointment,
    starts_at: datetime,
    now: datetime | None = None,
    policy: ReminderPolicy | None = None,
) -> Appointment:
    """Move a booked session to a new time; its reminders move with it.

    A cancellation the client requested is cleared: the clinic has answered it.
    """
    now = now or utcnow()
    if appointment.status != "booked":
        raise InvalidInput(f"appointment {appointment.id} is {appointment.status}, not booked")
    _check_start(starts_at, now)
    appointment.starts_at = starts_at
    appointment.cancel_requested_at = None
    session.flush()
    reminders.sync_reminders(session, appointment, appointment.client, policy, now)
    return appointment


def get_appointment(session: Session, appointment_id: int) -> Appointment:
    """The appointment with this id, or ``NotFound``."""
    appt = session.get(Appointment, appointment_id)
    if appt is None:
        raise NotFound(f"no appointment with id {appointment_id}")
    return appt


def cancel_appointment(session: Session, appointment: Appointment) -> Appointment:
    """Cancel a booked appointment and its reminders not yet sent."""
    if appointment.status != "booked":
        raise InvalidInput(f"appointment {appointment.id} is {appointment.status}, not booked")
    appointment.status = "cancelled"
    session.execute(
        sa.update(Reminder)
        .where(Reminder.appointment_id == appointment.id, Reminder.status.in_(reminders.LIVE))
        .values(status="cancelled", claimed_until=None, reason="appointment_cancelled")
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
    return appointment


def list_appointments(
    session: Session,
    client: Client | None = None,
    include_past: bool = False,
    now: datetime | None = None,
) -> list[Appointment]:
    """Appointments, soonest first; upcoming only unless ``include_past``."""
    now = now or utcnow()
    q = sa.select(Appointment).order_by(Appointment.starts_at, Appointment.id)
    if client is not None:
        q = q.where(Appointment.client_id == client.id)
    if not include_past:
        q = q.where(Appointment.starts_at >= now)
    return list(session.scalars(q))


# --- homework, check-ins, flags -------------------------------------------------------------


def _newest_first(
    session: Session, model: type, client: Client | None = None, limit: int | None = None,
    since: datetime | None = None,
) -> list:
    """Rows of ``model`` (only ``client``'s when given, from ``since`` on), newest first, at
    most ``limit``."""
    q = sa.select(model).order_by(model.created_at.desc(), model.id.desc())
    if client is not None:
        q = q.where(model.client_id == client.id)
    if since is not None:
        q = q.where(model.created_at >= since)
    if limit:
        q = q.limit(limit)
    return list(session.scalars(q))


def assign_homework(
    session: Session,
    client: Client,
    title: str,
    details: str | None = None,
    due_appointment_id: int | None = None,
) -> HomeworkAssignment:
    """Assign a piece of homework, optionally due at one of the client's appointments."""
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise InvalidInput("homework title must be 1 to 200 characters")
    if due_appointment_id is not None:
        appt = get_appointment(session, due_appointment_id)
        if appt.client_id != client.id:
            raise InvalidInput(f"appointment {due_appointment_id} belongs to another client")
    hw = HomeworkAssignment(
        client_id=client.id,
        title=title,
        details=check_text(details, "details"),
        due_appointment_id=due_appointment_id,
    )
    session.add(hw)
    session.flush()
    return hw


def list_assignments(
    session: Session, client: Client, open_only: bool = False
) -> list[HomeworkAssignment]:
    """A client's assignments, newest first."""
    q = (
        sa.select(HomeworkAssignment)
        .where(HomeworkAssignment.client_id == client.id)
        .order_by(HomeworkAssignment.assigned_at.desc(), HomeworkAssignment.id.desc())
    )
    if open_only:
        q = q.where(HomeworkAssignment.status == "open")
    return list(session.scalars(q))


def log_homework(
    session: Session,
    client: Client,
    what_done: str,
    how_it_went: str | None = None,
    feeling: int | None = None,
    obstacles: str | None = None,
    assignment_id: int | None = None,
    sender_id: str | None = None,
) -> HomeworkEntry:
    """Save a confirmed homework log entry exactly as the client wrote it."""
    if assignment_id is not None:
        hw = session.get(HomeworkAssignment, assignment_id)
        if hw is None or hw.client_id != client.id:
            raise NotFound(f"no assignment {assignment_id} for this client")
    entry = HomeworkEntry(
        client_id=client.id,
        assignment_id=assignment_id,
        what_done=check_text(what_done, "what you did", required=True),
        how_it_went=check_text(how_it_went, "how it went"),
        feeling=check_rating(feeling, "feeling"),
        obstacles=check_text(obstacles, "what got in the way"),
        sender_id=sender_id,
    )
    session.add(entry)
    session.flush()
    return entry


def list_homework_entries(
    session: Session, client: Client, limit: int | None = None
) -> list[HomeworkEntry]:
    """A client's log entries, newest first."""
    return _newest_first(session, HomeworkEntry, client, limit)


def record_checkin(
    session: Session,
    client: Client,
    mood: int,
    note: str | None = None,
    worked_on_homework: bool | None = None,
    sender_id: str | None = None,
) -> CheckIn:
    """Save a check-in."""
    if mood is None:
        raise InvalidInput("mood is required")
    checkin = CheckIn(
        client_id=client.id,
        mood=check_rating(mood, "mood"),
        note=check_text(note, "note"),
        worked_on_homework=worked_on_homework,
        sender_id=sender_id,
    )
    session.add(checkin)
    session.flush()
    return checkin


def list_checkins(
    session: Session, client: Client | None = None, since: datetime | None = None,
    limit: int | None = None,
) -> list[CheckIn]:
    """Check-ins, newest first: the one listing ipt-admin, the console and tests read."""
    return _newest_first(session, CheckIn, client, limit, since)


def record_safety_flag(
    session: Session, client: Client, category: str, sender_id: str | None = None
) -> SafetyFlag:
    """Store a safety flag for the clinic to follow up."""
    flag = SafetyFlag(
        client_id=client.id, category=(category or "unspecified")[:64], sender_id=sender_id
    )
    session.add(flag)
    session.flush()
    return flag


def list_flags(session: Session, client: Client | None = None) -> list[SafetyFlag]:
    """Safety flags, newest first."""
    return _newest_first(session, SafetyFlag, client)


# --- export and erasure ---------------------------------------------------------------------


def _events_table(session: Session) -> sa.Table | None:
    """Rasa's events table, if the tracker store has created it in this database."""
    if not sa.inspect(session.connection()).has_table(EVENTS_TABLE):
        return None
    return sa.table(
        EVENTS_TABLE,
        sa.column("id"),
        sa.column("sender_id"),
        sa.column("type_name"),
        sa.column("timestamp"),
        sa.column("data"),
    )


def linked_senders(session: Session, client: Client) -> list[str]:
    """The conversation ids linked to ``client``."""
    return list(
        session.scalars(sa.select(ChannelLink.sender_id).where(ChannelLink.client_id == client.id))
    )


def _row(obj: Any) -> dict[str, Any]:
    """A model row as JSON-ready values (times as ISO 8601 UTC)."""
    out = {}
    for col in obj.__table__.columns:
        value = getattr(obj, col.key)
        out[col.key] = value.isoformat() if isinstance(value, datetime) else value
    return out


def export_client(session: Session, client: Client) -> dict[str, Any]:
    """Everything stored about ``client``, conversations included, as JSON-ready data."""

    def rows(model) -> list[dict[str, Any]]:
        q = sa.select(model).where(model.client_id == client.id).order_by(model.id)
        return [_row(r) for r in session.scalars(q)]

    senders = linked_senders(session, client)
    conversations: dict[str, list[Any]] = {}
    events = _events_table(session)
    if events is not None and senders:
        q = (
            sa.select(events.c.sender_id, events.c.data)
            .where(events.c.sender_id.in_(senders))
            .order_by(events.c.id)
        )
        for sender, data in session.execute(q):
            conversations.setdefault(sender, []).append(json.loads(data) if data else None)
    codes_issued = [
        {k: v for k, v in _row(r).items() if k != "code_hash"}
        for r in session.scalars(
            sa.select(EnrolmentCode).where(EnrolmentCode.client_id == client.id)
        )
    ]
    return {
        "client": _row(client),
        "channel_links": rows(ChannelLink),
        "enrolment_codes": codes_issued,
        "appointments": rows(Appointment),
        "reminders": rows(Reminder),
        "web_outbox": rows(WebOutbox),
        "homework_assignments": rows(HomeworkAssignment),
        "homework_entries": rows(HomeworkEntry),
        "checkins": rows(CheckIn),
        "safety_flags": rows(SafetyFlag),
        "conversations": conversations,
    }


def delete_conversations(session: Session, senders: list[str]) -> int:
    """Delete the tracker rows (all events) of these conversations; how many rows went."""
    events = _events_table(session)
    if events is None or not senders:
        return 0
    removed = 0
    for i in range(0, len(senders), 500):  # stay under every backend's parameter limit
        chunk = senders[i : i + 500]
        removed += session.execute(sa.delete(events).where(events.c.sender_id.in_(chunk))).rowcount
        session.execute(sa.delete(CodeAttempt).where(CodeAttempt.sender_id.in_(chunk)))
    return removed


def erase_conversation(session: Session, sender_id: str) -> int:
    """Erase one unlinked conversation: its tracker rows and failed code attempts."""
    return delete_conversations(session, [sender_id])


def client_summary(session: Session, client: Client) -> dict[str, int]:
    """How many of each kind of record the store holds about ``client`` (no contents)."""

    def count(model) -> int:
        return session.scalar(
            sa.select(sa.func.count()).select_from(model).where(model.client_id == client.id)
        )

    senders = linked_senders(session, client)
    events = _events_table(session)
    messages = 0
    if events is not None and senders:
        messages = session.scalar(
            sa.select(sa.func.count())
            .select_from(events)
            .where(events.c.sender_id.in_(senders), events.c.type_name.in_(("user", "bot")))
        )
    return {
        "linked_chats": len(senders),
        "appointments": count(Appointment),
        "homework_assignments": count(HomeworkAssignment),
        "homework_entries": count(HomeworkEntry),
        "checkins": count(CheckIn),
        "safety_flags": count(SafetyFlag),
        "messages": messages,
    }


def expired_conversations(session: Session, cutoff: datetime) -> list[str]:
    """Conversations quiet since before ``cutoff`` that are unlinked or of a closed client."""
    events = _events_table(session)
    if events is None:
        return []
    last = (
        sa.select(events.c.sender_id, sa.func.max(events.c.timestamp).label("last"))
        .group_by(events.c.sender_id)
        .subquery()
    )
    kept = (
        sa.select(ChannelLink.sender_id)
        .join(Client, Client.id == ChannelLink.client_id)
        .where(Client.status != "closed")
    )
    q = sa.select(last.c.sender_id).where(
        last.c.last < cutoff.timestamp(), last.c.sender_id.not_in(kept)
    )
    return list(session.scalars(q.order_by(last.c.sender_id)))


def delete_client(session: Session, client: Client) -> dict[str, int]:
    """Erase ``client``: records, links, codes and the tracker rows of linked conversations."""
    senders = linked_senders(session, client)
    removed = {"conversation_events": delete_conversations(session, senders)}
    # Children first, explicitly, so erasure does not depend on ON DELETE CASCADE being on.
    # The console's audit log names the client's public id only, and stays.
    for model in (
        ClientAssignment,
        WebOutbox,
        Reminder,
        HomeworkEntry,
        HomeworkAssignment,
        CheckIn,
        SafetyFlag,
        Appointment,
        EnrolmentCode,
        ChannelLink,
    ):
        removed[model.__tablename__] = session.execute(
            sa.delete(model).where(model.client_id == client.id)
        ).rowcount
    session.execute(sa.delete(Client).where(Client.id == client.id))
    session.expunge(client)
    return removed
