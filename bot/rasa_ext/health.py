"""Health of one Rasa server beyond "it answers": its tracker store and its lock store.

credentials.yml::

    bot.rasa_ext.health.HealthInput:

adds ``GET /webhooks/ipt_health/`` to the Rasa server: 200 and ``"status": "ok"`` when the
conversation database answers now and the latest tracker read or write succeeded, else 503
and ``"status": "degraded"``, with the counts of failed tracker reads and writes since the
server started (Rasa keeps answering from memory while the database is down, see
:mod:`bot.rasa_ext.tracker_store`). Our web server's ``/health`` includes it. It is a channel only
because that is how Rasa lets a project add a route; it takes no messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.rasa_ext.tracker_store import HEALTH, IPTTrackerStore


def _primary(store: Any) -> Any:
    """The tracker store inside Rasa's FailSafeTrackerStore wrapper."""
    return getattr(store, "_tracker_store", store)


async def report(agent: Any) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) for this server's health."""
    tracker = HEALTH.snapshot()
    store = _primary(getattr(agent, "tracker_store", None))
    if isinstance(store, IPTTrackerStore):
        loop = asyncio.get_running_loop()
        tracker["database"] = "ok" if await loop.run_in_executor(None, store.ping) \
            else "unreachable"
    lock_store = getattr(agent, "lock_store", None)
    body: dict[str, Any] = {
        "tracker_store": tracker,
        "lock_store": {"type": type(lock_store).__name__,
                       "outages": getattr(lock_store, "outages", 0)},
    }
    ok = tracker["status"] == "ok" and tracker.get("database", "ok") == "ok"
    body["status"] = "ok" if ok else "degraded"
    return (200 if ok else 503), body


class HealthInput(InputChannel):
    """Adds the health route to the Rasa server (not a messaging channel)."""

    @classmethod
    def name(cls) -> str:
        return "ipt_health"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        bp = Blueprint("ipt_health", __name__)

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            status, body = await report(request.app.ctx.agent)
            return response.json(body, status=status)

        return bp
