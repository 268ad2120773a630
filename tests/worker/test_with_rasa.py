"""End to end through the real Rasa server: a reminder triggered by the worker reaches the
(fake) Telegram chat with its buttons, and the client's answers work in that conversation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bot.clinic.config import ReminderPolicy
from bot.clinic.store import db, services
from bot.clinic.store.models import Appointment, Client, Reminder
from bot.services.telegram.config import TelegramConfig
from bot.services.telegram.delivery import make_bot
from bot.services.worker.delivery import Deliverer, RasaTrigger
from bot.services.worker.loop import Worker
from tests.helpers import bot_texts
from tests.telegram.fakes import TOKEN

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]
CHAT = 880011


async def test_a_reminder_goes_through_rasa_to_telegram_and_the_answer_reaches_the_clinic(
        rasa_server, database_url, telegram):
    sender = f"tg-{CHAT}"
    now = datetime.now(timezone.utc)
    db.ensure_migrated(database_url)
    with db.unit_of_work(database_url) as s:
        client, code = services.create_client(s, "Robin", "Europe/Berlin", agreed_sessions=12)
        # No quiet hours here: the test must not depend on the time of day it runs at.
        appointment = services.book_appointment(s, client, now + timedelta(hours=3),
                                                policy=ReminderPolicy((60,), None, None))
        appointment_id = appointment.id
        # Make its 1-hour reminder due now.
        s.execute(sa.update(Reminder).where(Reminder.appointment_id == appointment_id,
                                            Reminder.lead_minutes == 60)
                  .values(due_at=now - timedelta(seconds=1)))
    db.dispose_all()
    assert "Do you agree?" in " ".join(bot_texts(rasa_server.send(sender, f"my code is {code}")))
    assert "Robin" in " ".join(bot_texts(rasa_server.send(sender, "yes")))

    async with RasaTrigger(rasa_server.url, rasa_server.token) as rasa:
        worker = Worker(Deliverer(rasa, make_bot(TelegramConfig(token=TOKEN,
                                                                 api_base_url=telegram.url))),
                        url=database_url, policy=ReminderPolicy((60,), None, None))
        counts = await worker.cycle()
    assert counts["sent"] == 1, counts
    local = (now + timedelta(hours=3)).astimezone(ZoneInfo("Europe/Berlin"))
    [sent] = telegram.sent(CHAT)
    assert f"at {local:%H:%M}" in sent.params["text"] and "reminder" in sent.params["text"]
    titles = [b["text"] for row in sent.params["reply_markup"]["inline_keyboard"] for b in row]
    assert titles == ["I'll be there", "I can't make it"]

    # The tap on "I can't make it" reaches Rasa as the button's payload.
    replies = bot_texts(rasa_server.send(sender, "/cannot_attend"))
    assert any("passed on to your clinic" in t for t in replies), replies
    assert any("agreed" in t for t in replies), replies
    with db.unit_of_work(database_url) as s:
        assert s.get(Appointment, appointment_id).cancel_requested_at is not None
        assert s.scalar(sa.select(Reminder.status).where(
            Reminder.appointment_id == appointment_id, Reminder.lead_minutes == 60)) == "sent"
    db.dispose_all()

    asked = " ".join(bot_texts(rasa_server.send(sender, "when is my next session?")))
    assert f"at {local:%H:%M}" in asked and "session 1 of the 12" in asked, asked

    stopped = " ".join(bot_texts(rasa_server.send(sender, "please stop sending session reminders")))
    assert "won't send you session reminders" in stopped, stopped
    with db.unit_of_work(database_url) as s:
        assert s.scalar(sa.select(Client.reminder_leads).where(Client.id == client.id)) == ""
    db.dispose_all()


async def test_an_unlinked_chat_is_asked_for_a_clinic_code(rasa_server):
    texts = " ".join(bot_texts(rasa_server.send("tg-880012", "when is my next appointment?")))
    assert "Ask your clinic for a code" in texts, texts
