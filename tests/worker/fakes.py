"""A fake of Rasa's trigger_intent endpoint (the Telegram fake is tests/telegram/fakes.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from tests.loopback import LoopbackServer

RASA_TOKEN = "test-rasa-token"


def reminder_messages(sender: str, appointment_id: str) -> list[dict[str, Any]]:
    """What our domain's utter_session_reminder looks like in Rasa's collector."""
    return [{
        "recipient_id": sender,
        "text": f"A reminder: your next IPT session ({appointment_id}). Will you be able to come?",
        "buttons": [
            {"title": "I'll be there", "payload": "/confirm_attendance"},
            {"title": "I can't make it", "payload": "/cannot_attend"},
        ],
    }]


class FakeRasaTrigger(LoopbackServer):
    """``POST /conversations/<id>/trigger_intent``: token checked, every call recorded.

    ``answer_first = n`` makes every call after the n-th hang until ``release()``: a worker
    killed then is holding claims and has sent nothing for them.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.answer_first: int | None = None
        self.status = 200
        self.silent = False  # answer with no messages (the action had nothing to say)
        self.on_call: Any = None  # called before answering (what changed meanwhile)
        self._released = asyncio.Event()
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/conversations/{sender}/trigger_intent", self._handle)

    async def stop(self) -> None:
        self.release()
        await super().stop()

    def release(self) -> None:
        """Answer normally from now on, the hanging calls included."""
        self.answer_first = None
        self._released.set()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.query.get("token") != RASA_TOKEN:
            return web.json_response({"status": "failure", "code": 401}, status=401)
        body = await request.json()
        sender = request.match_info["sender"]
        self.calls.append((sender, body["name"], body.get("entities") or {}))
        if self.answer_first is not None and len(self.calls) > self.answer_first:
            await self._released.wait()
        if self.on_call is not None:
            self.on_call()
        if self.status != 200:
            return web.json_response({"status": "failure"}, status=self.status)
        messages = [] if self.silent else reminder_messages(
            sender, str(body["entities"].get("appointment_id")))
        return web.json_response({"tracker": None, "messages": messages})
