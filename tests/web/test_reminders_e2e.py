"""A reminder for a web conversation: shown at once to a connected widget, or at the next visit.

The worker (in this process) triggers the reminder in the real Rasa server and leaves the
messages in the web outbox; the socket.io channel inside Rasa emits them to the widget.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
import requests
import sqlalchemy as sa

from bot.clinic.config import ReminderPolicy
from bot.clinic.store import db, services
from bot.clinic.store.models import Client, Reminder, WebOutbox
from bot.services.worker.delivery import Deliverer, RasaTrigger
from bot.services.worker.loop import Worker
from tests.web.test_attacks_e2e import Visitor

pytestmark = pytest.mark.e2e


def _book_due_reminder(url: str, client_id: int, hours: int) -> None:
    """A session in ``hours`` whose 1-hour reminder is due now."""
    now = datetime.now(timezone.utc)
    with db.unit_of_work(url) as s:
        client = s.get(Client, client_id)
        # No quiet hours here: the test must not depend on the time of day it runs at.
        appointment = services.book_appointment(s, client, now + timedelta(hours=hours),
                                                policy=ReminderPolicy((60,), None, None))
        s.execute(sa.update(Reminder).where(Reminder.appointment_id == appointment.id,
                                            Reminder.lead_minutes == 60)
                  .values(due_at=now - timedelta(seconds=1)))
    db.dispose_all()


def _status(url: str) -> list[str]:
    with db.unit_of_work(url) as s:
        statuses = s.scalars(sa.select(Reminder.status).order_by(Reminder.id)).all()
    db.dispose_all()
    return list(statuses)


async def _until(check, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.1)):
        if check():
            return
        await asyncio.sleep(0.1)
    assert check()


def _outbox_rows(url: str) -> int:
    with db.unit_of_work(url) as s:
        count = s.scalar(sa.select(sa.func.count()).select_from(WebOutbox))
    db.dispose_all()
    return count


async def _run_worker(rasa_server, url: str) -> dict:
    async with RasaTrigger(rasa_server.url, rasa_server.token) as rasa:
        # No quiet hours at sending either: any time of day will do.
        worker = Worker(Deliverer(rasa), url=url, policy=ReminderPolicy((60,), None, None))
        return await worker.cycle()


async def _next_text(visitor: Visitor) -> dict:
    while True:
        name, data = await visitor.next()
        if name == "bot_uttered" and data.get("text"):
            return data


def test_web_reminders_reach_the_open_widget_and_wait_for_the_next_visit(
        web_server, rasa_server, database_url):
    session = requests.post(f"{web_server.url}/api/session", json={}, timeout=10).json()
    db.ensure_migrated(database_url)
    with db.unit_of_work(database_url) as s:
        client, code = services.create_client(s, "Kim", "UTC")
        client_id = client.id
    db.dispose_all()

    async def run() -> None:
        visitor = Visitor(web_server.url)
        await visitor.connect("polling")
        try:
            await visitor.emit("session_request", {"session_id": session["session_id"]})
            assert (await visitor.next())[0] == "session_confirm"
            await visitor.emit("user_uttered", {"message": f"my code is {code}",
                                                "session_id": session["session_id"]})
            # the privacy notice and its question may come as more than one message
            while "Do you agree?" not in (await _next_text(visitor))["text"]:
                pass
            await visitor.emit("user_uttered", {"message": "yes",
                                                "session_id": session["session_id"]})
            assert "Kim" in (await _next_text(visitor))["text"]
            # Connected: the reminder appears within the outbox poll.
            _book_due_reminder(database_url, client_id, hours=3)
            assert (await _run_worker(rasa_server, database_url))["outbox"] == 1
            shown = await _next_text(visitor)
            assert "reminder" in shown["text"]
            assert [q["payload"] for q in shown["quick_replies"]] == [
                "/confirm_attendance", "/cannot_attend"]
            # emitted, not yet displayed: sent once the widget says it showed it
            assert "sent" not in _status(database_url)
            await visitor.emit("outbox_ack", {"outbox_id": shown["outbox_id"]})
            await _until(lambda: _status(database_url).count("sent") == 1)
        finally:
            await visitor.disconnect()

        # Closed: the next reminder waits in the outbox until the widget comes back.
        _book_due_reminder(database_url, client_id, hours=5)
        assert (await _run_worker(rasa_server, database_url))["outbox"] == 1
        assert _outbox_rows(database_url) == 1
        back = Visitor(web_server.url)
        await back.connect("polling")
        try:
            await back.emit("session_request", {"session_id": session["session_id"]})
            shown = await _next_text(back)
            assert "reminder" in shown["text"]
            assert _outbox_rows(database_url) == 1  # kept until the widget acknowledges it
            await back.emit("outbox_ack", {"outbox_id": shown["outbox_id"]})
            # The row goes once the widget displayed it; the reminder counts as sent then.
            await _until(lambda: _outbox_rows(database_url) == 0)
            assert _status(database_url).count("sent") == 2
        finally:
            await back.disconnect()

    asyncio.run(run())


def test_a_widget_message_resent_with_its_id_is_answered_once(web_server, rasa_server):
    session = requests.post(f"{web_server.url}/api/session", json={}, timeout=10).json()

    async def run() -> None:
        visitor = Visitor(web_server.url)
        visitor.sio.on("message_ack", visitor._recorder("message_ack"))
        await visitor.connect("polling")
        try:
            await visitor.emit("session_request", {"session_id": session["session_id"]})
            assert (await visitor.next())[0] == "session_confirm"
            message = {"message": "what is IPT?", "session_id": session["session_id"],
                       "message_id": "resend-test-0001"}
            await visitor.emit("user_uttered", message)
            answers = []
            while True:
                name, data = await visitor.next()
                if name == "message_ack":
                    assert data == {"message_id": "resend-test-0001"}
                    break
                answers.append(data)
            assert answers and all(isinstance(a.get("id"), str) for a in answers)
            # the widget resends it (it reconnected before the acknowledgement arrived)
            await visitor.emit("user_uttered", message)
            assert await visitor.next() == ("message_ack", {"message_id": "resend-test-0001"})
            assert await visitor.nothing_more(3) == []  # and nothing more
        finally:
            await visitor.disconnect()

    asyncio.run(run())
