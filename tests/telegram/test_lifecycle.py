"""Starting and stopping: an unreachable Telegram is retried, a wrong token stops clearly."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import replace

import pytest

from bot.telegram.app import serve
from tests.helpers import REPO, free_port

pytestmark = pytest.mark.anyio


async def test_an_unreachable_telegram_is_retried_until_stopped(config, caplog):
    config = replace(config, api_base_url=f"http://127.0.0.1:{free_port()}/bot")
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, stop))
    await asyncio.sleep(1.5)
    assert not task.done()  # still trying, not crashed
    stop.set()
    await asyncio.wait_for(task, 10)
    assert any("Telegram is not reachable" in r.getMessage() for r in caplog.records)


async def test_a_token_telegram_rejects_stops_the_service_with_a_clear_line(telegram, rasa):
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "999:wrong",
        "TELEGRAM_API_BASE_URL": telegram.url,
        "RASA_URL": rasa.url,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.telegram",
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    assert b"Telegram rejected TELEGRAM_BOT_TOKEN" in err
    assert b"999:wrong" not in err
