"""Web reminders: delivered when a widget displayed them, emitted once across Rasa servers;
widget message ids: a resent message is answered once. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from bot.clinic.store import clock, db, models
from bot.clinic.store.clock import DatabaseClock, database_now
from bot.clinic.store.models import Reminder, WebOutbox
from bot.rasa_ext import web_channel as channel
from bot.services.worker.delivery import Deliverer, RasaTrigger
from bot.services.worker.loop import Worker, WorkerSettings, expire_web_outbox
from tests.worker.fakes import RASA_TOKEN, FakeRasaTrigger
from tests.worker.seed import seed_due_reminders

pytestmark = pytest.mark.anyio
SENDER = "web-abc"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def rasa_trigger():
    """Rasa's trigger_intent endpoint, faked (tests/worker/fakes.py)."""
    server = FakeRasaTrigger()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def store(url, monkeypatch):
    """The test database as the channel's (it reads IPT_DATABASE_URL, as inside Rasa)."""
    monkeypatch.setenv(db.ENV_VAR, url)
    return url


def _reminder(url: str) -> Reminder:
    with db.unit_of_work(url) as s:
        return s.scalars(sa.select(Reminder)).one()


def _rows(url: str) -> int:
    with db.unit_of_work(url) as s:
        return s.scalar(sa.select(sa.func.count()).select_from(WebOutbox))


async def _web_reminder_in_outbox(url: str, rasa_trigger, starts_in=timedelta(hours=2)) -> None:
    # Due by the database's clock: the worker and the channel time everything by it.
    seed_due_reminders(url, 1, database_now(url), starts_in=starts_in)
    with db.unit_of_work(url) as s:
        s.execute(sa.text(f"UPDATE channel_links SET sender_id = '{SENDER}'"))
    async with RasaTrigger(rasa_trigger.url, RASA_TOKEN, timeout=5) as rasa:
        worker = Worker(Deliverer(rasa), url=url, settings=WorkerSettings(batch=10))
        assert (await worker.cycle())["outbox"] == 1


@pytest.mark.clock
async def test_a_web_reminder_counts_as_sent_only_once_a_widget_displayed_it(
        store, rasa_trigger):
    await _web_reminder_in_outbox(store, rasa_trigger)
    assert (_reminder(store).status, _reminder(store).sent_at) == ("outbox", None)
    [(row_id, sender, messages)] = channel._take_outbox([SENDER])
    assert sender == SENDER and "reminder" in messages[0]["text"]
    assert _reminder(store).status == "outbox"  # emitted is not displayed
    assert not channel._outbox_displayed(row_id, "web-someone-else")  # not their row
    assert channel._outbox_displayed(row_id, SENDER)
    r = _reminder(store)
    assert r.status == "sent" and r.sent_at is not None
    assert _rows(store) == 0
    assert not channel._outbox_displayed(row_id, SENDER)  # a second tab's ack changes nothing


@pytest.mark.clock
async def test_of_two_rasa_servers_exactly_one_emits_a_row(store, rasa_trigger):
    await _web_reminder_in_outbox(store, rasa_trigger)
    results: list[list] = []
    barrier = threading.Barrier(4)

    def server() -> None:
        barrier.wait()
        results.append(channel._take_outbox([SENDER]))

    threads = [threading.Thread(target=server) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(r) for r in results) == [0, 0, 0, 1]
    assert channel._take_outbox([SENDER]) == []  # waiting for the acknowledgement


@pytest.mark.clock
async def test_an_unacknowledged_row_is_emitted_again_after_the_wait(store, rasa_trigger,
                                                                     monkeypatch):
    await _web_reminder_in_outbox(store, rasa_trigger)
    monkeypatch.setattr(channel, "OUTBOX_ACK_WAIT", timedelta(seconds=-1))
    first = channel._take_outbox([SENDER])
    again = channel._take_outbox([SENDER])
    assert first and again and first[0][0] == again[0][0]


@pytest.mark.clock
async def test_a_rasa_server_whose_clock_runs_90_seconds_ahead_waits_for_the_acknowledgement(
        store, rasa_trigger, monkeypatch):
    if not store.startswith("postgresql"):
        pytest.skip("one SQLite file is one machine with one clock")
    await _web_reminder_in_outbox(store, rasa_trigger)
    assert channel._take_outbox([SENDER])  # emitted; the widget has 60 s to acknowledge it
    # Another server, its clock 90 s ahead: by its own clock the 60 s ran out 30 s ago.
    def ahead() -> datetime:
        return datetime.now(timezone.utc) + timedelta(seconds=90)

    monkeypatch.setattr(models, "utcnow", ahead)
    monkeypatch.setitem(clock._clocks, db.database_url(store), DatabaseClock(store, local=ahead))
    assert channel._take_outbox([SENDER]) == []


@pytest.mark.clock
async def test_a_reminder_not_displayed_before_its_session_started_is_never_shown(
        store, rasa_trigger):
    await _web_reminder_in_outbox(store, rasa_trigger, starts_in=timedelta(minutes=59))
    with db.unit_of_work(store) as s:
        s.execute(sa.text("UPDATE appointments SET starts_at = :t"),
                  {"t": database_now(store).replace(tzinfo=None) - timedelta(minutes=1)})
    assert channel._take_outbox([SENDER]) == []
    r = _reminder(store)
    assert (r.status, r.reason) == ("missed", "not_shown")
    assert _rows(store) == 0


@pytest.mark.clock
async def test_housekeeping_drops_rows_of_started_sessions_as_not_shown(store, rasa_trigger):
    await _web_reminder_in_outbox(store, rasa_trigger)
    assert expire_web_outbox(store)(database_now(store) + timedelta(hours=3)) == 1
    assert (_reminder(store).status, _reminder(store).reason) == ("missed", "not_shown")


def test_a_resent_widget_message_is_answered_once(store, monkeypatch):
    db.ensure_migrated(store)
    assert channel._message_received(SENDER, "m-00000001") == "new"
    # resent while this server answers it: not again
    assert channel._message_received(SENDER, "m-00000001") == "running"
    # resent after the server that took it died (a restarted Rasa has a new owner id)
    monkeypatch.setattr(channel, "OWNER", "another-process")
    assert channel._message_received(SENDER, "m-00000001") == "again"
    channel._message_answered(SENDER, "m-00000001")
    assert channel._message_received(SENDER, "m-00000001") == "answered"
    assert channel._message_received("web-other", "m-00000001") == "new"  # ids per conversation


def test_outbox_messages_carry_their_row_and_place(store):
    class FakeSio:
        def __init__(self) -> None:
            self.emitted: list = []

        async def emit(self, event, data, room=None, **_):
            self.emitted.append((event, data, room))

    sio = FakeSio()
    output = channel.OutboxOutput(sio, "bot_uttered", 7)
    asyncio.run(output.send_response(SENDER, {"text": "One.\n\nTwo."}))
    assert [(d["text"], d["outbox_id"], d["outbox_index"]) for _, d, _ in sio.emitted] == [
        ("One.", 7, 0), ("Two.", 7, 1)]
