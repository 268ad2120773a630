"""Fixtures: every store test runs on a fresh SQLite file and on PostgreSQL."""

from __future__ import annotations

import pytest

from bot.store import db
from tests.store import dbutil


@pytest.fixture(scope="session")
def pg_url():
    """A PostgreSQL database for this test session, migrated, dropped at the end."""
    if not dbutil.pg_available():
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
    url = dbutil.create_pg_database()
    try:
        db.migrate(url)
        yield url
    finally:
        db.dispose_all()
        dbutil.drop_pg_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    """A migrated, empty database: a new SQLite file, or the session's PostgreSQL emptied."""
    if request.param == "sqlite":
        u = f"sqlite:///{tmp_path / 'ipt.db'}"
        db.migrate(u)
        yield u
    else:
        u = request.getfixturevalue("pg_url")
        dbutil.truncate_all(u)
        yield u
