"""Fakes at the edge of the machine: a Telegram Bot API server and a Rasa REST server.

Both are aiohttp apps on loopback that record every call, so tests assert on what the real
python-telegram-bot client actually sent.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.loopback import LoopbackServer

TOKEN = "123456:TEST-token-for-the-fake-api"
BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "IPT Companion",
    "username": "ipt_companion_test_bot",
}
TRUE_METHODS = {
    "answerCallbackQuery",
    "setMyCommands",
    "deleteWebhook",
    "setWebhook",
    "sendChatAction",
    "deleteMyCommands",
}


@dataclass
class Call:
    """One request the bot made: the Bot API method and its decoded parameters."""

    method: str
    params: dict[str, Any]
    result: Any = None
    at: float = field(default_factory=time.monotonic)


def _decode(value: str) -> Any:
    # python-telegram-bot sends form fields; objects (reply_markup, lists) arrive as JSON.
    try:
        return json.loads(value)
    except ValueError:
        return value


class FakeBotAPI(LoopbackServer):
    """Enough of the Bot API for our service, with a record of every call."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._updates: list[dict[str, Any]] = []
        self._new_update = asyncio.Event()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self.fail_once: dict[str, int] = {}  # method -> retry_after seconds for one 429
        self.drop_once: set[str] = set()  # methods whose next call loses its connection
        self.bad_photo_urls: set[str] = set()  # photos Telegram "cannot fetch"
        # sendMessage texts that hang unanswered (a service killed while sending them); such
        # calls go to ``held``, not ``calls``: the message never reached the user.
        self.hold: set[str] = set()
        self.held: list[Call] = []
        super().__init__()

    # --- the server (start() returns the base URL for python-telegram-bot) ---------------
    path = "/bot"

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle)

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        form = await request.post() if request.can_read_body else {}
        params = {k: _decode(v) for k, v in form.items() if isinstance(v, str)}
        call = Call(method, params)
        if method == "sendMessage" and params.get("text") in self.hold:
            self.held.append(call)
            while params.get("text") in self.hold:
                await asyncio.sleep(0.05)
            return web.Response(status=500)  # released: its client is long gone
        self.calls.append(call)
        if method in self.fail_once:
            retry_after = self.fail_once.pop(method)
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry_after}",
                    "parameters": {"retry_after": retry_after},
                },
                status=429,
            )
        if method in self.drop_once:
            self.drop_once.discard(method)
            assert request.transport is not None
            request.transport.abort()  # the client sees a broken connection, no answer
            return web.Response(status=500)
        if method == "sendPhoto" and params.get("photo") in self.bad_photo_urls:
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: wrong type of the web page content",
                },
                status=400,
            )
        if method == "getMe":
            return self._ok(BOT_USER)
        if method == "getUpdates":
            return self._ok(await self._get_updates(params))
        if method in ("sendMessage", "sendPhoto"):
            call.result = self._message(params)
            return self._ok(call.result)
        if method == "editMessageReplyMarkup":
            return self._ok(True)
        if method in TRUE_METHODS:
            return self._ok(True)
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates:
            # Long polling, kept short so that stopping the bot is quick.
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), 0.3)
            except asyncio.TimeoutError:
                pass
        return list(self._updates)

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "from": BOT_USER,
        }
        if "text" in params:
            message["text"] = str(params["text"])
        if "photo" in params:
            message["photo"] = [{"file_id": "f1", "file_unique_id": "u1", "width": 1, "height": 1}]
        if params.get("caption"):
            message["caption"] = str(params["caption"])
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message

    # --- what tests use -----------------------------------------------------------------
    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (an update_id is added)."""
        update = {"update_id": next(self._update_ids), **update}
        self._updates.append(update)
        self._new_update.set()
        return update

    def called(self, method: str) -> list[Call]:
        """Every call of ``method``, in order."""
        return [c for c in self.calls if c.method == method]

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Every sendMessage or sendPhoto (to ``chat_id``), in order."""
        return [
            c
            for c in self.calls
            if c.method in ("sendMessage", "sendPhoto")
            and (chat_id is None or int(c.params["chat_id"]) == chat_id)
        ]

    def texts(self, chat_id: int | None = None) -> list[str]:
        """The texts (and captions) sent, in order."""
        return [
            str(c.params.get("text") or c.params.get("caption") or "") for c in self.sent(chat_id)
        ]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` holds, or fail with what was called."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out; calls were: {[(c.method, c.params) for c in self.calls]}"
                )
            await asyncio.sleep(0.02)


# --- updates as Telegram sends them -------------------------------------------------------
_message_ids = itertools.count(1)


def user(chat_id: int) -> dict[str, Any]:
    """A private chat's user."""
    return {"id": chat_id, "is_bot": False, "first_name": "Test", "language_code": "en"}


def message_update(
    chat_id: int,
    text: str | None = None,
    kind: str = "message",
    chat_type: str = "private",
    **extra: Any,
) -> dict[str, Any]:
    """A message (commands get their bot_command entity, as Telegram adds it)."""
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type, "first_name": "Test"}
    if chat_type != "private":
        chat = {"id": chat_id, "type": chat_type, "title": "A group"}
    message: dict[str, Any] = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": chat,
        "from": user(chat_id),
        **extra,
    }
    if kind == "edited_message":
        message["edit_date"] = int(time.time())
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {kind: message}


def callback_update(chat_id: int, sent: Call, data: str) -> dict[str, Any]:
    """A tap on a button of the message the bot sent in ``sent``."""
    message = dict(sent.result)
    return {
        "callback_query": {
            "id": f"cq{next(_message_ids)}",
            "from": user(chat_id),
            "chat_instance": "ci",
            "data": data,
            "message": message,
        }
    }


# --- a fake Rasa ----------------------------------------------------------------------------
Script = Callable[[str], list[dict[str, Any]]]


class FakeRasa(LoopbackServer):
    """Rasa's REST channel with scripted replies; records each request body."""

    def __init__(self, script: Script | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.delays: dict[str, float] = {}  # message -> seconds to wait before answering
        self.script: Script = script or (lambda message: [{"text": f"You said: {message}"}])
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/webhooks/rest/webhook", self._handle)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        await asyncio.sleep(self.delays.get(body["message"], 0))
        return web.json_response(
            [{"recipient_id": body["sender"], **r} for r in self.script(body["message"])]
        )

    @property
    def messages(self) -> list[str]:
        """The messages Rasa received, in order."""
        return [r["message"] for r in self.requests]
