"""Starting and stopping: an unreachable Telegram is retried, a wrong token stops clearly."""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import replace

import pytest

from bot.services.telegram.app import serve
from bot.services.telegram.delivery import make_bot, send_replies
from bot.services.telegram.render import CallbackData
from tests.helpers import EDGE_PYTHON, REPO, free_port
from tests.telegram.fakes import TOKEN, FakeBotAPI, FakeRasa, message_update

pytestmark = pytest.mark.anyio


async def _start_service(
    token: str, telegram: FakeBotAPI, rasa: FakeRasa, journal_url: str
) -> asyncio.subprocess.Process:
    """Start ``python -m bot.services.telegram`` with ``token``, the fake Bot API and the fake Rasa."""
    env = {
        **os.environ,
        "IPT_DATABASE_URL": journal_url,
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_API_BASE_URL": telegram.url,
        "RASA_URL": rasa.url,
    }
    return await asyncio.create_subprocess_exec(
        EDGE_PYTHON,  # the edge environment, as the launcher starts it
        "-m",
        "bot.services.telegram",
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_an_unreachable_telegram_is_retried_until_stopped(config, caplog):
    config = replace(config, api_base_url=f"http://127.0.0.1:{free_port()}/bot")
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, stop))
    await asyncio.sleep(1.5)
    assert not task.done()  # still trying, not crashed
    stop.set()
    await asyncio.wait_for(task, 10)
    assert any("Telegram is not reachable" in r.getMessage() for r in caplog.records)


async def test_a_token_telegram_rejects_stops_the_service_with_a_clear_line(
    telegram, rasa, journal_url
):
    proc = await _start_service("999:wrong", telegram, rasa, journal_url)
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    assert b"Telegram rejected TELEGRAM_BOT_TOKEN" in err
    assert b"999:wrong" not in err


async def test_the_service_process_answers_and_stops_cleanly_on_sigterm(
    telegram, rasa, journal_url
):
    proc = await _start_service(TOKEN, telegram, rasa, journal_url)
    try:
        telegram.push(message_update(5, "hello"))
        await telegram.wait_for(lambda: telegram.sent(5), timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    assert telegram.texts(5) == ["You said: hello"]
    assert b"Telegram is on: long polling" in err
    assert b"hello" not in err and TOKEN.encode() not in err


async def test_make_bot_sends_replies_outside_the_application(config, telegram):
    telegram.fail_once["sendMessage"] = 1
    async with make_bot(config) as bot:
        sent = await send_replies(bot, 8, [{"text": "Your session is tomorrow."}], CallbackData())
    assert [m.text for m in sent] == ["Your session is tomorrow."]
    assert telegram.texts(8) == ["Your session is tomorrow.", "Your session is tomorrow."]
