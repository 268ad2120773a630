"""Faults in the scaled topology: PostgreSQL restarted, Redis restarted, a Rasa server killed.

Load comes from scripts/load.py (REST through nginx, questions, check-ins and homework of
enrolled clients) while the fault happens; the checks look at the database, the health
route and the logs, not only at the bot's words.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import threading
import time

import pytest
import requests
import sqlalchemy as sa

from bot.clinic.store import db, services
from bot.clinic.store.models import HomeworkEntry
from scripts import load

pytestmark = [pytest.mark.e2e, pytest.mark.scaling]


def _start_load(scaled, concurrency: int, seconds: float) -> tuple[threading.Thread, list]:
    """scripts/load.py in a thread: ``concurrency`` REST conversations for ``seconds``."""
    args = load.parse_args(["--rest", scaled.rest, f"--rest-token={scaled.rest_token}",
                            "--duration", str(seconds), "--warmup", "0",
                            "--database-url", scaled.database_url, "--seed",
                            str(secrets.randbelow(10_000))])
    out: list = []
    thread = threading.Thread(target=lambda: out.append(asyncio.run(
        load.run_level(args, concurrency))), daemon=True)
    thread.start()
    return thread, out


def _linked_sender(url: str) -> str:
    sender = f"fault-{secrets.token_hex(5)}"
    with db.unit_of_work(url) as s:
        client, _ = services.create_client(s, "Kim Fault", "UTC")
        services.link_channel(s, client, "rest", sender)
    return sender


def _said(replies: list[dict]) -> str:
    return " ".join(" ".join(r.get("text", "") for r in replies).split())


def _wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def _homework_in_db(url: str) -> set[tuple[str, str]]:
    with db.unit_of_work(url) as s:
        return {(e.sender_id, e.what_done) for e in s.scalars(sa.select(HomeworkEntry))}


def _log_homework(scaled, sender: str, what: str) -> str:
    for text in ["I did my homework", what, "It went fine", "6", "/skip"]:
        scaled.send(sender, text)
    return _said(scaled.send(sender, "yes"))


def test_postgres_restart_loses_no_confirmed_homework_and_is_reported(scaled):
    unavailable = load.response_start("utter_records_unavailable")
    saved = load.response_start(load.SAVED_HOMEWORK)
    enrolled = _linked_sender(scaled.database_url)
    rasa_pids = {k: v for k, v in scaled.topology["pids"].items() if k.startswith("rasa-")}
    thread, out = _start_load(scaled, concurrency=4, seconds=24)
    time.sleep(6)

    scaled.pg.stop()
    try:
        # The enrolled features answer "try again shortly", not "you are not linked".
        assert unavailable in _said(scaled.send(enrolled, "I did my homework"))
        # A question is still answered (Rasa goes on with a conversation in memory)...
        assert _said(scaled.send(f"fault-q-{secrets.token_hex(4)}", "what is ipt"))
        # ...and the failed tracker writes are reported, not swallowed.
        statuses = [scaled.health(u) for u in scaled.rasa_urls()]
        assert all(code == 503 for code, _ in statuses), statuses
        assert all(body["tracker_store"]["database"] == "unreachable" for _, body in statuses)
        assert sum(body["tracker_store"]["failures"] for _, body in statuses) > 0
        assert requests.get(f"{scaled.web}/health", timeout=10).status_code == 503
        time.sleep(3)
    finally:
        scaled.pg.start()

    thread.join(120)
    [result] = out
    # Questions answered throughout: no HTTP error, no empty answer.
    assert result["errors"] == 0, result["error_kinds"]
    assert result["empty"] == 0
    assert result["confirmed_homework"] > 0
    # No homework entry the assistant confirmed is missing from the database.
    stored = _homework_in_db(scaled.database_url)
    confirmed = {(c["sender"], c["what_done"]) for c in result["confirmed"]}
    assert confirmed <= stored, confirmed - stored

    # Recovered without a restart: healthy again, the same processes, homework saves again.
    for url in scaled.rasa_urls():
        _wait_for(lambda u=url: scaled.health(u)[0] == 200, 30, f"{url} healthy again")
    assert {k: v for k, v in scaled.topology["pids"].items() if k.startswith("rasa-")} \
        == rasa_pids
    # Fixed words the crisis detector reads as everyday talk (a random suffix made some
    # versions of "phoned my brother after the outage" faint safety checks: docs/safety.md).
    what = "Had lunch with my sister after the outage"
    assert saved in _log_homework(scaled, enrolled, what)
    assert (enrolled, what) in _homework_in_db(scaled.database_url)
    # One log line per outage, without what anyone wrote.
    output = scaled.output()
    assert "tracker store: " in output and "failed (OperationalError)" in output
    assert "answers again" in output
    assert not any(c["what_done"] in output for c in result["confirmed"])


def test_redis_restart_processes_no_message_twice(scaled):
    thread, out = _start_load(scaled, concurrency=6, seconds=14)
    time.sleep(5)
    scaled.redis.restart(down_for=1.5)
    thread.join(120)
    [result] = out
    assert result["errors"] == 0, result["error_kinds"]
    assert result["messages"] > 0
    waited = sum(scaled.health(u)[1]["lock_store"]["outages"] for u in scaled.rasa_urls())
    assert waited > 0  # messages did arrive while Redis was down, and waited
    # Every user message of the load run is in the conversation store exactly once.
    with db.get_engine(scaled.database_url).connect() as conn:
        total = conn.execute(sa.text(
            "SELECT count(*) FROM events WHERE type_name = 'user' AND sender_id LIKE :p"),
            {"p": "load-%"}).scalar()
        rows = conn.execute(sa.text(
            "SELECT sender_id, data::json->>'text', count(*) FROM events "
            "WHERE type_name = 'user' AND sender_id LIKE :p "
            "GROUP BY 1, 2 HAVING count(*) > 1"), {"p": "load-%"}).fetchall()
    assert total >= result["messages"]
    assert rows == []
    # Conversations go on after the restart.
    assert _said(scaled.send(f"fault-r-{secrets.token_hex(4)}", "what are the phases"))


def test_a_killed_rasa_server_leaves_traffic_to_the_other(scaled):
    victim = scaled.topology["pids"]["rasa-1"]
    # A widget conversation over socket.io through our web server and nginx (sticky).
    talker_out: dict = {}

    async def widget() -> None:
        import aiohttp

        async with aiohttp.ClientSession() as http:
            talker = load.SocketIOTalker(http, scaled.web, "127.0.9.7", quiet=0.3)
            await talker.open()
            await talker.new_conversation()
            talker_out["before"] = await talker.say("what is ipt")
            os.kill(victim, signal.SIGKILL)
            await asyncio.sleep(1)
            # Whichever server held the socket, the widget's next message is answered
            # (it reconnects and asks for its session again when its server died).
            for _ in range(20):
                try:
                    talker_out["after"] = await talker.say("what are the phases")
                    break
                except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - reconnecting
                    await asyncio.sleep(0.5)
            await talker.close()

    asyncio.run(widget())
    assert talker_out["before"] and talker_out.get("after")
    thread, out = _start_load(scaled, concurrency=4, seconds=8)
    thread.join(60)
    [result] = out
    assert result["errors"] == 0, result["error_kinds"]
    assert result["messages"] > 0
    assert "rasa-1 stopped" in scaled.output()
