"""Run the reminder worker until SIGTERM or Ctrl-C.

usage: python -m bot.services.worker [--poll SECONDS] [--batch N] [--concurrency N] [--hold SECONDS]

Reads IPT_DATABASE_URL, RASA_URL and RASA_TOKEN (or var/secrets/rasa_token) and, when set,
TELEGRAM_BOT_TOKEN (and TELEGRAM_API_BASE_URL). Without Telegram, reminders for Telegram
chats wait (and are marked missed when their session starts); web ones still go out.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from datetime import timedelta

from bot import settings
from bot.clinic.store import db
from bot.services.worker.delivery import Deliverer, RasaTrigger
from bot.services.worker.loop import Worker, WorkerSettings, default_jobs

log = logging.getLogger("bot.services.worker")


async def serve(args: argparse.Namespace) -> None:
    """Build the worker from the environment and run it until a stop signal."""
    from telegram.error import TelegramError

    from bot.services.telegram.app import quiet_http_logs
    from bot.services.telegram.config import TelegramConfig
    from bot.services.telegram.delivery import make_bot

    quiet_http_logs()
    db.ensure_migrated()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    telegram = TelegramConfig.from_env()
    bot = make_bot(telegram) if telegram else None
    if bot is None:
        log.warning("Telegram is off: reminders to Telegram chats wait until it is configured")
    async with RasaTrigger(settings.rasa_url(), settings.rasa_token(), args.rasa_timeout) as rasa:
        worker = Worker(
            Deliverer(rasa, bot),
            settings=WorkerSettings(
                batch=args.batch,
                hold=timedelta(seconds=args.hold),
                poll_seconds=args.poll,
                concurrency=args.concurrency,
                retry_after=timedelta(seconds=args.retry),
            ),
        )
        for name, every, fn in default_jobs():
            worker.add_job(name, every, fn)
        log.warning("reminder worker running (poll every %.1f s)", args.poll)
        try:
            await worker.run(stop)
        finally:
            if bot is not None:
                try:
                    await bot.shutdown()
                except TelegramError as exc:  # shutting down: nothing more to do
                    log.warning("Telegram shutdown failed (%s)", type(exc).__name__)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, set up logging, run."""
    parser = argparse.ArgumentParser(prog="python -m bot.services.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between scans")
    parser.add_argument("--batch", type=int, default=100, help="reminders claimed at once")
    parser.add_argument("--concurrency", type=int, default=8, help="deliveries at once")
    parser.add_argument("--hold", type=float, default=120.0,
                        help="seconds a claim lasts (a crashed worker's claims run out then)")
    parser.add_argument("--retry", type=float, default=60.0,
                        help="seconds before a failed delivery is tried again")
    parser.add_argument("--rasa-timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    if args.batch < 1 or args.concurrency < 1 or args.poll <= 0 or args.hold <= 0:
        parser.error("--batch, --concurrency, --poll and --hold must be positive")
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
