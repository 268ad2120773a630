"""Run our web server: ``python -m bot.web``."""

from bot.web.server import main

raise SystemExit(main())
