"""Run our web server: ``python -m bot.services.web``."""

from bot.services.web.server import main

raise SystemExit(main())
