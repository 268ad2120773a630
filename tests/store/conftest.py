"""Store tests use the `url` fixture from tests/conftest.py: SQLite and PostgreSQL."""
