"""The console over HTTP, as a real process on loopback: sign-in, sessions, CSRF, roles, audit."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from bot.clinic.store import db
from bot.clinic.store.models import Appointment, Client, HomeworkAssignment, SafetyFlag, utcnow
from tests.console.conftest import audit_rows, csrf_of

pytestmark = pytest.mark.e2e


def test_every_page_but_the_sign_in_needs_a_session(console):
    for path in ("/clients", f"/clients/{console.clients['robin']}", "/admin/audit"):
        r = requests.get(console.url + path, allow_redirects=False, timeout=10)
        assert r.status_code == 303 and r.headers["Location"].startswith("/login?next=")
    r = requests.post(f"{console.url}/clients/{console.clients['robin']}/flags/1/acknowledge",
                      data={"csrf": "x"}, timeout=10)
    assert r.status_code == 403


def test_sign_in_sets_a_strict_http_only_cookie_and_security_headers(console):
    http = requests.Session()
    form = http.get(f"{console.url}/login", timeout=10)
    assert form.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in form.headers["Content-Security-Policy"]
    assert form.headers["X-Frame-Options"] == "DENY"
    r = http.post(f"{console.url}/login", allow_redirects=False, timeout=30, data={
        "csrf": csrf_of(form.text), "email": "lee@clinic.example",
        "password": "a long test password", "next": "//evil.example/x"})
    assert r.status_code == 303 and r.headers["Location"] == "/clients"  # no open redirect
    cookie = next(c for c in r.raw.headers.getlist("Set-Cookie") if c.startswith("ipt_console="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # plain http on loopback; https gets Secure (docs/console.md)
    page = http.get(f"{console.url}/clients", timeout=10)
    assert "Robin Example" in page.text and "Sasha Example" not in page.text


def test_a_wrong_password_waits_and_says_nothing_about_which_part_was_wrong(console):
    http = requests.Session()
    form = http.get(f"{console.url}/login", timeout=10)
    answers = []
    for email in ("kim@clinic.example", "nobody@clinic.example"):
        t = time.monotonic()
        r = http.post(f"{console.url}/login", timeout=30, data={
            "csrf": csrf_of(form.text), "email": email, "password": "not the password"})
        answers.append((r.status_code, time.monotonic() - t))
        assert "The e-mail address, the password or the one-time code is not right." in r.text
        assert "ipt_console=" not in r.headers.get("Set-Cookie", "")
        form = r
    assert all(status == 401 and took >= 0.4 for status, took in answers), answers
    assert ("kim@clinic.example", "login_failed", None, None) in audit_rows(console.database_url)


def test_the_sign_in_form_needs_its_token(console):
    r = requests.post(f"{console.url}/login", timeout=10, data={
        "email": "lee@clinic.example", "password": "a long test password"})
    assert r.status_code == 403


def test_forms_without_the_csrf_token_or_from_another_origin_are_refused(console):
    http = console.login("lee@clinic.example")
    pid = console.clients["robin"]
    page = http.get(f"{console.url}/clients/{pid}", timeout=10)
    with db.unit_of_work(console.database_url) as s:
        flag_id = s.scalar(sa.select(SafetyFlag.id).join(Client, Client.id == SafetyFlag.client_id)
                           .where(Client.public_id == pid, SafetyFlag.reviewed_at.is_(None)))
    target = f"{console.url}/clients/{pid}/flags/{flag_id}/acknowledge"
    assert http.post(target, data={}, timeout=10).status_code == 403
    assert http.post(target, data={"csrf": "forged" * 8}, timeout=10).status_code == 403
    r = http.post(target, data={"csrf": csrf_of(page.text)}, timeout=10,
                  headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    with db.unit_of_work(console.database_url) as s:
        assert s.get(SafetyFlag, flag_id).reviewed_at is None
    r = http.post(target, data={"csrf": csrf_of(page.text)}, timeout=10,
                  headers={"Origin": console.url})
    assert r.status_code == 200 and "Safety flag acknowledged." in r.text
    assert "by lee@clinic.example" in r.text
    with db.unit_of_work(console.database_url) as s:
        assert s.get(SafetyFlag, flag_id).reviewed_by == "lee@clinic.example"
    assert ("lee@clinic.example", "ack_flag", pid, f"flag {flag_id}") in audit_rows(
        console.database_url)


def test_a_clinician_cannot_open_another_clinicians_client(console):
    http = console.login("lee@clinic.example")
    other = console.clients["sasha"]
    for path in (f"/clients/{other}", f"/clients/{other}/export.json"):
        r = http.get(console.url + path, timeout=10)
        assert r.status_code == 404 and "Sasha" not in r.text
    page = http.get(f"{console.url}/clients/{console.clients['robin']}", timeout=10)
    r = http.post(f"{console.url}/clients/{other}/do/cancel_session", timeout=10,
                  data={"csrf": csrf_of(page.text), "appointment": "1", "confirm": "yes"})
    assert r.status_code == 404
    assert http.get(f"{console.url}/admin/audit", timeout=10).status_code == 403
    assert not [r for r in audit_rows(console.database_url) if r[2] == other and r[0] == "lee@clinic.example"]


def test_viewing_and_exporting_are_audited_without_the_clients_words(console):
    http = console.login("lee@clinic.example")
    pid = console.clients["robin"]
    page = http.get(f"{console.url}/clients/{pid}", timeout=10)
    assert page.status_code == 200
    assert page.text.count('<circle class="mood"') == 201  # 200 check-ins and the legend
    assert "Check-ins as a table (200)" in page.text
    exported = http.get(f"{console.url}/clients/{pid}/export.json", timeout=10)
    assert exported.headers["Content-Disposition"] == f'attachment; filename="{pid}.json"'
    assert len(json.loads(exported.text)["checkins"]) == 200
    rows = audit_rows(console.database_url)
    assert ("lee@clinic.example", "view_client", pid, None) in rows
    assert ("lee@clinic.example", "export_client", pid, "json") in rows
    words = ("Slept better", "brother", "Awkward")
    assert not [r for r in rows if any(w in str(r) for w in words)]
    admin = console.login("admin@clinic.example")
    log = admin.get(f"{console.url}/admin/audit?client={pid}", timeout=10)
    assert "view_client" in log.text and "export_client" in log.text
    csv_text = admin.get(f"{console.url}/admin/audit?format=csv", timeout=10).text
    assert csv_text.startswith("at_utc,staff,action,client,detail,address")
    assert f"lee@clinic.example,view_client,{pid}" in csv_text


def test_actions_wait_for_a_confirmation_then_use_the_service_functions(console):
    http = console.login("lee@clinic.example")
    pid = console.clients["robin"]
    page = http.get(f"{console.url}/clients/{pid}", timeout=10)
    token = csrf_of(page.text)
    when = (utcnow() + timedelta(days=20)).strftime("%Y-%m-%dT10:00")

    def count(model):
        with db.unit_of_work(console.database_url) as s:
            return s.scalar(sa.select(sa.func.count()).select_from(model))

    before = count(Appointment)
    ask = http.post(f"{console.url}/clients/{pid}/do/book_session", timeout=10,
                    data={"csrf": token, "at": when, "minutes": "50"})
    assert ask.status_code == 200 and "Book this session?" in ask.text
    assert count(Appointment) == before
    done = http.post(f"{console.url}/clients/{pid}/do/book_session", timeout=10,
                     data={"csrf": token, "at": when, "minutes": "50", "confirm": "yes"})
    assert done.status_code == 200 and "Session booked." in done.text
    assert count(Appointment) == before + 1
    with db.unit_of_work(console.database_url) as s:
        new = s.scalar(sa.select(Appointment).order_by(Appointment.id.desc()))
        assert new.status == "booked" and len(new.client.appointments) >= 3
        new_id = new.id
    past = http.post(f"{console.url}/clients/{pid}/do/book_session", timeout=10,
                     data={"csrf": token, "at": "2001-01-01T10:00", "confirm": "yes"})
    assert past.status_code == 400 and "in the past" in past.text
    http.post(f"{console.url}/clients/{pid}/do/cancel_session", timeout=10,
              data={"csrf": token, "appointment": str(new_id), "confirm": "yes"})
    with db.unit_of_work(console.database_url) as s:
        assert s.get(Appointment, new_id).status == "cancelled"
    hw_before = count(HomeworkAssignment)
    http.post(f"{console.url}/clients/{pid}/do/assign_homework", timeout=10,
              data={"csrf": token, "title": "Write down one good moment a day", "confirm": "yes"})
    assert count(HomeworkAssignment) == hw_before + 1
    rows = audit_rows(console.database_url)
    assert ("lee@clinic.example", "book_session", pid, f"appointment {new_id}") in rows
    assert ("lee@clinic.example", "cancel_session", pid, f"appointment {new_id}") in rows
    assert any(r[1] == "assign_homework" and r[2] == pid for r in rows)


def test_sign_out_ends_the_session(console):
    http = console.login("kim@clinic.example")
    page = http.get(f"{console.url}/clients", timeout=10)
    http.post(f"{console.url}/logout", data={"csrf": csrf_of(page.text)}, timeout=10)
    r = http.get(f"{console.url}/clients", allow_redirects=False, timeout=10)
    assert r.status_code == 303


def test_an_admin_creates_an_account_that_can_sign_in(console):
    admin = console.login("admin@clinic.example")
    page = admin.get(f"{console.url}/admin/staff", timeout=10)
    r = admin.post(f"{console.url}/admin/staff", timeout=30, data={
        "csrf": csrf_of(page.text), "email": "new@clinic.example", "role": "clinician",
        "password": "twelve chars at least"})
    assert r.status_code == 200 and "Account created for new@clinic.example" in r.text
    console.login("new@clinic.example", "twelve chars at least")
    clinician = console.login("lee@clinic.example")
    assert clinician.get(f"{console.url}/admin/staff", timeout=10).status_code == 403


def test_a_session_ends_after_the_idle_time(short_console):
    http = short_console.login("lee@clinic.example")
    assert http.get(f"{short_console.url}/clients", allow_redirects=False, timeout=10).status_code == 200
    time.sleep(3.5)
    r = http.get(f"{short_console.url}/clients", allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["Location"].startswith("/login")


def test_a_busy_session_still_ends_at_its_absolute_limit(short_console):
    http = short_console.login("lee@clinic.example")
    started = time.monotonic()
    while time.monotonic() - started < 5:
        assert http.get(f"{short_console.url}/clients", allow_redirects=False,
                        timeout=10).status_code == 200
        time.sleep(1.5)
    time.sleep(max(0.0, 6.3 - (time.monotonic() - started)))
    r = http.get(f"{short_console.url}/clients", allow_redirects=False, timeout=10)
    assert r.status_code == 303


def test_enrolling_shows_the_code_once_and_assigns_a_clinicians_new_client(console):
    http = console.login("kim@clinic.example")
    token = csrf_of(http.get(f"{console.url}/clients", timeout=10).text)
    form = {"csrf": token, "name": "Jo New", "tz": "Europe/Lisbon", "sessions": "12"}
    ask = http.post(f"{console.url}/clients/new", data=form, timeout=10)
    assert ask.status_code == 200 and "Enrol this client?" in ask.text
    assert "Jo New" not in http.get(f"{console.url}/clients", timeout=10).text
    done = http.post(f"{console.url}/clients/new", data={**form, "confirm": "yes"}, timeout=10)
    code = re.search(r'<p class="code"[^>]*>([A-Z0-9-]+)</p>', done.text).group(1)
    assert done.headers["Cache-Control"] == "no-store"
    listing = http.get(f"{console.url}/clients", timeout=10).text
    assert "Jo New" in listing
    pid = re.search(r'href="/clients/(C-[A-Z0-9]+)">Jo New', listing).group(1)
    page = http.get(f"{console.url}/clients/{pid}", timeout=10).text
    assert code not in page and "kim@clinic.example" in page  # shown once; assigned to Kim
    rows = audit_rows(console.database_url)
    assert ("kim@clinic.example", "enrol_client", pid, None) in rows
    assert not [r for r in rows if code in str(r)]
    bad = http.post(f"{console.url}/clients/new", timeout=10,
                    data={**form, "tz": "Mars/Olympus", "confirm": "yes"})
    assert bad.status_code == 400 and "unknown time zone" in bad.text


def test_reminders_status_and_a_new_code(console):
    http = console.login("lee@clinic.example")
    pid = console.clients["robin"]
    token = csrf_of(http.get(f"{console.url}/clients/{pid}", timeout=10).text)
    r = http.post(f"{console.url}/clients/{pid}/do/set_reminders", timeout=10,
                  data={"csrf": token, "reminders": "day_before", "confirm": "yes"})
    assert "Reminders changed." in r.text and "<dd>1440</dd>" in r.text
    r = http.post(f"{console.url}/clients/{pid}/do/set_reminders", timeout=10,
                  data={"csrf": token, "reminders": "sometimes", "confirm": "yes"})
    assert r.status_code == 400 and "reminders must be" in r.text
    r = http.post(f"{console.url}/clients/{pid}/do/new_code", timeout=10,
                  data={"csrf": token, "confirm": "yes"})
    assert re.search(r'<p class="code"[^>]*>[A-Z0-9]{4}-[A-Z0-9]{4}</p>', r.text)
    http.post(f"{console.url}/clients/{pid}/do/set_reminders", timeout=10,
              data={"csrf": token, "reminders": "default", "confirm": "yes"})


def test_csv_export_has_one_row_per_record(console):
    http = console.login("lee@clinic.example")
    pid = console.clients["robin"]
    r = http.get(f"{console.url}/clients/{pid}/export.csv", timeout=10)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    kinds = [row["record"] for row in rows]
    assert kinds.count("checkin") == 200 and kinds.count("homework_entry") == 3
    assert kinds.count("safety_flag") == 1 and kinds.count("session") >= 3
    assert ("lee@clinic.example", "export_client", pid, "csv") in audit_rows(console.database_url)


def test_only_an_admin_erases_and_the_audit_keeps_the_id(console):
    pid = console.clients["sasha"]
    kim = console.login("kim@clinic.example")
    token = csrf_of(kim.get(f"{console.url}/clients/{pid}", timeout=10).text)
    r = kim.post(f"{console.url}/clients/{pid}/do/erase_client", timeout=10,
                 data={"csrf": token, "confirm": "yes", "confirm_id": pid})
    assert r.status_code == 403
    admin = console.login("admin@clinic.example")
    token = csrf_of(admin.get(f"{console.url}/clients/{pid}", timeout=10).text)
    wrong = admin.post(f"{console.url}/clients/{pid}/do/erase_client", timeout=10,
                       data={"csrf": token, "confirm": "yes", "confirm_id": "C-XXXXXX"})
    assert wrong.status_code == 400
    done = admin.post(f"{console.url}/clients/{pid}/do/erase_client", timeout=10,
                      data={"csrf": token, "confirm": "yes", "confirm_id": pid.lower()})
    assert done.status_code == 200 and f"{pid} erased." in done.text
    assert admin.get(f"{console.url}/clients/{pid}", timeout=10).status_code == 404
    rows = audit_rows(console.database_url)
    assert any(r[1] == "erase_client" and r[2] == pid for r in rows)
    assert ("kim@clinic.example", "view_client", pid, None) in rows


def test_an_account_with_a_second_factor_needs_the_code_at_sign_in(console):
    import pyotp

    from bot.services.console import accounts
    from tests.console import seed

    with db.unit_of_work(console.database_url) as s:
        st = seed.staff(s, "otp@clinic.example", "clinician")
        secret = accounts.new_totp_secret()
        # set up with the previous step's code, so the current one is still unused
        before = utcnow() - timedelta(seconds=30)
        accounts.enable_totp(s, st, secret, pyotp.TOTP(secret).at(before), before)
    http = requests.Session()
    form = http.get(f"{console.url}/login", timeout=10)
    r = http.post(f"{console.url}/login", timeout=30, data={
        "csrf": csrf_of(form.text), "email": "otp@clinic.example", "password": seed.PASSWORD})
    assert r.status_code == 401
    r = http.post(f"{console.url}/login", timeout=30, data={
        "csrf": csrf_of(r.text), "email": "otp@clinic.example", "password": seed.PASSWORD,
        "code": pyotp.TOTP(secret).now()})
    assert r.status_code == 200 and r.url.endswith("/clients")


def test_an_admin_assigns_a_clinician_and_disables_an_account(console):
    admin = console.login("admin@clinic.example")
    pid = console.clients["robin"]
    token = csrf_of(admin.get(f"{console.url}/clients/{pid}", timeout=10).text)
    admin.post(f"{console.url}/clients/{pid}/do/assign_clinician", timeout=10,
               data={"csrf": token, "staff": "kim@clinic.example", "confirm": "yes"})
    kim = console.login("kim@clinic.example")
    assert kim.get(f"{console.url}/clients/{pid}", timeout=10).status_code == 200
    lee = console.login("lee@clinic.example")
    r = lee.post(f"{console.url}/clients/{pid}/do/unassign_clinician", timeout=10, data={
        "csrf": csrf_of(lee.get(f"{console.url}/clients", timeout=10).text),
        "staff": "kim@clinic.example", "confirm": "yes"})
    assert r.status_code == 403  # clinicians do not decide who sees a client
    admin.post(f"{console.url}/clients/{pid}/do/unassign_clinician", timeout=10,
               data={"csrf": token, "staff": "kim@clinic.example", "confirm": "yes"})
    assert kim.get(f"{console.url}/clients/{pid}", timeout=10).status_code == 404
    admin.post(f"{console.url}/admin/staff/active", timeout=10,
               data={"csrf": token, "email": "kim@clinic.example", "active": "no"})
    r = kim.get(f"{console.url}/clients", allow_redirects=False, timeout=10)
    assert r.status_code == 303  # the disabled account's session ended at once
    admin.post(f"{console.url}/admin/staff/active", timeout=10,
               data={"csrf": token, "email": "kim@clinic.example", "active": "yes"})
    console.login("kim@clinic.example")
    rows = audit_rows(console.database_url)
    assert ("admin@clinic.example", "assign_clinician", pid, "kim@clinic.example") in rows
    assert ("admin@clinic.example", "disable_staff", None, "kim@clinic.example") in rows
