"""Migrations build the same schema as the models, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.clinic.store import db
from bot.clinic.store.models import Base


def _diffs(url: str) -> list:
    """Alembic's differences between the database at ``url`` and the models."""
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    # Rasa's tracker store table lives here too but is not ours.
                    "include_name": lambda name, type_, parent: (
                        not (type_ == "table" and name in ("events", "alembic_version"))
                    ),
                },
            )
            return compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()


def test_a_migrated_database_matches_the_models(url):
    assert _diffs(url) == []


def test_create_all_and_migrations_give_the_same_tables(url, tmp_path):
    engine = db.make_engine(url)
    with engine.connect() as conn:
        migrated = {
            t: {c["name"] for c in sa.inspect(conn).get_columns(t)}
            for t in sa.inspect(conn).get_table_names()
            # Rasa's tracker store keeps its "events" table in the same database: a Rasa
            # server another test file started on this session's PostgreSQL leaves it there
            if t not in ("alembic_version", "events")
        }
    engine.dispose()
    other = f"sqlite:///{tmp_path / 'created.db'}"
    engine = db.make_engine(other)
    Base.metadata.create_all(engine)
    with engine.connect() as conn:
        created = {
            t: {c["name"] for c in sa.inspect(conn).get_columns(t)}
            for t in sa.inspect(conn).get_table_names()
        }
    engine.dispose()
    assert migrated == created
    assert _diffs(other) == []


def test_upgrade_is_idempotent_and_records_head(url):
    db.migrate(url)
    engine = db.make_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == (
            db.HEAD_REVISION
        )
    engine.dispose()


def test_0002_upgrades_a_0001_database_keeping_its_reminders_and_downgrades(tmp_path):
    from alembic import command

    url = f"sqlite:///{tmp_path / 'old.db'}"
    db.migrate(url, "0001")
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO clients (id, public_id, display_name, timezone, status, created_at, "
            "updated_at) VALUES (1, 'C-AAAAAA', 'Sam', 'UTC', 'active', '2026-01-01', '2026-01-01')"
        )
        conn.exec_driver_sql(
            "INSERT INTO appointments (id, client_id, starts_at, duration_minutes, status, "
            "created_at, updated_at) VALUES (1, 1, '2026-02-01', 50, 'booked', '2026-01-01', "
            "'2026-01-01')"
        )
        conn.exec_driver_sql(
            "INSERT INTO reminders (client_id, appointment_id, lead_minutes, due_at, status, "
            "attempts, created_at) VALUES (1, 1, 60, '2026-01-31 23:00', 'pending', 0, '2026-01-01')"
        )
    db.migrate(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT status, reason FROM reminders").all() == [
            ("pending", None)
        ]
        assert conn.exec_driver_sql("SELECT count(*) FROM web_outbox").scalar() == 0
    command.downgrade(db.alembic_config(url), "0001")
    with engine.connect() as conn:
        assert not sa.inspect(conn).has_table("web_outbox")
        assert conn.exec_driver_sql("SELECT count(*) FROM reminders").scalar() == 1
    engine.dispose()
    db.dispose_all()


def test_the_head_constant_matches_the_migration_scripts():
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(db.alembic_config()).get_current_head() == db.HEAD_REVISION


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    engine = db.make_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.SQLITE_BUSY_MS
    engine.dispose()


def test_relative_sqlite_urls_resolve_to_the_repository(monkeypatch):
    monkeypatch.delenv(db.ENV_VAR, raising=False)
    assert db.database_url() == f"sqlite:///{db.REPO_ROOT / 'var' / 'ipt.db'}"
    monkeypatch.setenv(db.ENV_VAR, "postgres://u@h/d")
    assert db.database_url() == "postgresql://u@h/d"
