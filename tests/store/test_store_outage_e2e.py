"""The conversation store away: the person is told, crisis replies first and unchanged.

A real Rasa server (``bot.launch.rasa_server``, our tracker store) on its own PostgreSQL database;
the database is taken away mid-form by refusing connections to it, then given back.
"""

from __future__ import annotations

import secrets
import sys

import psycopg2
import pytest
import sqlalchemy as sa

from bot.rasa_ext.tracker_store import UNSAVED_NOTICE
from tests.conftest import RasaServer
from tests.helpers import MODEL, REPO, bot_texts, endpoints_yml, free_port, start, stop, wait_http
from tests.store import dbutil

pytestmark = pytest.mark.postgres


def _allow_connections(url: str, allowed: bool) -> None:
    name = sa.engine.make_url(url).database
    conn = psycopg2.connect(dbutil.PG_ADMIN, connect_timeout=5)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
    conn.close()


@pytest.fixture(scope="module")
def store_url():
    with dbutil.throwaway_pg_database("ipt_outage", migrate=True) as url:
        yield url
        _allow_connections(url, True)  # so it can be dropped


@pytest.fixture(scope="module")
def rasa_on_pg(store_url, action_server, server_env, rest_tokens, tmp_path_factory):
    work = tmp_path_factory.mktemp("outage")
    port = free_port()
    endpoints = work / "endpoints.yml"
    endpoints.write_text(endpoints_yml(action_server, tracker_store=True))
    proc = start(
        [sys.executable, "-m", "bot.launch.rasa_server", "run", "-m", str(MODEL), "-i", "127.0.0.1",
         "-p", str(port), "--endpoints", str(endpoints),
         "--credentials", str(REPO / "credentials.yml")],
        work / "rasa.log", env={**server_env, "IPT_DATABASE_URL": store_url},
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/", timeout=180, proc=proc)
        yield RasaServer(f"http://127.0.0.1:{port}", "", rest_tokens["IPT_REST_TOKEN"],
                         rest_tokens["IPT_TELEGRAM_RELAY_TOKEN"], proc.pid)
    finally:
        stop(proc)


def _events(url: str, sender: str) -> list[str]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT type_name FROM events WHERE sender_id = :s"),
                            {"s": sender}).scalars().all()
    engine.dispose()
    return list(rows)


def test_the_store_away_mid_form_is_said_after_the_replies_and_crisis_replies_come_first(
    rasa_on_pg, store_url
):
    sender = f"rest-{secrets.token_hex(6)}"
    before = rasa_on_pg.send(sender, "I want to check in")
    assert before and UNSAVED_NOTICE not in bot_texts(before)
    saved = len(_events(store_url, sender))
    assert saved > 0
    crisis_up = bot_texts(rasa_on_pg.send(f"rest-{secrets.token_hex(6)}",
                                          "I want to kill myself"))
    _allow_connections(store_url, False)
    try:
        mid_form = bot_texts(rasa_on_pg.send(sender, "4"))
        assert mid_form[-1] == UNSAVED_NOTICE  # told, after whatever the bot could answer
        assert mid_form.count(UNSAVED_NOTICE) == 1
        crisis_down = bot_texts(rasa_on_pg.send(f"rest-{secrets.token_hex(6)}",
                                                "I want to kill myself"))
        assert crisis_down[:-1] == crisis_up  # the crisis reply first, word for word
        assert crisis_down[-1] == UNSAVED_NOTICE
    finally:
        _allow_connections(store_url, True)
    after = bot_texts(rasa_on_pg.send(sender, "hello"))
    assert UNSAVED_NOTICE not in after
    # what was saved before the outage is all there, and the store writes again
    assert len(_events(store_url, sender)) > saved
