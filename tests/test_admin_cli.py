"""ipt-admin through its real entry point, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.clinic.store import db
from tests import store_api as api
from tests.store import dbutil

ADMIN = Path(sys.executable).parent / "ipt-admin"
# Sessions are booked two years ahead of whatever today is (a fixed year would one day be past).
YEAR = datetime.now(timezone.utc).year + 2
pytestmark = pytest.mark.clock


@pytest.fixture(scope="module")
def pg_cli_url():
    """A PostgreSQL database for this module, dropped at the end."""
    with dbutil.throwaway_pg_database("ipt_cli") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    """A database URL for the CLI (the CLI migrates it itself)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ipt.db'}"
    u = request.getfixturevalue("pg_cli_url")
    db.migrate(u)
    dbutil.truncate_all(u)
    return u


def run(url: str | None, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run ipt-admin with the database in the environment, from a foreign cwd."""
    env = {**os.environ}
    env.pop(db.ENV_VAR, None)
    if url:
        env[db.ENV_VAR] = url
    return subprocess.run(
        [str(ADMIN), *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
        input=stdin,
        timeout=60,
    )


def ok_json(url: str, *args: str):
    """Run with --json, expect success, return the parsed output."""
    r = run(url, "--json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_the_clinic_workflow_from_enrolment_to_erasure(url):
    added = ok_json(url, "client", "add", "--name", "Sam", "--tz", "Europe/Berlin")
    pid, code = added["id"], added["code"]
    assert added["timezone"] == "Europe/Berlin" and len(code) == 9

    # The client links a chat with the code; the CLI then shows the linked channel.
    assert api.link_account("tg-cli-1", "telegram", code, url=url, consent=True).display_name == "Sam"
    db.dispose_all()

    appt = ok_json(url, "appointment", "add", pid, "--at", f"{YEAR}-12-01 15:00")
    assert appt["starts"] == f"{YEAR}-12-01T15:00:00+01:00"  # shown in the client's zone
    iso = ok_json(url, "appointment", "add", pid, "--at", f"{YEAR}-12-02T09:00:00Z")
    assert iso["starts"] == f"{YEAR}-12-02T10:00:00+01:00"
    hw = ok_json(
        url, "homework", "assign", pid, "--title", "Call my sister", "--due", str(appt["id"])
    )
    shown = ok_json(url, "client", "show", pid)
    assert shown["linked_channels"] == 1 and [a["id"] for a in shown["upcoming"]] == [
        appt["id"],
        iso["id"],
    ]
    assert shown["open_homework"] == [{"id": hw["id"], "title": "Call my sister"}]

    table = run(url, "appointment", "list")
    assert table.returncode == 0 and f"{YEAR}-12-01 15:00 CET" in table.stdout
    assert table.stdout.splitlines()[0].split()[:3] == ["ID", "CLIENT", "NAME"]

    assert ok_json(url, "appointment", "cancel", str(iso["id"]))["status"] == "cancelled"
    assert ok_json(url, "client", "set", pid, "--name", "Sam K.", "--tz", "UTC")["name"] == "Sam K."
    assert ok_json(url, "client", "new-code", pid)["code"] != code

    api.record_checkin("tg-cli-1", 6, "ok week", url=url)
    api.record_crisis_flag("tg-cli-1", "self_harm", url=url)
    db.dispose_all()
    assert [c["mood"] for c in ok_json(url, "checkins", "list", "--client", pid)] == [6]
    assert [f["category"] for f in ok_json(url, "flags", "list")] == ["self_harm"]

    export = run(url, "client", "export", pid)
    data = json.loads(export.stdout)
    assert data["client"]["display_name"] == "Sam K." and len(data["checkins"]) == 1

    refused = run(url, "client", "delete", pid, stdin="")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert ok_json(url, "client", "delete", pid, "--yes")["deleted"] is True
    assert ok_json(url, "client", "list") == []
    assert api.client_for_sender("tg-cli-1", url=url) is None


@pytest.mark.parametrize(
    "args, message",
    [
        (["client", "show", "C-ZZZZZZ"], "no client"),
        (["client", "add", "--name", "Sam", "--tz", "Mars/Base"], "unknown time zone"),
        (["appointment", "add", "C-ZZZZZZ", "--at", f"{YEAR}-01-01 10:00"], "no client"),
        (["appointment", "cancel", "999"], "no appointment"),
        (["client", "frobnicate"], "invalid choice"),
        (["client", "set", "C-ZZZZZZ", "--reminders", "soon"], "reminders must be"),
        (["appointment", "move", "999", "--at", f"{YEAR}-01-01 10:00"], "no appointment"),
    ],
)
def test_bad_input_is_one_line_on_stderr_with_exit_2(url, args, message):
    r = run(url, *args)
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_past_dates_and_unreadable_times_are_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'ipt.db'}"
    pid = ok_json(url, "client", "add", "--name", "Sam")["id"]
    for when, message in [("2020-01-01 10:00", "past"), ("next tuesday", "cannot read time")]:
        r = run(url, "appointment", "add", pid, "--at", when)
        assert r.returncode == 2 and message in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "bad_url",
    [
        "postgresql://postgres@127.0.0.1:1/nothing",
        "sqlite:////nonexistent-ipt-dir/x.db",
    ],
)
def test_an_unreachable_database_gives_one_line_and_exit_1(bad_url):
    r = run(None, "--database-url", bad_url, "client", "list")
    assert r.returncode == 1
    assert r.stderr.startswith("ipt-admin: database error:")
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_db_upgrade_works_from_any_directory(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    r = run(url, "db", "upgrade")
    assert r.returncode == 0 and "up to date" in r.stdout
    assert (tmp_path / "fresh.db").exists()


def _delete_at_terminal(url: str, pid: str, typed: str) -> subprocess.CompletedProcess:
    """Run `client delete` with a terminal on stdin and type ``typed`` at the prompt."""
    import pty

    master, slave = pty.openpty()
    env = {**os.environ, db.ENV_VAR: url}
    proc = subprocess.Popen(
        [str(ADMIN), "client", "delete", pid],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    os.write(master, (typed + "\n").encode())
    out, err = proc.communicate(timeout=60)
    os.close(master)
    os.close(slave)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_delete_asks_for_the_client_id_at_a_terminal(tmp_path):
    url = f"sqlite:///{tmp_path / 'ipt.db'}"
    pid = ok_json(url, "client", "add", "--name", "Sam")["id"]
    wrong = _delete_at_terminal(url, pid, "yes")
    assert wrong.returncode == 1 and "not deleted" in wrong.stderr
    assert [c["id"] for c in ok_json(url, "client", "list")] == [pid]
    right = _delete_at_terminal(url, pid, pid.lower())
    assert right.returncode == 0 and "erased" in right.stdout
    assert ok_json(url, "client", "list") == []


def test_reminders_follow_moves_and_the_clinic_sees_cancellation_requests(url):
    from bot.clinic import reminders

    pid = ok_json(url, "client", "add", "--name", "Ana", "--tz", "Europe/Lisbon")["id"]
    assert ok_json(url, "client", "show", pid)["reminders"] == "default (1440,60)"
    appt = ok_json(url, "appointment", "add", pid, "--at", f"{YEAR}-06-01 15:00")

    def leads() -> dict[int, str]:
        with db.unit_of_work(url) as s:
            rows = s.execute(sa.text(
                "SELECT lead_minutes, status, due_at FROM reminders WHERE appointment_id = :a"
            ), {"a": appt["id"]}).all()
        db.dispose_all()
        return {lead: (status, str(due)[:16]) for lead, status, due in rows}

    # Lisbon is UTC+1 in summer: 15:00 local is 14:00 UTC.
    assert leads() == {1440: ("pending", f"{YEAR}-05-31 14:00"), 60: ("pending", f"{YEAR}-06-01 13:00")}
    moved = ok_json(url, "appointment", "move", str(appt["id"]), "--at", f"{YEAR}-06-02 16:00")
    assert moved["starts"] == f"{YEAR}-06-02T16:00:00+01:00"
    assert leads() == {1440: ("pending", f"{YEAR}-06-01 15:00"), 60: ("pending", f"{YEAR}-06-02 14:00")}

    assert ok_json(url, "client", "set", pid, "--reminders", "1440")["reminders"] == "1440"
    assert leads()[60][0] == "cancelled" and leads()[1440][0] == "pending"
    assert ok_json(url, "client", "set", pid, "--reminders", "off")["reminders"] == "off"
    assert {status for status, _ in leads().values()} == {"cancelled"}
    ok_json(url, "client", "set", pid, "--reminders", "default")
    assert {status for status, _ in leads().values()} == {"pending"}

    # The client says "I can't make it" in chat: the clinic's list shows the request.
    code = ok_json(url, "client", "new-code", pid)["code"]
    api.link_account("tg-cli-2", "telegram", code, url=url, consent=True)
    with db.unit_of_work(url) as s:
        assert reminders.request_cancellation(s, "tg-cli-2").status == "ok"
    db.dispose_all()
    [row] = ok_json(url, "appointment", "list")
    assert row["cancel_requested"] is not None and row["status"] == "booked"
    assert "CANCEL_REQUESTED" in run(url, "appointment", "list").stdout


def test_export_includes_conversations_and_delete_removes_tracker_rows(url):
    from tests.store.test_services import _add_events

    added = ok_json(url, "client", "add", "--name", "Robin")
    api.link_account("tg-cli-7", "telegram", added["code"], url=url, consent=True)
    _add_events(url, "tg-cli-7", 3)
    _add_events(url, "web-someone-else", 2)
    db.dispose_all()
    data = json.loads(run(url, "client", "export", added["id"]).stdout)
    assert [e["text"] for e in data["conversations"]["tg-cli-7"]] == ["msg 0", "msg 1", "msg 2"]
    assert data["client"]["consent_at"] is not None
    assert list(data["conversations"]) == ["tg-cli-7"]
    removed = ok_json(url, "client", "delete", added["id"], "--yes")["removed"]
    assert removed["conversation_events"] == 3
    with db.unit_of_work(url) as s:
        import sqlalchemy as sa

        left = s.execute(sa.text("SELECT DISTINCT sender_id FROM events")).scalars().all()
    assert left == ["web-someone-else"]


def test_db_purge_deletes_old_unlinked_conversations_and_dry_run_only_counts(url):
    import time

    import sqlalchemy as sa

    from tests.store.test_services import _add_events

    db.ensure_migrated(url)
    _add_events(url, "web-old", 2)  # timestamps 0 and 1: 1970
    with db.get_engine(url).begin() as conn:
        conn.execute(sa.text("INSERT INTO events (sender_id, type_name, timestamp, data) "
                             "VALUES ('web-new', 'user', :t, '{}')"), {"t": time.time()})
    db.dispose_all()
    dry = ok_json(url, "db", "purge", "--dry-run")
    assert dry == {"conversations": 1, "events": 0, "days": 90, "dry_run": True}
    text = run(url, "db", "purge")
    assert text.returncode == 0 and "deleted 1 conversations (2 events)" in text.stdout
    assert ok_json(url, "db", "purge", "--days", "1")["conversations"] == 0
    assert run(url, "db", "purge", "--days", "0").returncode == 2
    closed = ok_json(url, "client", "set", ok_json(url, "client", "add", "--name", "Lee")["id"],
                     "--status", "closed")
    assert closed["status"] == "closed"


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
def test_a_local_time_the_clocks_skip_or_repeat_is_refused_naming_both_readings(url, zone):
    from zoneinfo import ZoneInfo

    from tests.helpers import next_clock_change

    tz = ZoneInfo(zone)
    pid = ok_json(url, "client", "add", "--name", "Noor", "--tz", zone)["id"]
    now = datetime.now(timezone.utc) + timedelta(days=2)  # both readings ahead, not past
    forward, back = next_clock_change(tz, now, True), next_clock_change(tz, now, False)
    # Half an hour into the skipped hour, and half an hour into the repeated one.
    skipped = (forward - timedelta(minutes=30)).astimezone(tz) + timedelta(hours=1)
    repeated = (back + timedelta(minutes=30)).astimezone(tz)
    for wall, what in [(skipped, "does not exist"), (repeated, "happens twice")]:
        typed = f"{wall:%Y-%m-%d %H:%M}"
        r = run(url, "appointment", "add", pid, "--at", typed)
        assert r.returncode != 0 and f"{typed} {what} in {zone}" in r.stderr, r.stderr
        offsets = {x.split(")")[0] for x in r.stderr.split("--at ")[1:]}
        assert len(offsets) == 2, r.stderr  # both readings, each with its offset
        # Either reading, typed with its offset, is booked as exactly that instant.
        for chosen in sorted(offsets):
            booked = ok_json(url, "appointment", "add", pid, "--at", chosen)
            assert datetime.fromisoformat(booked["starts"]) == datetime.fromisoformat(chosen)
