"""The clinic's staff web console: accounts, client overview, audit log (docs/console.md)."""
