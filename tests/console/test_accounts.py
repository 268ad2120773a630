"""Console accounts, sessions, login limits, roles, flags and the audit log on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from bot.clinic.store import db, services
from bot.clinic.store.models import AuditEntry, ClientAssignment, SafetyFlag, Staff, StaffSession
from bot.services.console import accounts, views
from tests.console import seed

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
LIMITS = accounts.Limits(idle=timedelta(minutes=30), absolute=timedelta(hours=12))
pytestmark = pytest.mark.clock


def test_a_password_is_stored_only_as_an_argon2id_hash(url):
    with db.unit_of_work(url) as s:
        st = seed.staff(s, "Lee@Clinic.example", "admin", NOW)
    with db.unit_of_work(url) as s:
        row = s.scalar(sa.select(Staff))
        assert row.email == "lee@clinic.example"
        assert row.password_hash.startswith("$argon2id$")
        assert seed.PASSWORD not in row.password_hash
        assert accounts.verify_password(row.password_hash, seed.PASSWORD)
        assert not accounts.verify_password(row.password_hash, seed.PASSWORD + "x")
    assert st.role == "admin"


@pytest.mark.parametrize("email, role, password, problem", [
    ("lee@clinic.example", "admin", "too short", "at least 12"),
    ("not-an-email", "admin", seed.PASSWORD, "not an e-mail"),
    ("lee@clinic.example", "owner", seed.PASSWORD, "role must be"),
])
def test_bad_accounts_are_refused(url, email, role, password, problem):
    with db.unit_of_work(url) as s, pytest.raises(services.InvalidInput, match=problem):
        accounts.add_staff(s, email, role, password)


def test_the_same_email_twice_is_refused(url):
    with db.unit_of_work(url) as s:
        seed.staff(s, "lee@clinic.example")
    with db.unit_of_work(url) as s, pytest.raises(services.InvalidInput, match="already"):
        accounts.add_staff(s, "LEE@clinic.example", "admin", seed.PASSWORD)


def _login(url, email="lee@clinic.example", password=seed.PASSWORD, address="10.0.0.1", now=NOW,
           code=None):
    with db.unit_of_work(url) as s:
        return accounts.login(s, email, password, address, LIMITS, now, code)


def wrong_code(secret: str, at: datetime) -> str:
    """A six-digit code that is not valid at ``at`` (nor one step either side)."""
    import pyotp

    valid = {pyotp.TOTP(secret).at(at + timedelta(seconds=d)) for d in (-30, 0, 30)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def test_login_opens_a_session_that_ends_when_idle_or_too_old(url):
    with db.unit_of_work(url) as s:
        seed.staff(s, "lee@clinic.example")
    result = _login(url)
    assert result.outcome == "ok" and result.token and result.csrf
    with db.unit_of_work(url) as s:
        # only the token's hash is stored
        assert s.scalar(sa.select(StaffSession.token_hash)) != result.token
        assert accounts.session_for(s, result.token, LIMITS, NOW + timedelta(minutes=29)) is not None
        # used at 29 minutes: still alive at 58, gone 30 minutes after the last use
        assert accounts.session_for(s, result.token, LIMITS, NOW + timedelta(minutes=58)) is not None
        assert accounts.session_for(s, result.token, LIMITS, NOW + timedelta(minutes=89)) is None
        assert s.scalar(sa.select(sa.func.count()).select_from(StaffSession)) == 0
    second = _login(url)
    t = NOW
    with db.unit_of_work(url) as s:
        while t + timedelta(minutes=20) < NOW + LIMITS.absolute:  # kept busy, ends at 12 h
            t += timedelta(minutes=20)
            assert accounts.session_for(s, second.token, LIMITS, t) is not None
        assert accounts.session_for(s, second.token, LIMITS, NOW + timedelta(hours=12)) is None
        assert accounts.session_for(s, "made-up-token", LIMITS, NOW) is None


def test_wrong_unknown_and_disabled_logins_fail_the_same_way(url):
    with db.unit_of_work(url) as s:
        seed.staff(s, "lee@clinic.example")
        accounts.set_active(s, seed.staff(s, "gone@clinic.example"), False)
    assert _login(url, password="wrong password!").outcome == "wrong"
    assert _login(url, email="nobody@clinic.example").outcome == "wrong"
    assert _login(url, email="gone@clinic.example").outcome == "wrong"
    with db.unit_of_work(url) as s:
        actions = [a for (a,) in s.execute(sa.select(AuditEntry.action))]
    assert actions.count("login_failed") == 3


def test_five_failures_lock_the_account_for_the_window_even_with_the_right_password(url):
    with db.unit_of_work(url) as s:
        seed.staff(s, "lee@clinic.example")
    for i in range(accounts.ACCOUNT_FAILURES):
        assert _login(url, password=f"guess number {i}", address=f"10.0.0.{i}",
                      now=NOW + timedelta(minutes=i)).outcome == "wrong"
    assert _login(url, now=NOW + timedelta(minutes=5)).outcome == "blocked"
    # the window slides: 15 minutes after the first failures the account opens again
    assert _login(url, now=NOW + timedelta(minutes=19)).outcome == "ok"


def test_many_failures_from_one_address_block_it_for_every_account(url):
    with db.unit_of_work(url) as s:
        seed.staff(s, "lee@clinic.example")
    for i in range(accounts.ADDRESS_FAILURES):
        _login(url, email=f"guess{i}@clinic.example", address="192.0.2.9")
    assert _login(url, address="192.0.2.9").outcome == "blocked"
    assert _login(url, address="192.0.2.10").outcome == "ok"


def test_a_clinician_sees_only_assigned_clients_and_an_admin_sees_all(url):
    with db.unit_of_work(url) as s:
        admin = seed.staff(s, "admin@clinic.example", "admin")
        lee = seed.staff(s, "lee@clinic.example")
        kim = seed.staff(s, "kim@clinic.example")
        mine = seed.client_with_history(s, NOW, "Mine", 5, lee)
        theirs = seed.client_with_history(s, NOW, "Theirs", 5, kim)
        assert accounts.visible_client(s, lee, mine.public_id).id == mine.id
        with pytest.raises(services.NotFound):
            accounts.visible_client(s, lee, theirs.public_id)
        assert accounts.can_see(s, admin, theirs)
        assert [r.name for r in views.client_rows(s, lee, now=NOW)] == ["Mine"]
        assert {r.name for r in views.client_rows(s, admin, now=NOW)} == {"Mine", "Theirs"}
        accounts.unassign_client(s, mine, lee)
        assert views.client_rows(s, lee, now=NOW) == []


def test_the_client_list_puts_open_flags_first_and_searches_name_and_id(url):
    with db.unit_of_work(url) as s:
        admin = seed.staff(s, "admin@clinic.example", "admin")
        calm, _ = services.create_client(s, "Alex Calm", now=NOW)
        services.book_appointment(s, calm, NOW + timedelta(days=1), now=NOW)
        flagged = seed.client_with_history(s, NOW, "Zoe Flagged", 3)
        rows = views.client_rows(s, admin, now=NOW)
        assert [r.name for r in rows] == ["Zoe Flagged", "Alex Calm"]
        assert rows[0].open_flags == 1 and rows[0].last_mood is not None
        assert rows[1].next_session == NOW + timedelta(days=1) and rows[1].last_checkin is None
        assert [r.name for r in views.client_rows(s, admin, "calm", now=NOW)] == ["Alex Calm"]
        pid = flagged.public_id.lower()
        assert [r.name for r in views.client_rows(s, admin, pid, now=NOW)] == ["Zoe Flagged"]
        assert views.client_rows(s, admin, "%", now=NOW) == []  # a wildcard is a character
        services.update_client(s, calm, status="closed")
        assert [r.name for r in views.client_rows(s, admin, status="closed", now=NOW)] == ["Alex Calm"]


def test_acknowledging_a_flag_records_who_and_when_once(url):
    with db.unit_of_work(url) as s:
        lee = seed.staff(s, "lee@clinic.example")
        kim = seed.staff(s, "kim@clinic.example")
        c = seed.client_with_history(s, NOW, "Robin", 3, lee)
        other = seed.client_with_history(s, NOW, "Other", 3)
        flag_id = services.list_flags(s, c)[0].id
        with pytest.raises(services.NotFound):
            accounts.acknowledge_flag(s, other, flag_id, lee, NOW)
        accounts.acknowledge_flag(s, c, flag_id, lee, NOW)
        accounts.acknowledge_flag(s, c, flag_id, kim, NOW + timedelta(hours=1))
    with db.unit_of_work(url) as s:
        flag = s.get(SafetyFlag, flag_id)
        assert (flag.reviewed_by, flag.reviewed_at) == ("lee@clinic.example", NOW)


def test_the_client_page_reads_every_kind_of_record(url):
    with db.unit_of_work(url) as s:
        c = seed.client_with_history(s, NOW, "Robin", 40)
        page = views.client_page(s, c, NOW)
        assert len(page.checkins) == 40 and len(page.entries) == 3
        assert len(page.upcoming) == 2 and len(page.past) == 1
        assert len(page.requests) == 1 and len(page.open_flags) == 1
        assert [len(s_.reminders) for s_ in page.upcoming] == [2, 2]
        assert str(page.chart).count("<circle class=\"mood\"") == 40 + 1  # + legend marker


def test_erasure_removes_assignments_and_keeps_the_audit_trail(url):
    with db.unit_of_work(url) as s:
        lee = seed.staff(s, "lee@clinic.example")
        c = seed.client_with_history(s, NOW, "Robin", 3, lee)
        pid = c.public_id
        accounts.audit(s, lee, "view_client", pid, now=NOW)
        services.delete_client(s, c)
    with db.unit_of_work(url) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ClientAssignment)) == 0
        entries = accounts.audit_entries(s, client_public_id=pid)
        assert [(e.staff_email, e.action) for e in entries] == [("lee@clinic.example", "view_client")]


def test_a_new_password_or_disabling_ends_sessions(url):
    with db.unit_of_work(url) as s:
        seed.staff(s, "lee@clinic.example")
    token = _login(url).token
    with db.unit_of_work(url) as s:
        accounts.set_password(s, accounts.get_staff(s, "lee@clinic.example"), "another long password")
        assert accounts.session_for(s, token, LIMITS, NOW) is None
    token = _login(url, password="another long password").token
    with db.unit_of_work(url) as s:
        accounts.set_active(s, accounts.get_staff(s, "lee@clinic.example"), False)
        assert accounts.session_for(s, token, LIMITS, NOW) is None


def test_a_second_factor_needs_a_fresh_code_from_the_app(url):
    import pyotp

    with db.unit_of_work(url) as s:
        st = seed.staff(s, "lee@clinic.example")
        secret = accounts.new_totp_secret()
        with pytest.raises(services.InvalidInput, match="does not match"):
            accounts.enable_totp(s, st, secret, wrong_code(secret, NOW), NOW)
        accounts.enable_totp(s, st, secret, pyotp.TOTP(secret).at(NOW), NOW)
    totp = pyotp.TOTP(secret)
    later = NOW + timedelta(minutes=5)
    assert _login(url, now=later).outcome == "wrong"  # password alone is not enough
    assert _login(url, now=later, code="12345").outcome == "wrong"
    assert _login(url, now=later, code=wrong_code(secret, later)).outcome == "wrong"
    with db.unit_of_work(url) as s:
        ok = accounts.login(s, "lee@clinic.example", seed.PASSWORD, "10.0.0.1", LIMITS, later,
                            code=totp.at(later))
    assert ok.outcome == "ok"
    with db.unit_of_work(url) as s:  # the same code again (a replay) is refused
        again = accounts.login(s, "lee@clinic.example", seed.PASSWORD, "10.0.0.1", LIMITS,
                               later + timedelta(seconds=5), code=totp.at(later))
        assert again.outcome == "wrong"
        # one step of clock drift is allowed
        drift = later + timedelta(seconds=60)
        assert accounts.login(s, "lee@clinic.example", seed.PASSWORD, "10.0.0.1", LIMITS,
                              drift, code=totp.at(drift - timedelta(seconds=30))).outcome == "ok"
        accounts.disable_totp(s, accounts.get_staff(s, "lee@clinic.example"))
    assert _login(url, now=later + timedelta(minutes=5)).outcome == "ok"


def test_the_second_factor_secret_is_sealed_at_rest(url, monkeypatch):
    import pyotp
    from cryptography.fernet import InvalidToken

    monkeypatch.setenv(accounts.KEY_ENV, "a test key")
    with db.unit_of_work(url) as s:
        st = seed.staff(s, "kim@clinic.example")
        secret = accounts.new_totp_secret()
        accounts.enable_totp(s, st, secret, pyotp.TOTP(secret).at(NOW), NOW)
    with db.unit_of_work(url) as s:
        stored = s.scalar(sa.select(Staff.totp_secret).where(Staff.email == "kim@clinic.example"))
    assert stored.startswith(accounts.SEALED) and secret not in stored
    assert accounts.unseal(stored) == secret
    later = NOW + timedelta(minutes=5)
    assert _login(url, "kim@clinic.example", now=later,
                  code=pyotp.TOTP(secret).at(later)).outcome == "ok"
    # another key cannot read it, and a value stored before sealing still reads as it is
    monkeypatch.setenv(accounts.KEY_ENV, "another key")
    with pytest.raises(InvalidToken):
        accounts.unseal(stored)
    assert accounts.unseal("JBSWY3DPEHPK3PXP") == "JBSWY3DPEHPK3PXP"
