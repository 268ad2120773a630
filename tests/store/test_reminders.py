"""Reminders follow their appointments, respect quiet hours and overrides, and are claimed once.

Every test runs on SQLite and on PostgreSQL (the ``url`` fixture) with a frozen clock.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from bot.clinic import reminders
from bot.clinic.config import ReminderPolicy
from bot.clinic.store import db, services
from bot.clinic.store.models import Appointment, Reminder
from bot.services.worker import claims

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)  # a Tuesday
POLICY = ReminderPolicy((1440, 60), time(21, 0), time(8, 0))
HOLD = timedelta(minutes=2)
pytestmark = [pytest.mark.clock, pytest.mark.usefixtures("frozen_clock")]


def _client(s, tz="UTC", sender=None, sessions=None):
    client, _ = services.create_client(s, "Sam", tz, sessions)
    if sender:
        services.link_channel(s, client, "rest", sender)
    return client


def _reminders(s, appointment_id):
    return {
        r.lead_minutes: (r.status, r.due_at)
        for r in s.scalars(sa.select(Reminder).where(Reminder.appointment_id == appointment_id))
    }


def _book(s, client, starts_at, policy=POLICY):
    return services.book_appointment(s, client, starts_at, now=NOW, policy=policy)


def test_booking_creates_one_reminder_per_lead_time(url):
    with db.unit_of_work(url) as s:
        a = _book(s, _client(s), NOW + timedelta(days=3, hours=6))  # Friday 15:00 UTC
        assert _reminders(s, a.id) == {
            1440: ("pending", a.starts_at - timedelta(days=1)),
            60: ("pending", a.starts_at - timedelta(hours=1)),
        }


def test_a_lead_time_already_past_at_booking_gets_no_reminder(url):
    with db.unit_of_work(url) as s:
        a = _book(s, _client(s), NOW + timedelta(hours=5))
        assert set(_reminders(s, a.id)) == {60}


def test_moving_moves_the_reminders_in_the_same_transaction(url):
    with db.unit_of_work(url) as s:
        a = _book(s, _client(s), NOW + timedelta(days=3, hours=6))
        new_start = a.starts_at + timedelta(days=2)
        services.move_appointment(s, a, new_start, now=NOW, policy=POLICY)
        assert _reminders(s, a.id) == {
            1440: ("pending", new_start - timedelta(days=1)),
            60: ("pending", new_start - timedelta(hours=1)),
        }


def test_moving_after_a_reminder_was_sent_reminds_again_of_the_new_time(url):
    with db.unit_of_work(url) as s:
        a = _book(s, _client(s, sender="tg-1"), NOW + timedelta(days=1, hours=6))
    later = NOW + timedelta(hours=6, minutes=1)  # the 24-hour reminder is due
    with db.unit_of_work(url) as s:
        [claim] = claims.claim_due(s, later, 10, HOLD)
        assert claims.mark_sent(s, claim, later)
    with db.unit_of_work(url) as s:
        a = s.get(Appointment, a.id)
        services.move_appointment(s, a, a.starts_at + timedelta(days=7), now=later, policy=POLICY)
        assert {lead: st for lead, (st, _) in _reminders(s, a.id).items()} == {
            1440: "pending", 60: "pending"}


def test_cancelling_cancels_the_reminders_not_yet_sent(url):
    with db.unit_of_work(url) as s:
        a = _book(s, _client(s), NOW + timedelta(days=3))
        services.cancel_appointment(s, a)
        assert {st for st, _ in _reminders(s, a.id).values()} == {"cancelled"}


def test_a_failed_booking_leaves_no_reminder(url):
    with pytest.raises(services.InvalidInput), db.unit_of_work(url) as s:
        client = _client(s)
        _book(s, client, NOW + timedelta(days=3))
        services.book_appointment(s, client, NOW - timedelta(days=1), now=NOW, policy=POLICY)
    with db.unit_of_work(url) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Reminder)) == 0


def test_quiet_hours_send_the_reminder_earlier_in_the_clients_time_zone(url):
    # 08:30 in Tokyo is 23:30 UTC the day before: the 1-hour reminder (07:30 local) is in
    # quiet hours, so it goes out at 20:59 local the evening before.
    tokyo = ZoneInfo("Asia/Tokyo")
    start = datetime(2026, 12, 5, 8, 30, tzinfo=tokyo)
    with db.unit_of_work(url) as s:
        a = _book(s, _client(s, "Asia/Tokyo"), start)
        got = {lead: due.astimezone(tokyo) for lead, (_, due) in _reminders(s, a.id).items()}
    assert got[60] == datetime(2026, 12, 4, 20, 59, tzinfo=tokyo)
    assert got[1440] == datetime(2026, 12, 4, 8, 30, tzinfo=tokyo)  # 08:30 is after quiet hours


def test_a_reminder_in_quiet_hours_whose_earlier_time_passed_goes_out_when_they_end(url):
    # Booked at 22:00 for 09:00 next morning: 20:59 has passed, 08:00 is still before it.
    now = datetime(2026, 12, 1, 22, 0, tzinfo=timezone.utc)
    with db.unit_of_work(url) as s:
        a = services.book_appointment(
            s, _client(s), datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc), now=now, policy=POLICY
        )
        assert _reminders(s, a.id) == {
            60: ("pending", datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc))}


def test_a_new_time_zone_reschedules_for_its_quiet_hours(url):
    start = datetime(2026, 12, 5, 15, 30, tzinfo=timezone.utc)
    with db.unit_of_work(url) as s:
        client = _client(s)
        a = _book(s, client, start)
        assert _reminders(s, a.id)[60][1] == start - timedelta(hours=1)
        # In Auckland (UTC+13) 14:30 UTC is 03:30: quiet, so 20:59 local = 07:59 UTC.
        services.update_client(s, client, tz="Pacific/Auckland", policy=POLICY, now=NOW)
        assert _reminders(s, a.id)[60][1] == datetime(2026, 12, 5, 7, 59, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("zone", "session_day"),
    [
        # Sessions on the Sundays the clocks change, the reminder due the Saturday before.
        ("Europe/Berlin", "2027-03-28"),  # forward at 02:00
        ("Europe/Berlin", "2027-10-31"),  # back at 03:00
        ("America/New_York", "2027-03-14"),  # forward at 02:00
        ("America/New_York", "2027-11-07"),  # back at 02:00
    ],
)
def test_reminders_across_a_daylight_saving_change_keep_the_local_time(url, zone, session_day):
    tz = ZoneInfo(zone)
    start = datetime.fromisoformat(f"{session_day} 10:00").replace(tzinfo=tz)
    with db.unit_of_work(url) as s:
        # In UTC, as ipt-admin and the database give it: the result must not depend on that.
        a = _book(s, _client(s, zone), start.astimezone(timezone.utc))
        got = {lead: due.astimezone(tz) for lead, (_, due) in _reminders(s, a.id).items()}
    day_before = start - timedelta(days=1)  # wall-clock arithmetic: 10:00 the day before
    assert (got[1440].date(), got[1440].time()) == (day_before.date(), time(10, 0))
    assert got[1440].utcoffset() != got[60].utcoffset()  # the change lies between them
    assert got[60] == start - timedelta(hours=1) and got[60].time() == time(9, 0)


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("day_before", {1440: "pending", 60: "cancelled"}),
        ("off", {1440: "cancelled", 60: "cancelled"}),
        ("2880", {2880: "pending", 1440: "cancelled", 60: "cancelled"}),
    ],
)
def test_a_clients_own_choice_replaces_the_clinic_default(url, choice, expected):
    with db.unit_of_work(url) as s:
        client = _client(s)
        a = _book(s, client, NOW + timedelta(days=4))
        reminders.set_client_reminders(s, client, choice, POLICY, NOW)
        assert {lead: st for lead, (st, _) in _reminders(s, a.id).items()} == expected
        # Back to the clinic's default: the cancelled ones are wanted again.
        reminders.set_client_reminders(s, client, "default", POLICY, NOW)
        got = {lead: st for lead, (st, _) in _reminders(s, a.id).items()}
        assert got[1440] == got[60] == "pending"


def test_chat_choice_is_refused_for_an_unlinked_conversation(url):
    with db.unit_of_work(url) as s:
        assert reminders.set_reminders_from_chat(s, "nobody", "off") is False


def test_ipt_admin_values_are_checked():
    assert reminders.leads_setting("1440, 60") == "1440,60"
    assert reminders.leads_setting("off") == ""
    assert reminders.leads_setting("default") is None
    with pytest.raises(reminders.ReminderError):
        reminders.leads_setting("soon")
    with pytest.raises(reminders.ReminderError):
        reminders.leads_setting("0")


def test_due_reminders_are_claimed_once_and_a_crashed_claim_is_retried(url):
    with db.unit_of_work(url) as s:
        _book(s, _client(s, sender="tg-7"), NOW + timedelta(hours=2))
    due = NOW + timedelta(hours=1, minutes=1)
    with db.unit_of_work(url) as s:
        [first] = claims.claim_due(s, due, 10, HOLD)
        assert first.sender_id == "tg-7" and first.channel == "telegram"
    with db.unit_of_work(url) as s:
        assert claims.claim_due(s, due + timedelta(seconds=30), 10, HOLD) == []  # still held
    # The worker died holding it: after the claim runs out it is claimable again.
    with db.unit_of_work(url) as s:
        [again] = claims.claim_due(s, due + HOLD, 10, HOLD)
        assert again.reminder_id == first.reminder_id and again.token == first.token + 1
    with db.unit_of_work(url) as s:
        assert not claims.mark_sent(s, first, due)  # the stale claim cannot settle it
        assert claims.mark_sent(s, again, due + HOLD)
    with db.unit_of_work(url) as s:
        assert claims.claim_due(s, due + 2 * HOLD, 10, HOLD) == []


def test_a_reminder_is_claimed_from_the_second_it_is_due_not_before(url):
    with db.unit_of_work(url) as s:
        a = _book(s, _client(s, sender="tg-8"), NOW + timedelta(days=3))
        due = _reminders(s, a.id)[1440][1]
    with db.unit_of_work(url) as s:
        assert claims.claim_due(s, due - timedelta(seconds=1), 10, HOLD) == []
    with db.unit_of_work(url) as s:
        [claim] = claims.claim_due(s, due, 10, HOLD)
        assert claim.appointment_id == a.id and claim.until == due + HOLD


def test_past_due_reminders_are_marked_missed_not_sent(url):
    with freeze_time(NOW), db.unit_of_work(url) as s:
        a = services.book_appointment(s, _client(s), NOW + timedelta(days=2), policy=POLICY)
    # The worker was down for three days: both reminders' session has started.
    with freeze_time(NOW + timedelta(days=3)), db.unit_of_work(url) as s:
        assert claims.claim_due(s, datetime.now(timezone.utc), 10, HOLD) == []
        assert {(st, r) for st, r in s.execute(
            sa.select(Reminder.status, Reminder.reason).where(Reminder.appointment_id == a.id)
        )} == {("missed", "session_started")}


def test_a_late_24_hour_reminder_still_goes_out_before_the_session(url):
    with db.unit_of_work(url) as s:
        _book(s, _client(s, sender="web-x"), NOW + timedelta(days=2))
    # Down for 30 hours: the 24-hour one is late but the session is ahead, so it is sent.
    with db.unit_of_work(url) as s:
        got = claims.claim_due(s, NOW + timedelta(hours=30), 10, HOLD)
        assert [c.channel for c in got] == ["web"]


def test_cannot_attend_records_a_request_and_keeps_the_booking(url):
    with freeze_time(NOW), db.unit_of_work(url) as s:
        a = _book(s, _client(s, sender="tg-5", sessions=12), NOW + timedelta(days=2))
        answer = reminders.request_cancellation(s, "tg-5")
        assert answer.status == "ok" and answer.session.appointment_id == a.id
        s.refresh(a)
        assert a.cancel_requested_at == NOW and a.status == "booked"
        # Moving it answers the request.
        services.move_appointment(s, a, a.starts_at + timedelta(days=1), now=NOW, policy=POLICY)
        assert a.cancel_requested_at is None


def test_next_session_counts_the_sessions_left_of_the_agreed_number(url):
    with freeze_time(NOW), db.unit_of_work(url) as s:
        client = _client(s, "Europe/Berlin", sender="tg-9", sessions=12)
        for week in (1, 2, 3):
            _book(s, client, NOW + timedelta(weeks=week))
        # One past session attended, one cancelled: the cancelled one does not count.
        s.add(Appointment(client_id=client.id, starts_at=NOW - timedelta(weeks=1), status="attended"))
        s.add(Appointment(client_id=client.id, starts_at=NOW - timedelta(days=2), status="cancelled"))
        s.flush()
        answer = reminders.next_session(s, "tg-9")
        assert answer.status == "ok"
        view = answer.session
        assert (view.day, view.time, view.zone) == ("Tuesday 8 December", "10:00", "Europe/Berlin")
        assert (view.number, view.agreed, view.left_after) == (2, 12, 10)
        assert reminders.next_session(s, "unknown").status == "unlinked"
