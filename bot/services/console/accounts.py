"""Staff accounts, console sessions, login limits, client assignment and the audit log.

Service functions on a unit of work's session, like bot/clinic/store/services.py: the caller owns
the transaction, nothing here commits, bad input raises ``InvalidInput``. Passwords are kept
only as argon2id hashes; session tokens only as SHA-256 hashes (the cookie holds the token).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.orm import Session

from bot.clinic.store.models import (
    AuditEntry,
    Client,
    ClientAssignment,
    LoginFailure,
    SafetyFlag,
    Staff,
    StaffSession,
    utcnow,
)
from bot.clinic.store.services import InvalidInput, NotFound

ROLES = ("clinician", "admin")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
# Per account: this many failures within the window lock the account for the window.
ACCOUNT_FAILURES = 5
# Per address: more failures than this within the window refuse every login from it.
ADDRESS_FAILURES = 20
FAILURE_WINDOW = timedelta(minutes=15)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")

_hasher = PasswordHasher()  # argon2id, the library's defaults (RFC 9106 low-memory profile)
# Verified against when the e-mail is unknown, so both cases cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Limits:
    """How long console sessions live."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)


def check_email(email: str) -> str:
    """A trimmed, lower-case e-mail address, or ``InvalidInput``."""
    email = (email or "").strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise InvalidInput(f"not an e-mail address: {email!r}")
    return email


def check_password(password: str) -> str:
    """A password long enough to resist guessing (no other rules: length beats recipes)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"the password must have at most {MAX_PASSWORD} characters")
    return password


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salted; the encoded form carries its parameters)."""
    return _hasher.hash(check_password(password))


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; an unknown account costs the same as a wrong password."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password or "") and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --- staff ----------------------------------------------------------------------------------


def add_staff(session: Session, email: str, role: str, password: str,
              now: datetime | None = None) -> Staff:
    """Create an account; the e-mail must be new."""
    email = check_email(email)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of: {', '.join(ROLES)}")
    if session.scalar(sa.select(Staff.id).where(Staff.email == email)) is not None:
        raise InvalidInput(f"there is already an account for {email}")
    staff = Staff(email=email, role=role, password_hash=hash_password(password), active=True,
                  created_at=now or utcnow())
    session.add(staff)
    session.flush()
    return staff


def get_staff(session: Session, email: str) -> Staff:
    """The account with this e-mail, or ``NotFound``."""
    staff = session.scalar(sa.select(Staff).where(Staff.email == (email or "").strip().lower()))
    if staff is None:
        raise NotFound(f"no staff account {email!r}")
    return staff


def list_staff(session: Session) -> list[Staff]:
    """Every account, by e-mail."""
    return list(session.scalars(sa.select(Staff).order_by(Staff.email)))


def set_password(session: Session, staff: Staff, password: str) -> Staff:
    """Change a password and end the account's sessions."""
    staff.password_hash = hash_password(password)
    session.execute(sa.delete(StaffSession).where(StaffSession.staff_id == staff.id))
    session.flush()
    return staff


def set_active(session: Session, staff: Staff, active: bool) -> Staff:
    """Disable (ending its sessions) or re-enable an account."""
    staff.active = active
    if not active:
        session.execute(sa.delete(StaffSession).where(StaffSession.staff_id == staff.id))
    session.flush()
    return staff


# --- client assignment ----------------------------------------------------------------------


def assign_client(session: Session, client: Client, staff: Staff,
                  now: datetime | None = None) -> ClientAssignment:
    """Let ``staff`` (a clinician) see ``client``; idempotent."""
    row = session.scalar(sa.select(ClientAssignment).where(
        ClientAssignment.client_id == client.id, ClientAssignment.staff_id == staff.id))
    if row is None:
        row = ClientAssignment(client_id=client.id, staff_id=staff.id, assigned_at=now or utcnow())
        session.add(row)
        session.flush()
    return row


def unassign_client(session: Session, client: Client, staff: Staff) -> bool:
    """Remove an assignment; whether there was one."""
    return bool(session.execute(sa.delete(ClientAssignment).where(
        ClientAssignment.client_id == client.id, ClientAssignment.staff_id == staff.id)).rowcount)


def clinicians_of(session: Session, client: Client) -> list[str]:
    """E-mails of the staff a client is assigned to."""
    return list(session.scalars(
        sa.select(Staff.email).join(ClientAssignment, ClientAssignment.staff_id == Staff.id)
        .where(ClientAssignment.client_id == client.id).order_by(Staff.email)))


