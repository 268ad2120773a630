"""SQLAlchemy models for the clinic's records (1.4 declarative, written in the 2.0 style).

Every time is stored as naive UTC in the database and comes back as an aware UTC datetime
(``UTCDateTime``); conversion to a client's time zone happens at the edges (CLI, chat).
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session, declarative_base, relationship

# Stable constraint names so migrations and create_all agree on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base = declarative_base(metadata=sa.MetaData(naming_convention=NAMING))


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """A datetime stored as naive UTC and returned aware (UTC) on every backend."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        """Convert to naive UTC; naive input is taken to be UTC already."""
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        """Attach UTC to what the database returns."""
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


def _client_fk() -> sa.ForeignKey:
    """A foreign key to the client that disappears with the client (erasure)."""
    return sa.ForeignKey("clients.id", ondelete="CASCADE")


class Client(Base):
    """An enrolled client, known only by a pseudonymous id and a display name."""

    __tablename__ = "clients"

    id = sa.Column(sa.Integer, primary_key=True)
    public_id = sa.Column(sa.String(16), nullable=False, unique=True)
    display_name = sa.Column(sa.String(80), nullable=False)
    timezone = sa.Column(sa.String(64), nullable=False, default="UTC")
    status = sa.Column(sa.String(16), nullable=False, default="active")
    agreed_sessions = sa.Column(sa.Integer)
    # None = the clinic's default lead times; "" = no reminders; else minutes, e.g. "1440,60".
    reminder_leads = sa.Column(sa.String(64))
    consent_at = sa.Column(UTCDateTime)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    links = relationship("ChannelLink", back_populates="client", passive_deletes=True)
    appointments = relationship(
        "Appointment",
        back_populates="client",
        passive_deletes=True,
        order_by="Appointment.starts_at",
    )


class ChannelLink(Base):
    """One conversation (channel + sender id) linked to a client."""

    __tablename__ = "channel_links"

    id = sa.Column(sa.Integer, primary_key=True)
    client_id = sa.Column(sa.Integer, _client_fk(), nullable=False, index=True)
    channel = sa.Column(sa.String(32), nullable=False)
    # Rasa's conversation id; unique: a conversation belongs to at most one client.
    sender_id = sa.Column(sa.String(255), nullable=False, unique=True)
    linked_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    client = relationship("Client", back_populates="links")


class EnrolmentCode(Base):
    """A one-time enrolment code, stored only as its keyed hash."""

    __tablename__ = "enrolment_codes"

    id = sa.Column(sa.Integer, primary_key=True)
    client_id = sa.Column(sa.Integer, _client_fk(), nullable=False, index=True)
    code_hash = sa.Column(sa.String(64), nullable=False, unique=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = sa.Column(UTCDateTime, nullable=False)
    used_at = sa.Column(UTCDateTime)
    used_by = sa.Column(sa.String(255))


class CodeAttempt(Base):
    """A failed code attempt from a conversation, kept for the rate limits.

    ``address``: the keyed hash of the client address it came from (bot/clinic/store/codes.py:
    address_tag), when the channel knows one (the web); never the address itself.
    """

    __tablename__ = "code_attempts"
    __table_args__ = (sa.Index("ix_code_attempts_sender_time", "sender_id", "attempted_at"),
                      sa.Index("ix_code_attempts_address_time", "address", "attempted_at"))

    id = sa.Column(sa.Integer, primary_key=True)
    sender_id = sa.Column(sa.String(255), nullable=False)
    attempted_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    address = sa.Column(sa.String(64))


class Appointment(Base):
    """A therapy session; ``starts_at`` in UTC."""

    __tablename__ = "appointments"
    __table_args__ = (sa.Index("ix_appointments_client_start", "client_id", "starts_at"),)

    id = sa.Column(sa.Integer, primary_key=True)
    client_id = sa.Column(sa.Integer, _client_fk(), nullable=False)
    starts_at = sa.Column(UTCDateTime, nullable=False)
    duration_minutes = sa.Column(sa.Integer, nullable=False, default=50)
    # booked | cancelled | attended | missed
    status = sa.Column(sa.String(16), nullable=False, default="booked")
    cancel_requested_at = sa.Column(UTCDateTime)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    client = relationship("Client", back_populates="appointments")


class HomeworkAssignment(Base):
    """A piece of between-session work the therapist assigned."""

    __tablename__ = "homework_assignments"

    id = sa.Column(sa.Integer, primary_key=True)
    client_id = sa.Column(sa.Integer, _client_fk(), nullable=False, index=True)
    title = sa.Column(sa.String(200), nullable=False)
    details = sa.Column(sa.Text)
    due_appointment_id = sa.Column(
        sa.Integer, sa.ForeignKey("appointments.id", ondelete="SET NULL")
    )
    # open | closed
    status = sa.Column(sa.String(16), nullable=False, default="open")
    assigned_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class HomeworkEntry(Base):
    """A confirmed homework log entry, in the client's own words."""

    __tablename__ = "homework_entries"
    __table_args__ = (sa.Index("ix_homework_entries_client_time", "client_id", "created_at"),)

    id = sa.Column(sa.Integer, primary_key=True)
    client_id = sa.Column(sa.Integer, _client_fk(), nullable=False)
    assignment_id = sa.Column(
        sa.Integer, sa.ForeignKey("homework_assignments.id", ondelete="SET NULL")
    )
    what_done = sa.Column(sa.Text, nullable=False)
    how_it_went = sa.Column(sa.Text)
    feeling = sa.Column(sa.Integer)
    obstacles = sa.Column(sa.Text)
    sender_id = sa.Column(sa.String(255))
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class CheckIn(Base):
    """A short check-in: mood 0-10, an optional note."""

    __tablename__ = "checkins"
    __table_args__ = (sa.Index("ix_checkins_client_time", "client_id", "created_at"),)

    id = sa.Column(sa.Integer, primary_key=True)
    client_id = sa.Column(sa.Integer, _client_fk(), nullable=False)
    mood = sa.Column(sa.Integer, nullable=False)
    note = sa.Column(sa.Text)
    worked_on_homework = sa.Column(sa.Boolean)
    sender_id = sa.Column(sa.String(255))
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class SafetyFlag(Base):
    """A crisis message from a linked conversation, for the clinic to follow up."""

    __tablename__ = "safety_flags"
    __table_args__ = (sa.Index("ix_safety_flags_client_time", "client_id", "created_at"),)

    id = sa.Column(sa.Integer, primary_key=True)
    client_id = sa.Column(sa.Integer, _client_fk(), nullable=False)
    category = sa.Column(sa.String(64), nullable=False)
    sender_id = sa.Column(sa.String(255))
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    reviewed_at = sa.Column(UTCDateTime)
    # Who acknowledged it in the staff console (their e-mail, kept if the account goes).
    reviewed_by = sa.Column(sa.String(254))


