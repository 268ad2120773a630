"""One worker cycle at a time, with a controllable clock, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from bot.clinic.store import db
from bot.clinic.store.clock import DatabaseClock
from bot.clinic.store.models import Reminder, WebOutbox, utcnow
from bot.services.telegram.config import TelegramConfig
from bot.services.telegram.delivery import make_bot
from bot.services.worker import claims
from bot.services.worker.delivery import Deliverer, RasaTrigger
from bot.services.worker.loop import Worker, WorkerSettings
from tests.telegram.fakes import TOKEN
from tests.worker.fakes import RASA_TOKEN
from tests.worker.seed import seed_due_reminders

pytestmark = [pytest.mark.anyio, pytest.mark.clock]
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _reminder(url: str, **where) -> Reminder:
    with db.unit_of_work(url) as s:
        return s.scalars(sa.select(Reminder).filter_by(**where)).one()


async def _worker(url, telegram, rasa_trigger, clock, bot=True):
    rasa = RasaTrigger(rasa_trigger.url, RASA_TOKEN, timeout=5)
    await rasa.__aenter__()
    tg = make_bot(TelegramConfig(token=TOKEN, api_base_url=telegram.url)) if bot else None
    worker = Worker(Deliverer(rasa, tg), url=url, clock=clock,
                    settings=WorkerSettings(batch=10, retry_after=timedelta(minutes=1)))
    return worker, rasa


async def test_a_due_reminder_reaches_telegram_once_with_its_buttons(url, telegram, rasa_trigger):
    [chat] = seed_due_reminders(url, 1, NOW)
    worker, rasa = await _worker(url, telegram, rasa_trigger, Clock(NOW))
    try:
        counts = await worker.cycle()
        again = await worker.cycle()
    finally:
        await rasa.close()
    assert counts["sent"] == 1 and again["claimed"] == 0
    assert rasa_trigger.calls == [(f"tg-{chat}", "EXTERNAL_session_reminder",
                                   {"appointment_id": str(_reminder(url).appointment_id)})]
    [sent] = telegram.sent(chat)
    assert "reminder" in sent.params["text"]
    buttons = [b["callback_data"] for row in sent.params["reply_markup"]["inline_keyboard"]
               for b in row]
    assert buttons == ["/confirm_attendance", "/cannot_attend"]
    r = _reminder(url)
    assert (r.status, r.sent_at, r.attempts) == ("sent", NOW, 1)


async def test_a_web_reminder_waits_in_the_outbox_not_yet_counted_as_sent(
        url, telegram, rasa_trigger):
    seed_due_reminders(url, 1, NOW)
    with db.unit_of_work(url) as s:
        s.execute(sa.text("UPDATE channel_links SET sender_id = 'web-abc'"))
    worker, rasa = await _worker(url, telegram, rasa_trigger, Clock(NOW))
    try:
        assert (await worker.cycle())["outbox"] == 1
    finally:
        await rasa.close()
    assert telegram.sent() == []
    with db.unit_of_work(url) as s:
        [row] = s.scalars(sa.select(WebOutbox)).all()
        assert row.sender_id == "web-abc"
        assert json.loads(row.messages)[0]["buttons"][1]["title"] == "I can't make it"
        reminder_id = row.reminder_id
    assert reminder_id == _reminder(url).id
    # sent only when a widget displays it (tests/web/test_outbox_delivery.py)
    assert (_reminder(url).status, _reminder(url).sent_at) == ("outbox", None)


async def test_rasa_down_keeps_the_reminder_and_retries_after_a_pause(url, telegram, rasa_trigger):
    [chat] = seed_due_reminders(url, 1, NOW)
    clock = Clock(NOW)
    worker, rasa = await _worker(url, telegram, rasa_trigger, clock)
    try:
        rasa_trigger.status = 503
        assert (await worker.cycle())["retry"] == 1
        r = _reminder(url)
        assert (r.status, r.reason, r.claimed_until) == (
            "claimed", "rasa_unavailable", NOW + timedelta(minutes=1))
        rasa_trigger.status = 200
        clock.now = NOW + timedelta(seconds=30)
        assert (await worker.cycle())["claimed"] == 0  # still pausing
        clock.now = NOW + timedelta(minutes=1)
        assert (await worker.cycle())["sent"] == 1
    finally:
        await rasa.close()
    assert len(telegram.sent(chat)) == 1
    assert _reminder(url).attempts == 2


async def test_never_sent_once_the_session_has_started(url, telegram, rasa_trigger):
    seed_due_reminders(url, 1, NOW, starts_in=timedelta(minutes=5))
    clock = Clock(NOW)
    worker, rasa = await _worker(url, telegram, rasa_trigger, clock)
    try:
        rasa_trigger.status = 503
        await worker.cycle()  # Rasa down until after the session began
        rasa_trigger.status = 200
        clock.now = NOW + timedelta(minutes=6)
        assert (await worker.cycle())["claimed"] == 0
    finally:
        await rasa.close()
    assert telegram.sent() == []
    r = _reminder(url)
    assert (r.status, r.reason) == ("missed", "session_started")


async def test_nothing_to_say_cancels_the_reminder(url, telegram, rasa_trigger):
    seed_due_reminders(url, 1, NOW)

    def cancelled_meanwhile() -> None:  # by the clinic, after the worker claimed the reminder
        with db.unit_of_work(url) as s:
            s.execute(sa.text("UPDATE appointments SET status = 'cancelled'"))

    rasa_trigger.on_call = cancelled_meanwhile
    rasa_trigger.silent = True
    worker, rasa = await _worker(url, telegram, rasa_trigger, Clock(NOW))
    try:
        assert (await worker.cycle())["cancelled"] == 1
    finally:
        await rasa.close()
    assert telegram.sent() == [] and _reminder(url).reason == "nothing_to_send"


async def test_a_silent_reply_for_a_session_still_booked_is_tried_again(url, telegram,
                                                                         rasa_trigger):
    """Rasa says nothing when our action failed (the database was away a moment): retry."""
    seed_due_reminders(url, 1, NOW)
    rasa_trigger.silent = True
    clock = Clock(NOW)
    worker, rasa = await _worker(url, telegram, rasa_trigger, clock)
    try:
        assert (await worker.cycle())["retry"] == 1
        assert (_reminder(url).status, _reminder(url).reason) == ("claimed", "empty_reply")
        rasa_trigger.silent = False
        clock.now = NOW + timedelta(minutes=1)
        assert (await worker.cycle())["sent"] == 1
    finally:
        await rasa.close()
    assert len(telegram.sent()) == 1


async def test_telegram_off_or_no_linked_chat_waits(url, telegram, rasa_trigger):
    seed_due_reminders(url, 2, NOW)
    with db.unit_of_work(url) as s:
        s.execute(sa.text("DELETE FROM channel_links WHERE client_id = "
                          "(SELECT min(client_id) FROM channel_links)"))
    worker, rasa = await _worker(url, telegram, rasa_trigger, Clock(NOW), bot=False)
    try:
        assert (await worker.cycle())["retry"] == 2
    finally:
        await rasa.close()
    with db.unit_of_work(url) as s:
        reasons = set(s.scalars(sa.select(Reminder.reason)))
    assert reasons == {"no_channel", "telegram_off"} and rasa_trigger.calls == []


async def test_housekeeping_jobs_run_on_their_schedule_and_a_failure_stops_nothing(
        url, telegram, rasa_trigger):
    seed_due_reminders(url, 1, NOW)
    clock = Clock(NOW)
    worker, rasa = await _worker(url, telegram, rasa_trigger, clock)
    ran: list[datetime] = []

    def broken(now):
        raise RuntimeError("boom")

    worker.add_job("broken", timedelta(minutes=10), broken)
    worker.add_job("record", timedelta(minutes=10), ran.append)
    try:
        await worker.run_jobs()
        clock.now = NOW + timedelta(minutes=5)
        await worker.run_jobs()
        clock.now = NOW + timedelta(minutes=10)
        await worker.run_jobs()
        assert (await worker.cycle())["sent"] == 1
    finally:
        await rasa.close()
    assert ran == [NOW, NOW + timedelta(minutes=10)]


def test_the_worker_runs_the_retention_purge_at_its_own_clock(url):
    import time

    from bot.services.worker.loop import default_jobs
    from tests.store.test_services import _add_events

    db.ensure_migrated(url)
    _add_events(url, "web-long-gone", 2)  # 1970: far past the 90 days
    with db.get_engine(url).begin() as conn:
        conn.execute(sa.text("INSERT INTO events (sender_id, type_name, timestamp, data) "
                             "VALUES ('web-recent', 'user', :t, '{}')"), {"t": time.time()})
    jobs = {name: fn for name, _, fn in default_jobs(url)}
    assert jobs["retention"](datetime.now(timezone.utc))["conversations"] == 1
    with db.get_engine(url).connect() as conn:
        left = conn.execute(sa.text("SELECT DISTINCT sender_id FROM events")).scalars().all()
    assert left == ["web-recent"]


async def test_a_catch_up_at_night_waits_for_the_morning_and_is_sent_once(
        url, telegram, rasa_trigger):
    night = datetime(2026, 12, 1, 23, 0, tzinfo=timezone.utc)  # the client is in UTC
    [chat] = seed_due_reminders(url, 1, night, due_ago=timedelta(hours=3),
                                starts_in=timedelta(hours=10), tz="UTC")
    clock = Clock(night)
    worker, rasa = await _worker(url, telegram, rasa_trigger, clock)
    try:
        assert (await worker.cycle())["quiet"] == 1
        r = _reminder(url)
        morning = datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)
        assert (r.status, r.reason, r.claimed_until) == ("claimed", "quiet_hours", morning)
        clock.now = morning - timedelta(minutes=1)
        assert (await worker.cycle())["claimed"] == 0
        clock.now = morning
        assert (await worker.cycle())["sent"] == 1
    finally:
        await rasa.close()
    assert len(telegram.sent(chat)) == 1 and rasa_trigger.calls and _reminder(url).status == "sent"


async def test_a_reminder_whose_session_starts_before_the_morning_is_dropped_not_sent_at_night(
        url, telegram, rasa_trigger):
    night = datetime(2026, 12, 1, 23, 0, tzinfo=timezone.utc)
    seed_due_reminders(url, 1, night, due_ago=timedelta(hours=3), starts_in=timedelta(hours=5),
                       tz="UTC")
    worker, rasa = await _worker(url, telegram, rasa_trigger, Clock(night))
    try:
        assert (await worker.cycle())["missed"] == 1
    finally:
        await rasa.close()
    assert telegram.sent() == [] and rasa_trigger.calls == []
    r = _reminder(url)
    assert (r.status, r.reason) == ("missed", "quiet_hours")


async def test_after_an_outage_only_the_reminder_nearest_the_session_goes_out(
        url, telegram, rasa_trigger):
    [chat] = seed_due_reminders(url, 1, NOW, due_ago=timedelta(minutes=5),
                                starts_in=timedelta(minutes=55))
    with db.unit_of_work(url) as s:  # the day-before reminder was never sent: worker down
        first = s.scalars(sa.select(Reminder)).one()
        s.add(Reminder(client_id=first.client_id, appointment_id=first.appointment_id,
                       lead_minutes=1440, due_at=NOW - timedelta(hours=23, minutes=5),
                       status="pending", attempts=0, created_at=NOW))
    worker, rasa = await _worker(url, telegram, rasa_trigger, Clock(NOW))
    try:
        counts = await worker.cycle()
    finally:
        await rasa.close()
    assert counts["sent"] == 1 and len(telegram.sent(chat)) == 1
    assert (_reminder(url, lead_minutes=1440).status, _reminder(url, lead_minutes=1440).reason) == (
        "missed", "superseded")
    assert _reminder(url, lead_minutes=60).status == "sent"


async def test_a_delivery_slowed_by_flood_control_keeps_its_lease_and_is_sent_once(
        url, telegram, rasa_trigger):
    # Telegram makes the first send wait 4 s, longer than the 3-second lease: the worker
    # renews the lease while it waits, so a second worker polling meanwhile takes nothing.
    now = datetime.now(timezone.utc)
    [chat] = seed_due_reminders(url, 1, now)
    telegram.fail_once["sendMessage"] = 4
    fast = WorkerSettings(batch=10, hold=timedelta(seconds=3), claim_margin=timedelta(0))
    a, rasa_a = await _worker(url, telegram, rasa_trigger, utcnow)
    b, rasa_b = await _worker(url, telegram, rasa_trigger, utcnow)
    a.settings = b.settings = fast
    try:
        delivering = asyncio.create_task(a.cycle())
        await asyncio.sleep(3.5)  # past the first lease
        assert (await b.cycle())["claimed"] == 0
        done = await delivering
        assert done["sent"] == 1, done
    finally:
        await rasa_a.close()
        await rasa_b.close()
    # The refused attempt and the one delivered: one message reached the client.
    assert len(telegram.sent(chat)) == 2 and _reminder(url).status == "sent"


async def test_workers_whose_clocks_are_90_seconds_apart_agree_on_claims(
        url, telegram, rasa_trigger):
    if not url.startswith("postgresql"):
        pytest.skip("one SQLite file is one machine with one clock")
    ahead = DatabaseClock(url, local=lambda: datetime.now(timezone.utc) + timedelta(seconds=90))
    behind = DatabaseClock(url, local=lambda: datetime.now(timezone.utc))
    assert abs(ahead() - behind()) < timedelta(seconds=1)  # both read the server's time
    seed_due_reminders(url, 1, behind())  # due by the server's clock, whatever ours says
    with db.unit_of_work(url) as s:
        [claim] = claims.claim_due(s, behind(), 10, timedelta(minutes=2))
    # 90 s ahead on its own clock, the other worker would think the claim ran out at 30 s.
    with db.unit_of_work(url) as s:
        assert claims.claim_due(s, ahead() + timedelta(seconds=31), 10, timedelta(minutes=2)) == []
    with db.unit_of_work(url) as s:
        assert claims.claim_due(s, ahead() + timedelta(seconds=121), 10, timedelta(minutes=2))
    assert claim.token == 1


@pytest.mark.parametrize(("clock_at", "starts_in", "outcome", "status", "reason", "until"), [
    # its pacing slot comes two seconds later, when the client's quiet hours have begun
    (datetime(2026, 12, 1, 20, 59, 59, tzinfo=timezone.utc), timedelta(hours=13), "quiet",
     "claimed", "quiet_hours", datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)),
    # ... or when the session has begun
    (NOW, timedelta(seconds=1), "missed", "missed", "session_started", None),
])
async def test_a_reminder_whose_moment_passes_while_it_waits_for_its_slot_is_not_sent(
        url, telegram, rasa_trigger, clock_at, starts_in, outcome, status, reason, until):
    seed_due_reminders(url, 1, clock_at, starts_in=starts_in, tz="UTC")
    clock = Clock(clock_at)
    worker, rasa = await _worker(url, telegram, rasa_trigger, clock)

    def late_slot(chat):
        clock.now += timedelta(seconds=2)
        return 0.0

    worker.deliverer.bot.rate_limiter.pacer.reserve = late_slot
    try:
        assert (await worker.cycle())[outcome] == 1
    finally:
        await rasa.close()
    assert rasa_trigger.calls and telegram.sent() == []
    r = _reminder(url)
    assert (r.status, r.reason, r.claimed_until) == (status, reason, until)
