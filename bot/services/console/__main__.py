"""``python -m bot.services.console``: the staff console (bot/services/console/server.py)."""

from bot.services.console.server import main

raise SystemExit(main())
