"""The worker as a real process: killed while holding claims, and two of them at once.

The fakes (Bot API, trigger_intent) run in the test's event loop; the workers are
``python -m bot.services.worker`` subprocesses with their real settings from the environment.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

import pytest

from bot.clinic.store.clock import database_now
from tests.helpers import REPO
from tests.telegram.fakes import TOKEN
from tests.worker.fakes import RASA_TOKEN
from tests.worker.seed import seed_due_reminders, statuses

# clock: claims are leases timed by the database's clock (tests/test_any_date.py).
pytestmark = [pytest.mark.anyio, pytest.mark.clock]


async def _start_worker(url, telegram, rasa_trigger, log: Path, *args: str):
    env = {**os.environ, "IPT_DATABASE_URL": url, "RASA_URL": rasa_trigger.url,
           "RASA_TOKEN": RASA_TOKEN, "TELEGRAM_BOT_TOKEN": TOKEN,
           "TELEGRAM_API_BASE_URL": telegram.url, "PYTHONUNBUFFERED": "1"}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.services.worker", "--poll", "0.2", *args,
        cwd=REPO, env=env, stdout=log.open("wb"), stderr=asyncio.subprocess.STDOUT,
    )


async def _until(predicate, timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def _stop(proc) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()


def _per_chat(telegram) -> Counter[int]:
    return Counter(int(c.params["chat_id"]) for c in telegram.sent())


async def test_a_worker_killed_while_holding_claims_loses_none_and_sends_none_twice(
        url, telegram, rasa_trigger, tmp_path):
    chats = seed_due_reminders(url, 20, database_now(url))
    rasa_trigger.answer_first = 5  # then Rasa "hangs": the worker sits on its claims
    first = await _start_worker(url, telegram, rasa_trigger, tmp_path / "w1.log",
                                "--batch", "20", "--concurrency", "4", "--hold", "3")
    try:
        await _until(lambda: statuses(url).get("sent") == 5 and len(rasa_trigger.calls) >= 9,
                     60, "five reminders sent and four more stuck in Rasa")
        first.send_signal(signal.SIGKILL)
        await first.wait()
    finally:
        await _stop(first)
    assert statuses(url) == {"sent": 5, "claimed": 15}  # held by a dead process
    assert len(telegram.sent()) == 5

    rasa_trigger.release()
    second = await _start_worker(url, telegram, rasa_trigger, tmp_path / "w2.log",
                                 "--hold", "3")
    try:
        await _until(lambda: statuses(url).get("sent") == 20, 60, "every reminder sent")
    finally:
        await _stop(second)
    assert statuses(url) == {"sent": 20}
    assert _per_chat(telegram) == Counter({chat: 1 for chat in chats})


@pytest.mark.postgres
async def test_two_workers_on_postgresql_send_each_of_1000_reminders_once(
        pg_url, telegram, rasa_trigger, tmp_path):
    from tests.store import dbutil

    dbutil.truncate_all(pg_url)
    chats = seed_due_reminders(pg_url, 1000, database_now(pg_url))
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    workers = [await _start_worker(pg_url, telegram, rasa_trigger, log,
                                   "--batch", "25", "--concurrency", "8") for log in logs]
    try:
        await _until(lambda: len(telegram.sent()) >= 1000 and statuses(pg_url) == {"sent": 1000},
                     180, "1000 reminders sent")
        await asyncio.sleep(1)  # a duplicate would show up now
    finally:
        for proc in workers:
            await _stop(proc)
    assert _per_chat(telegram) == Counter({chat: 1 for chat in chats})
    # Both workers did part of the work (each logs what it sent per batch).
    for log in logs:
        assert "sent" in log.read_text(), log.read_text()[-2000:]
