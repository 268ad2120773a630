"""No update lost, none answered twice: confirmed to Telegram only after its answer was sent.

The service runs as a real process (``python -m bot.services.telegram``) and is killed with SIGKILL
in the middle of an answer; the fake Bot API keeps what was not confirmed, as Telegram does.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta

import aiohttp
import pytest
import sqlalchemy as sa

from bot.clinic.store import db
from bot.clinic.store.models import utcnow
from bot.services.telegram.webhook import SECRET_HEADER
from tests.helpers import REPO, free_port
from tests.telegram.fakes import TOKEN, FakeBotAPI, FakeRasa, message_update
from tests.telegram.harness import running

pytestmark = pytest.mark.anyio
CHAT = 4242
BOT_ID = int(TOKEN.split(":")[0])


async def _start(telegram: FakeBotAPI, rasa: FakeRasa, journal_url: str):
    env = {**os.environ, "IPT_DATABASE_URL": journal_url, "TELEGRAM_BOT_TOKEN": TOKEN,
           "TELEGRAM_API_BASE_URL": telegram.url, "RASA_URL": rasa.url}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.services.telegram", cwd=REPO, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)


async def _kill(proc) -> None:
    proc.send_signal(signal.SIGKILL)
    await proc.wait()


async def _sigterm(proc) -> None:
    proc.send_signal(signal.SIGTERM)
    await asyncio.wait_for(proc.wait(), 30)


def _journal(journal_url: str) -> list[tuple]:
    engine = db.make_engine(journal_url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT update_id, state, replies, sent FROM telegram_updates").all()
    engine.dispose()
    return [tuple(r) for r in rows]


async def test_a_service_killed_between_two_replies_sends_only_the_rest_after_restart(
    telegram, rasa, journal_url
):
    rasa.script = lambda message: [{"text": "First part."}, {"text": "Second part."}]
    telegram.hold.add("Second part.")
    proc = await _start(telegram, rasa, journal_url)
    try:
        pushed = telegram.push(message_update(CHAT, "how do I prepare?"))
        # the first reply went out; the second is on its way when the service dies
        await telegram.wait_for(lambda: bool(telegram.held), timeout=60)
    finally:
        await _kill(proc)
    assert telegram.texts(CHAT) == ["First part."]
    # Telegram was never told the update is done
    assert all(int(c.params.get("offset") or 0) <= pushed["update_id"]
               for c in telegram.called("getUpdates"))
    telegram.hold.clear()
    proc = await _start(telegram, rasa, journal_url)
    try:
        await telegram.wait_for(lambda: len(telegram.texts(CHAT)) >= 2, timeout=60)
        await asyncio.sleep(1.5)  # time for a wrong second answer to show
    finally:
        await _sigterm(proc)
    assert telegram.texts(CHAT) == ["First part.", "Second part."]
    assert rasa.messages == ["how do I prepare?"]  # Rasa heard it once: replies came from the journal
    assert _journal(journal_url) == [(pushed["update_id"], "answered", None, 2)]
    # confirmed at last: the next poll asks for the updates after it
    assert int(telegram.called("getUpdates")[-1].params["offset"]) == pushed["update_id"] + 1


async def test_a_service_killed_before_rasa_answered_answers_after_restart(
    telegram, rasa, journal_url
):
    rasa.delays["are you there?"] = 30
    proc = await _start(telegram, rasa, journal_url)
    try:
        telegram.push(message_update(CHAT, "are you there?"))
        await telegram.wait_for(lambda: bool(rasa.requests), timeout=60)
    finally:
        await _kill(proc)
    assert telegram.texts(CHAT) == []
    rasa.delays.clear()
    proc = await _start(telegram, rasa, journal_url)
    try:
        await telegram.wait_for(lambda: bool(telegram.texts(CHAT)), timeout=60)
        await asyncio.sleep(1.5)
    finally:
        await _sigterm(proc)
    assert telegram.texts(CHAT) == ["You said: are you there?"]


@pytest.mark.clock  # the journal keeps rows a week from their time, by the clock
async def test_an_update_answered_but_not_yet_confirmed_is_not_answered_again(
    config, telegram, rasa, journal_url
):
    pushed = telegram.push(message_update(CHAT, "hello"))
    db.migrate(journal_url)
    engine = db.make_engine(journal_url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO telegram_updates (bot_id, update_id, state, sent, updated_at) "
            "VALUES (:b, :u, 'answered', 1, :t)"),
            {"b": BOT_ID, "u": pushed["update_id"],
             "t": (utcnow() - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")})
    engine.dispose()
    async with running(config, telegram):
        await telegram.wait_for(lambda: any(
            int(c.params.get("offset") or 0) > pushed["update_id"]
            for c in telegram.called("getUpdates")))
    assert telegram.sent() == [] and rasa.requests == []


async def test_while_an_answer_is_under_way_the_update_is_not_confirmed(config, telegram, rasa):
    rasa.delays["slow"] = 2
    async with running(config, telegram):
        slow = telegram.push(message_update(CHAT, "slow"))
        quick = telegram.push(message_update(CHAT + 1, "quick"))
        await telegram.wait_for(lambda: telegram.texts(CHAT + 1) == ["You said: quick"])
        # the other chat was answered meanwhile, but the slow one holds the offset
        assert telegram.texts(CHAT) == []
        assert all(int(c.params.get("offset") or 0) <= slow["update_id"]
                   for c in telegram.called("getUpdates"))
        await telegram.wait_for(lambda: telegram.texts(CHAT) == ["You said: slow"])
        await telegram.wait_for(lambda: int(telegram.called("getUpdates")[-1].params.get(
            "offset") or 0) == quick["update_id"] + 1)
    polls = telegram.called("getUpdates")
    # no busy loop while waiting on the slow answer: about one poll a second at most
    assert len(polls) < 20


async def test_the_webhook_answers_200_only_after_the_reply_was_sent_and_once(
    config, telegram, rasa
):
    port = free_port()
    secret = "s3cret_token-for-tests"
    rasa.delays["hello"] = 1.0
    changes = {"mode": "webhook", "webhook_url": "https://clinic.example/telegram/hook",
               "webhook_secret": secret, "webhook_listen": "127.0.0.1", "webhook_port": port}
    url = f"http://127.0.0.1:{port}/telegram/hook"
    update = {"update_id": 77, **message_update(CHAT, "hello")}
    async with running(config, telegram, **changes), aiohttp.ClientSession() as http:
        async with http.post(url, json=update, headers={SECRET_HEADER: secret}) as response:
            assert response.status == 200
            # the answer is already at Telegram when Telegram hears "200"
            assert telegram.texts(CHAT) == ["You said: hello"]
        # Telegram sends it again (our 200 was lost on the way): answered once all the same
        async with http.post(url, json=update, headers={SECRET_HEADER: secret}) as response:
            assert response.status == 200
    assert telegram.texts(CHAT) == ["You said: hello"]
    assert rasa.messages == ["hello"]