class Reminder(Base):
    """A reminder of an appointment, sent once by the reminder worker."""

    __tablename__ = "reminders"
    __table_args__ = (
        sa.UniqueConstraint("appointment_id", "lead_minutes", name="uq_reminders_appointment_lead"),
        sa.Index("ix_reminders_status_due", "status", "due_at"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    client_id = sa.Column(sa.Integer, _client_fk(), nullable=False, index=True)
    appointment_id = sa.Column(
        sa.Integer, sa.ForeignKey("appointments.id", ondelete="CASCADE"), nullable=False
    )
    lead_minutes = sa.Column(sa.Integer, nullable=False)
    due_at = sa.Column(UTCDateTime, nullable=False)
    # pending | claimed | outbox (web: waiting for a widget to display it) | sent | missed |
    # cancelled
    status = sa.Column(sa.String(16), nullable=False, default="pending")
    claimed_until = sa.Column(UTCDateTime)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    sent_at = sa.Column(UTCDateTime)
    # Why it was not sent (missed/cancelled), or the last delivery error: a short code such
    # as "session_started", "no_channel", "rasa_unavailable"; never message text.
    reason = sa.Column(sa.String(32))
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class WebOutbox(Base):
    """Bot messages for a web conversation, waiting for its widget to connect.

    The reminder worker writes them; the socket.io channel (bot/rasa_ext/web_channel.py, inside the
    Rasa server that holds the sockets) emits them to the conversation's connected widget, or
    at its next visit, and deletes each row once emitted.
    """

    __tablename__ = "web_outbox"
    __table_args__ = (sa.Index("ix_web_outbox_sender_created", "sender_id", "created_at"),)

    id = sa.Column(sa.Integer, primary_key=True)
    client_id = sa.Column(sa.Integer, _client_fk(), nullable=False, index=True)
    sender_id = sa.Column(sa.String(255), nullable=False)
    # JSON list of Rasa's bot messages ({"text", "buttons", ...}), as trigger_intent returned.
    messages = sa.Column(sa.Text, nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    # The reminder these messages are (status 'outbox' until a widget displays them).
    reminder_id = sa.Column(sa.Integer, sa.ForeignKey("reminders.id", ondelete="SET NULL"))
    # Emitted by a Rasa server that waits until then for the widget's acknowledgement; no
    # other server emits the row meanwhile (the update that sets it is the claim).
    emitted_until = sa.Column(UTCDateTime)


class WebMessage(Base):
    """A widget message, by the id the widget gave it: answered once however often resent.

    The widget resends a message it has no acknowledgement for after reconnecting (Rasa
    restarted meanwhile, say). ``received`` by a server whose ``owner`` id is this process's
    means it is being answered; by another (a server that died) it is answered again.
    No text is kept; rows go after a day.
    """

    __tablename__ = "web_messages"

    conversation_id = sa.Column(sa.String(255), primary_key=True)
    message_id = sa.Column(sa.String(64), primary_key=True)
    state = sa.Column(sa.String(16), nullable=False)  # received | answered
    owner = sa.Column(sa.String(32), nullable=False)
    received_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, index=True)


# --- the staff console (bot/services/console) -------------------------------------------------------


class Staff(Base):
    """A clinic staff account for the web console: a clinician or an administrator."""

    __tablename__ = "staff"

    id = sa.Column(sa.Integer, primary_key=True)
    email = sa.Column(sa.String(254), nullable=False, unique=True)
    # clinician | admin
    role = sa.Column(sa.String(16), nullable=False)
    # argon2id hash (argon2-cffi's encoded form); never the password.
    password_hash = sa.Column(sa.String(255), nullable=False)
    active = sa.Column(sa.Boolean, nullable=False, default=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    last_login_at = sa.Column(UTCDateTime)
    # Optional second factor: the TOTP secret (base32), and the last time step used, so a
    # code cannot be used twice.
    totp_secret = sa.Column(sa.String(255))  # sealed (bot.services.console.accounts.seal)
    totp_last_step = sa.Column(sa.BigInteger)


class StaffSession(Base):
    """A signed-in console session; the cookie holds the token, we keep only its hash."""

    __tablename__ = "staff_sessions"

    id = sa.Column(sa.Integer, primary_key=True)
    token_hash = sa.Column(sa.String(64), nullable=False, unique=True)
    staff_id = sa.Column(
        sa.Integer, sa.ForeignKey("staff.id", ondelete="CASCADE"), nullable=False, index=True
    )
    csrf_token = sa.Column(sa.String(64), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    last_seen_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = sa.Column(UTCDateTime, nullable=False)


class LoginFailure(Base):
    """A failed console login, kept a short while for the per-account and per-address limits."""

    __tablename__ = "login_failures"
    __table_args__ = (
        sa.Index("ix_login_failures_email_time", "email", "attempted_at"),
        sa.Index("ix_login_failures_address_time", "address", "attempted_at"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    email = sa.Column(sa.String(254), nullable=False)
    address = sa.Column(sa.String(64), nullable=False)
    attempted_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class ClientAssignment(Base):
    """A client assigned to a clinician: the clinician sees this client in the console."""

    __tablename__ = "client_assignments"
    __table_args__ = (
        sa.UniqueConstraint("client_id", "staff_id", name="uq_client_assignments_client_staff"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    client_id = sa.Column(sa.Integer, _client_fk(), nullable=False, index=True)
    staff_id = sa.Column(
        sa.Integer, sa.ForeignKey("staff.id", ondelete="CASCADE"), nullable=False, index=True
    )
    assigned_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class AuditEntry(Base):
    """Who did or saw what, when: ids and action names only, never a client's words.

    Not linked to the client row, so an erased client's entries stay (without content).
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_at", "at"),
        sa.Index("ix_audit_log_client", "client_public_id", "at"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    staff_email = sa.Column(sa.String(254))
    # e.g. view_client, export_client, ack_flag, book_session, login, login_failed
    action = sa.Column(sa.String(32), nullable=False)
    client_public_id = sa.Column(sa.String(16))
    # A record id or a short code (appointment 12, role=admin); never free text.
    detail = sa.Column(sa.String(120))
    address = sa.Column(sa.String(64))


# --- the Telegram service's update journal (bot/services/telegram/journal.py) ------------------------


class TelegramUpdate(Base):
    """One Telegram update the service took: answering, or answered.

    Telegram hands an update out again until it is confirmed (getUpdates offset, or a 200 to
    its webhook call). The service confirms only after answering; this row makes a replay
    after a crash resume where it stopped instead of answering twice. ``replies`` holds
    Rasa's replies only until they are all sent (then NULL); ``sent`` counts those sent.
    """

    __tablename__ = "telegram_updates"

    bot_id = sa.Column(sa.BigInteger, primary_key=True, autoincrement=False)
    update_id = sa.Column(sa.BigInteger, primary_key=True, autoincrement=False)
    # answering | answered
    state = sa.Column(sa.String(16), nullable=False, default="answering")
    replies = sa.Column(sa.Text)
    sent = sa.Column(sa.Integer, nullable=False, default=0)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, index=True)


def client_for_sender(session: Session, sender_id: str) -> Client | None:
    """The client a conversation is linked to, if any."""
    return session.scalar(
        sa.select(Client).join(ChannelLink).where(ChannelLink.sender_id == sender_id)
    )
