"""Run the Telegram service: ``python -m bot.services.telegram`` (settings: docs/telegram.md)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from telegram.error import InvalidToken

from bot.services.telegram.config import ConfigError, TelegramConfig

log = logging.getLogger("bot.services.telegram")


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")


async def _run(config: TelegramConfig) -> None:
    from bot.services.telegram.app import serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(config, stop)


def main() -> int:
    """Start the service, or say clearly why it is off."""
    _setup_logging()
    # Opt in to python-telegram-bot's coming timedelta periods (we handle both), which
    # silences its deprecation warning on every flood-control answer.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    try:
        config = TelegramConfig.from_env()
    except ConfigError as exc:
        log.error("Telegram is off: %s", exc)
        return 2
    if config is None:
        log.info("Telegram is off: TELEGRAM_BOT_TOKEN is not set")
        return 0
    try:
        asyncio.run(_run(config))
    except InvalidToken:
        log.error("Telegram is off: Telegram rejected TELEGRAM_BOT_TOKEN (check it with BotFather)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
