"""Engines, sessions and migrations, built on demand from a database URL (never at import).

The URL comes from ``IPT_DATABASE_URL``; the default is the SQLite file ``var/ipt.db`` under
the repository root. SQLite connections get WAL, foreign keys and a busy timeout, and every
transaction starts with ``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

REPO_ROOT = Path(__file__).resolve().parents[3]
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DEFAULT_URL = "sqlite:///var/ipt.db"
ENV_VAR = "IPT_DATABASE_URL"
# The newest migration; checked against Alembic's scripts by a test. Lets a process skip
# importing Alembic (half a second) when the database is already current.
HEAD_REVISION = "0007"
SQLITE_BUSY_MS = 15000
# Serialises PostgreSQL migrations run by several processes starting together.
PG_MIGRATION_LOCK = 72_130_917

_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_factories: dict[str, sessionmaker] = {}
_migrated: set[str] = set()
# Alembic keeps its running context in module globals: one migration at a time per process.
_migrate_lock = threading.Lock()


def database_url(url: str | None = None) -> str:
    """The effective URL: ``url``, else the environment, else the default; SQLite paths absolute."""
    raw = url or os.environ.get(ENV_VAR) or DEFAULT_URL
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    parsed = make_url(raw)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if not path.is_absolute():
            # Relative to the repository, not the cwd, so every process finds the same file.
            path = REPO_ROOT / path
        parsed = parsed.set(database=str(path))
        return parsed.render_as_string(hide_password=False)
    return raw


def is_sqlite(url: str) -> bool:
    """Whether ``url`` names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_on_connect(dbapi_conn, _record) -> None:
    """Turn on WAL, foreign keys and a busy timeout; let SQLAlchemy emit BEGIN itself."""
    # pysqlite's own implicit BEGIN is deferred; a deferred reader that later writes fails
    # at once under concurrency, so we switch it off and issue BEGIN IMMEDIATE (see below).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    # FULL: a confirmed homework entry must survive a power cut, not only a crash (WAL's
    # NORMAL would lose the last commits then). Costs one fsync per commit.
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()


def sqlite_on_begin(conn) -> None:
    """Take the write lock at the start of each transaction (short units of work)."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _private_file(database: str | None) -> None:
    """Create the SQLite file 0600 before SQLite does (it would follow the umask), or make an
    existing one of ours 0600; SQLite gives its -wal and -shm files the same mode."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        info = path.stat()
        if info.st_uid == os.geteuid() and info.st_mode & 0o077:
            path.chmod(0o600)
        return
    except FileNotFoundError:  # no such folder: SQLite's own error says so on connect
        return
    os.close(fd)


def sqlite_engine(url: str | sa.engine.URL, *, future: bool = True, write_lock: bool = True,
                  pool_size: int = 5, max_overflow: int = 60) -> Engine:
    """A pooled SQLite engine with this project's pragmas (WAL, busy timeout, FULL sync).

    ``write_lock``: every transaction starts with BEGIN IMMEDIATE (units of work that may
    write); without it statements run outside a transaction, which suits single reads (in
    WAL mode they take no lock and never wait for a writer).
    """
    _private_file(make_url(url).database if isinstance(url, str) else url.database)
    engine = sa.create_engine(
        url,
        future=future,
        poolclass=sa.pool.QueuePool,
        pool_size=pool_size,
        max_overflow=max_overflow,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_MS / 1000},
        # a failed statement's values (what a client wrote) stay out of errors and logs
        hide_parameters=True,
    )
    sa.event.listen(engine, "connect", sqlite_on_connect)
    if write_lock:
        sa.event.listen(engine, "begin", sqlite_on_begin)
    return engine


def make_engine(url: str | None = None) -> Engine:
    """A new engine for ``url`` with this project's connection settings."""
    url = database_url(url)
    if is_sqlite(url):
        db = make_url(url).database
        if db and db != ":memory:" and Path(db).is_relative_to(REPO_ROOT):
            # Zero setup for the default var/ipt.db; elsewhere a missing folder is an error.
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        return sqlite_engine(url)
    return sa.create_engine(
        url,
        future=True,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=60,
        connect_args={"connect_timeout": 5} if url.startswith("postgresql") else {},
        hide_parameters=True,  # a failed statement's values stay out of errors and logs
    )


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (built on first use)."""
    url = database_url(url)
    with _lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]


def session_factory(url: str | None = None) -> sessionmaker:
    """The process-wide ``sessionmaker`` for ``url``."""
    url = database_url(url)
    engine = get_engine(url)
    with _lock:
        if url not in _factories:
            _factories[url] = sessionmaker(bind=engine, future=True, expire_on_commit=False)
        return _factories[url]


@contextmanager
def unit_of_work(url: str | None = None) -> Iterator[Session]:
    """One short transaction: commits on success, rolls back on error."""
    with session_factory(url).begin() as session:
        yield session


def alembic_config(url: str | None = None):
    """An Alembic ``Config`` built in code (no alembic.ini), for ``url``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = database_url(url)
    return cfg


def migrate(url: str | None = None, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` (alembic upgrade)."""
    from alembic import command

    url = database_url(url)
    with _migrate_lock:
        command.upgrade(alembic_config(url), revision)
        if revision == "head":
            _migrated.add(url)


def ensure_migrated(url: str | None = None) -> None:
    """Apply migrations once per process and URL (zero setup for the bot and the CLI)."""
    url = database_url(url)
    if url in _migrated:
        return
    if current_revision(url) == HEAD_REVISION:
        _migrated.add(url)
        return
    migrate(url)


def current_revision(url: str | None = None) -> str | None:
    """The revision recorded in the database, or None for a new database."""
    with get_engine(url).connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def dispose_all() -> None:
    """Close every engine this process opened (tests, shutdown)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _factories.clear()
        _migrated.clear()


def run(fn: Callable, *args, url: str | None = None, **kwargs):
    """``fn(session, *args, **kwargs)`` in one short unit of work on a migrated database."""
    ensure_migrated(url)
    with unit_of_work(url) as session:
        return fn(session, *args, **kwargs)


async def call(fn: Callable, *args, **kwargs):
    """:func:`run` off the event loop: the one way an action reaches the database.

    The action server is asyncio and the store is not; a query run on the event loop would
    hold up every other conversation of that action server.
    """
    return await asyncio.to_thread(run, fn, *args, **kwargs)
