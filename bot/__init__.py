"""IPT Companion's own package: store, services, channels, worker, settings.

Importing it (or any submodule) does no work: no database engine, no network.
"""
