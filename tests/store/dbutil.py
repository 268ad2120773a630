"""Throwaway databases for the store tests: SQLite files and PostgreSQL databases."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from bot.clinic.store import db
from bot.clinic.store.models import Base

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def pg_available() -> bool:
    """Whether the PostgreSQL server on 127.0.0.1:5432 answers."""
    import psycopg2

    try:
        psycopg2.connect(PG_ADMIN, connect_timeout=3).close()
        return True
    except psycopg2.OperationalError:
        return False


def create_pg_database(prefix: str = "ipt_test") -> str:
    """Create an empty PostgreSQL database with a random name; returns its URL."""
    import psycopg2

    name = f"{prefix}_{secrets.token_hex(6)}"
    conn = psycopg2.connect(PG_ADMIN, connect_timeout=5)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def drop_pg_database(url: str) -> None:
    """Drop a database made by ``create_pg_database`` (closing its connections first)."""
    import psycopg2

    name = sa.engine.make_url(url).database
    conn = psycopg2.connect(PG_ADMIN, connect_timeout=5)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@contextmanager
def throwaway_pg_database(prefix: str = "ipt_test", migrate: bool = False) -> Iterator[str]:
    """A new PostgreSQL database for a fixture, dropped afterwards; skips without a server."""
    import pytest

    if not pg_available():
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
    url = create_pg_database(prefix)
    try:
        if migrate:
            db.migrate(url)
        yield url
    finally:
        db.dispose_all()
        drop_pg_database(url)


def truncate_all(url: str) -> None:
    """Empty every table of ours (and Rasa's events table, if present)."""
    engine = db.get_engine(url)
    names = [t.name for t in Base.metadata.sorted_tables]
    with engine.begin() as conn:
        if sa.inspect(conn).has_table("events"):
            names.append("events")
        conn.exec_driver_sql(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")
