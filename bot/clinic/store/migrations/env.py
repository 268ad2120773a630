"""Alembic environment, configured in code by ``bot.clinic.store.db.alembic_config``."""

from __future__ import annotations

from alembic import context

from bot.clinic.store.db import PG_MIGRATION_LOCK, is_sqlite, make_engine
from bot.clinic.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run the migrations on a connection to the configured URL."""
    url = config.attributes["url"]
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            if not is_sqlite(url):
                # Two processes starting at once must not both create the tables.
                connection.exec_driver_sql(f"SELECT pg_advisory_lock({PG_MIGRATION_LOCK})")
                connection.commit()
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copes
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            if not is_sqlite(url):
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})")
                connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `ipt-admin db upgrade`")
run_migrations_online()
