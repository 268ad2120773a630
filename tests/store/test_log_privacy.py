"""No health data in logs when the database fails (issue 19).

SQLAlchemy puts a failed statement's bound parameters (the check-in note or homework text a
client wrote) into the exception's text unless the engine hides them; our handlers log those
exceptions. Each error path is provoked for real, then the exception and the captured log
are searched for the text.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from bot.clinic.store import db, services
from bot.clinic.store.models import CheckIn

NOTE = "My sister Quenby {} shouted at me again"


def _client_id(url: str) -> int:
    with db.unit_of_work(url) as s:
        client, _ = services.create_client(s, "Log Test", "UTC")
        s.flush()
        return client.id


def _insert(conn, client_id: int, note: str) -> None:
    conn.execute(sa.insert(CheckIn).values(
        client_id=client_id, mood=3, note=note, created_at=datetime.now(timezone.utc)))


def _assert_hidden(exc: BaseException, note: str, caplog) -> None:
    logging.getLogger("bot.test").error("write failed", exc_info=exc)
    assert note not in str(exc)
    assert note not in caplog.text
    assert "hidden due to hide_parameters" in str(exc) or "[SQL:" not in str(exc)


def test_every_engine_we_build_hides_parameters(tmp_path):
    url = f"sqlite:///{tmp_path / 'ipt.db'}"
    assert db.make_engine(url).hide_parameters
    assert db.sqlite_engine(url, write_lock=False).hide_parameters
    assert db.make_engine("postgresql://u@127.0.0.1:1/x").hide_parameters


def test_a_locked_database_logs_no_text(tmp_path, monkeypatch, caplog):
    path = tmp_path / "ipt.db"
    url = f"sqlite:///{path}"
    db.migrate(url)
    client_id = _client_id(url)
    monkeypatch.setattr(db, "SQLITE_BUSY_MS", 50)
    engine = db.sqlite_engine(url, write_lock=False)  # the statement itself meets the lock
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    note = NOTE.format(secrets.token_hex(4))
    try:
        with caplog.at_level(logging.DEBUG), engine.connect() as conn:
            with pytest.raises(sa.exc.OperationalError) as info:
                _insert(conn, client_id, note)
            assert "locked" in str(info.value)
            _assert_hidden(info.value, note, caplog)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        engine.dispose()
        db.dispose_all()


@pytest.mark.postgres
def test_a_connection_lost_mid_write_logs_no_text(pg_url, caplog):
    from tests.store import dbutil

    dbutil.truncate_all(pg_url)
    client_id = _client_id(pg_url)
    note = NOTE.format(secrets.token_hex(4))
    engine = db.make_engine(pg_url)
    killer = db.make_engine(pg_url)
    try:
        with caplog.at_level(logging.DEBUG), engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with killer.connect() as k:
                k.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            with pytest.raises(sa.exc.DBAPIError) as info:
                _insert(conn, client_id, note)
            _assert_hidden(info.value, note, caplog)
    finally:
        engine.dispose()
        killer.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_tracker_store_engines_hide_parameters(backend, tmp_path, monkeypatch):
    import contextlib

    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import EndpointConfig

    from tests.store import dbutil

    with contextlib.ExitStack() as stack:
        # its own PostgreSQL database: the tracker store adds Rasa's events table
        url = (f"sqlite:///{tmp_path / 'ipt.db'}" if backend == "sqlite"
               else stack.enter_context(dbutil.throwaway_pg_database("ipt_logs")))
        monkeypatch.setenv(db.ENV_VAR, url)
        db.migrate(url)
        store = TrackerStore.create(EndpointConfig(type="bot.rasa_ext.tracker_store.IPTTrackerStore"),
                                    domain=Domain.from_yaml("version: '3.1'\nintents: [greet]\n"))
        store = getattr(store, "_tracker_store", store)
        assert store.engine.hide_parameters
        if store._read_sessions is not None:
            assert store._read_sessions.kw["bind"].hide_parameters
        store.engine.dispose()
