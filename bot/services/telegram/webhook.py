"""A small aiohttp server that receives Telegram's webhook calls and checks their secret.

python-telegram-bot's own ``run_webhook`` needs tornado (the ``webhooks`` extra); aiohttp is
already installed and this is the pattern of its "custom webhook" example.
"""

from __future__ import annotations

import hmac
import logging

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.services.telegram.journal import UpdateJournal
from bot.services.telegram.polling import process

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_app(
    application: Application, updates: UpdateJournal, path: str, secret: str
) -> web.Application:
    """The aiohttp app: POST ``path`` with the right secret answers the update; GET /health.

    The 200 goes back only once the update is answered: a service killed on the way gives
    no 200, Telegram sends the update again, and the journal makes it answered once.
    """

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("rejected a webhook request without the right secret token")
            return web.Response(status=403)
        try:
            data = await request.json()
            update = Update.de_json(data, application.bot)
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400)
        if update is None:
            return web.Response(status=400)
        await process(application, updates, update)
        return web.Response()

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    web_app = web.Application(client_max_size=1024 * 1024)
    web_app.router.add_post(path, receive)
    web_app.router.add_get("/health", health)
    return web_app


async def start_webhook_server(
    application: Application, updates: UpdateJournal, listen: str, port: int, path: str,
    secret: str,
) -> web.AppRunner:
    """Start the webhook server; call ``cleanup()`` on the returned runner to stop it."""
    runner = web.AppRunner(webhook_app(application, updates, path, secret), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, listen, port).start()
    return runner
