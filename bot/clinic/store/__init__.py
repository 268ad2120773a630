"""The clinic's records: SQLAlchemy models, sessions, migrations and service functions.

Importing this package does no work: engines are built on demand from a URL (see ``db``).
"""
