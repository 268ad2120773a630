"""Database files are private to the account that runs the assistant (issue 19)."""

from __future__ import annotations

import os
import stat

import sqlalchemy as sa

from bot.clinic.store import db


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_sqlite_database_and_its_wal_are_0600(tmp_path):
    old = os.umask(0o022)  # a usual umask: files would be world-readable
    try:
        path = tmp_path / "ipt.db"
        url = f"sqlite:///{path}"
        db.migrate(url)
        engine = db.get_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE IF NOT EXISTS t (x TEXT)"))
            conn.execute(sa.text("INSERT INTO t VALUES ('a')"))
        for name in ("ipt.db", "ipt.db-wal", "ipt.db-shm"):
            if (tmp_path / name).exists():
                assert _mode(tmp_path / name) == 0o600, name
        assert (tmp_path / "ipt.db-wal").exists()
        # the tracker store's engines go through the same builder
        other = tmp_path / "tracker.db"
        reader = db.sqlite_engine(f"sqlite:///{other}", write_lock=False)
        with reader.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        assert _mode(other) == 0o600
        reader.dispose()
    finally:
        os.umask(old)
        db.dispose_all()


def test_an_existing_world_readable_database_is_made_private(tmp_path):
    path = tmp_path / "ipt.db"
    path.touch()
    path.chmod(0o644)
    engine = db.sqlite_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    engine.dispose()
    assert _mode(path) == 0o600