def can_see(session: Session, staff: Staff, client: Client) -> bool:
    """Administrators see every client, clinicians the ones assigned to them."""
    if staff.role == "admin":
        return True
    return session.scalar(sa.select(ClientAssignment.id).where(
        ClientAssignment.client_id == client.id, ClientAssignment.staff_id == staff.id)) is not None


def visible_client(session: Session, staff: Staff, public_id: str) -> Client:
    """The client if ``staff`` may see it; ``NotFound`` otherwise (no hint that it exists)."""
    from bot.clinic.store import services

    client = services.get_client(session, public_id)
    if not can_see(session, staff, client):
        raise NotFound(f"no client with id {public_id!r}")
    return client


# --- second factor (TOTP, RFC 6238: 6 digits, 30 s steps) -----------------------------------

TOTP_STEP = 30
ISSUER = "IPT Companion"


SEALED = "v1:"  # prefix of a sealed second-factor secret
KEY_ENV, KEY_FILE = "IPT_CONSOLE_KEY", "console_key"


def _fernet():
    """The sealing key: ``IPT_CONSOLE_KEY``, else a random one kept in var/secrets (0600)."""
    import base64
    import hashlib

    from cryptography.fernet import Fernet

    from bot import settings

    raw = settings.secret(KEY_ENV, KEY_FILE).encode()
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(raw).digest()))


def seal(secret: str) -> str:
    """A second-factor secret as stored: encrypted and authenticated (Fernet), so a copy of
    the database alone does not give anyone the staff's one-time codes."""
    return SEALED + _fernet().encrypt(secret.encode()).decode()


def unseal(stored: str) -> str:
    """The secret back from :func:`seal` (a value stored before sealing is read as it is)."""
    if not stored.startswith(SEALED):
        return stored
    return _fernet().decrypt(stored[len(SEALED):].encode()).decode()


def new_totp_secret() -> str:
    """A random base32 secret for an authenticator app."""
    import pyotp

    return pyotp.random_base32()


def totp_uri(email: str, secret: str) -> str:
    """The otpauth:// address an authenticator app reads (as text or a QR code)."""
    import pyotp

    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def totp_step(secret: str, code: str | None, last_step: int | None, now: datetime) -> int | None:
    """The time step ``code`` belongs to (now, or one step either side for clock drift), if
    it is right and newer than the last one used; else None (a code works once)."""
    import pyotp

    code = (code or "").strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // TOTP_STEP
    for step in (current - 1, current, current + 1):
        if (last_step is None or step > last_step) and hmac.compare_digest(
                totp.at(step * TOTP_STEP), code):
            return step
    return None


def enable_totp(session: Session, staff: Staff, secret: str, code: str,
                now: datetime | None = None) -> Staff:
    """Turn on the second factor once a code from the app proves it was set up right."""
    step = totp_step(secret, code, None, now or utcnow())
    if step is None:
        raise InvalidInput("that code does not match: check the phone's clock and try again")
    staff.totp_secret, staff.totp_last_step = seal(secret), step
    session.flush()
    return staff


def disable_totp(session: Session, staff: Staff) -> Staff:
    """Turn off the second factor."""
    staff.totp_secret, staff.totp_last_step = None, None
    session.flush()
    return staff


# --- logins and sessions --------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login_blocked(session: Session, email: str, address: str, now: datetime | None = None) -> bool:
    """Whether this account or this address has failed too often within the window."""
    now = now or utcnow()
    since = now - FAILURE_WINDOW

    def count(cond) -> int:
        return session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)
                              .where(cond, LoginFailure.attempted_at > since)) or 0

    return (count(LoginFailure.email == email) >= ACCOUNT_FAILURES
            or count(LoginFailure.address == address) >= ADDRESS_FAILURES)


def recent_failures(session: Session, email: str, now: datetime | None = None) -> int:
    """Failed logins of this account within the window (for the growing delay)."""
    since = (now or utcnow()) - FAILURE_WINDOW
    return session.scalar(sa.select(sa.func.count()).select_from(LoginFailure).where(
        LoginFailure.email == email, LoginFailure.attempted_at > since)) or 0


@dataclass(frozen=True)
class LoginResult:
    """``ok`` with the new session's token, or why not: "wrong" or "blocked"."""

    outcome: str
    staff: Staff | None = None
    token: str | None = None
    csrf: str | None = None


