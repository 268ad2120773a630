"""Checks run by `make setup` before anything starts: fail early with one clear line."""

from __future__ import annotations

import sys


def main() -> int:
    if sys.version_info[:2] != (3, 10):
        print(f"error: Python 3.10 is required, this is {sys.version.split()[0]}", file=sys.stderr)
        return 1
    from bot import settings

    (settings.VAR).mkdir(parents=True, exist_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
