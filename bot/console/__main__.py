"""``python -m bot.console``: the staff console (bot/console/server.py)."""

from bot.console.server import main

raise SystemExit(main())