def login(session: Session, email: str, password: str, address: str,
          limits: Limits = Limits(), now: datetime | None = None,
          code: str | None = None) -> LoginResult:
    """Check a login; on success open a session, on failure count it (same answer for an
    unknown e-mail, a wrong password, a missing or wrong one-time code, a disabled account)."""
    now = now or utcnow()
    email = (email or "").strip().lower()[:254]
    address = (address or "unknown")[:64]
    purge_expired(session, limits, now)  # housekeeping, a cheap indexed delete per login
    if login_blocked(session, email, address, now):
        audit(session, None, "login_blocked", detail=None, address=address, now=now,
              staff_email=email or None)
        return LoginResult("blocked")
    staff = session.scalar(sa.select(Staff).where(Staff.email == email)) if email else None
    ok = verify_password(staff.password_hash if staff else None, password)
    step = None
    if ok and staff is not None and staff.totp_secret:
        step = totp_step(unseal(staff.totp_secret), code, staff.totp_last_step, now)
        ok = step is not None
    if not ok or staff is None or not staff.active:
        session.add(LoginFailure(email=email, address=address, attempted_at=now))
        audit(session, None, "login_failed", address=address, now=now, staff_email=email or None)
        session.flush()
        return LoginResult("wrong")
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = _hasher.hash(password)
    staff.last_login_at = now
    if step is not None:
        staff.totp_last_step = step
    session.execute(sa.delete(LoginFailure).where(LoginFailure.email == email))
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(StaffSession(token_hash=_token_hash(token), staff_id=staff.id, csrf_token=csrf,
                             created_at=now, last_seen_at=now, expires_at=now + limits.absolute))
    audit(session, staff, "login", address=address, now=now)
    session.flush()
    return LoginResult("ok", staff, token, csrf)


def session_for(session: Session, token: str | None, limits: Limits = Limits(),
                now: datetime | None = None) -> tuple[StaffSession, Staff] | None:
    """The live session and account for a cookie's token, touched; None if missing or expired.

    A session ends ``limits.idle`` after its last request and ``limits.absolute`` after login
    (whichever comes first); an expired one is deleted here.
    """
    if not token:
        return None
    now = now or utcnow()
    row = session.scalar(sa.select(StaffSession).where(StaffSession.token_hash == _token_hash(token)))
    if row is None:
        return None
    staff = session.get(Staff, row.staff_id)
    if (staff is None or not staff.active or now >= row.expires_at
            or now >= row.last_seen_at + limits.idle):
        session.delete(row)
        session.flush()
        return None
    row.last_seen_at = now
    session.flush()
    return row, staff


def logout(session: Session, token: str | None) -> None:
    """End the session of this token (nothing if there is none)."""
    if token:
        session.execute(sa.delete(StaffSession).where(StaffSession.token_hash == _token_hash(token)))


def purge_expired(session: Session, limits: Limits = Limits(), now: datetime | None = None) -> int:
    """Delete ended sessions and login failures older than the window; how many rows went."""
    now = now or utcnow()
    n = session.execute(sa.delete(StaffSession).where(sa.or_(
        StaffSession.expires_at <= now, StaffSession.last_seen_at <= now - limits.idle))).rowcount
    n += session.execute(sa.delete(LoginFailure).where(
        LoginFailure.attempted_at <= now - FAILURE_WINDOW)).rowcount
    return n


# --- safety flags ---------------------------------------------------------------------------


def acknowledge_flag(session: Session, client: Client, flag_id: int, staff: Staff,
                     now: datetime | None = None) -> SafetyFlag:
    """Record who acknowledged a client's safety flag and when (kept at the first)."""
    flag = session.get(SafetyFlag, flag_id)
    if flag is None or flag.client_id != client.id:
        raise NotFound(f"no safety flag {flag_id} for this client")
    if flag.reviewed_at is None:
        flag.reviewed_at, flag.reviewed_by = now or utcnow(), staff.email
        session.flush()
    return flag


# --- audit ----------------------------------------------------------------------------------


def audit(session: Session, staff: Staff | None, action: str, client_public_id: str | None = None,
          detail: str | None = None, address: str | None = None, now: datetime | None = None,
          staff_email: str | None = None) -> AuditEntry:
    """Write one audit entry: who, what, when, which client; ids and codes only."""
    entry = AuditEntry(at=now or utcnow(), staff_email=staff.email if staff else staff_email,
                       action=action[:32], client_public_id=client_public_id,
                       detail=(detail or None) and detail[:120],
                       address=(address or None) and address[:64])
    session.add(entry)
    return entry


def audit_entries(session: Session, limit: int = 200, offset: int = 0,
                  client_public_id: str | None = None) -> list[AuditEntry]:
    """Audit entries, newest first."""
    q = sa.select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if client_public_id:
        q = q.where(AuditEntry.client_public_id == client_public_id)
    return list(session.scalars(q.limit(limit).offset(offset)))
