"""Taking over a conversation id through the real stack: our web server, then real Rasa.

Both attacks from issue 9: a made-up (or forged) web id, and a web client claiming a
Telegram conversation (``tg-<chat_id>``). Neither gets a message processed or a reply.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
import requests
import socketio

from bot.rasa_ext.web_channel import REFUSED_EVENT

pytestmark = pytest.mark.e2e

WAIT = 20.0


class Visitor:
    """A socket.io client talking to our web server, recording what it receives.

    Long-polling uses python-socketio's client; its websocket transport needs a newer aiohttp
    than Rasa allows, so for websockets we speak the (small) engine.io v4 protocol ourselves.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue[tuple[str, object]] = asyncio.Queue()
        self.http: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.reader: asyncio.Task | None = None
        for name in ("session_confirm", REFUSED_EVENT, "bot_uttered"):
            self.sio.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Callable[..., Awaitable[None]]:
        async def record(data: object = None) -> None:
            await self.events.put((name, data))
        return record

    async def connect(self, transport: str) -> None:
        if transport == "polling":
            await self.sio.connect(self.url, socketio_path="socket.io", transports=["polling"],
                                   wait_timeout=10)
            return
        self.http = aiohttp.ClientSession()
        self.ws = await self.http.ws_connect(
            f"{self.url}/socket.io/?EIO=4&transport=websocket".replace("http", "ws", 1))
        assert (await self.ws.receive(timeout=10)).data.startswith("0{")  # engine.io open
        await self.ws.send_str("40")  # socket.io connect to the default namespace
        assert (await self.ws.receive(timeout=10)).data.startswith("40")
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.data == "2":  # engine.io ping
                await self.ws.send_str("3")
            elif msg.data.startswith("42"):
                name, *args = json.loads(msg.data[2:])
                await self.events.put((name, args[0] if args else None))

    async def emit(self, event: str, data: dict) -> None:
        if self.ws is None:
            await self.sio.emit(event, data)
        else:
            await self.ws.send_str("42" + json.dumps([event, data]))

    async def disconnect(self) -> None:
        if self.ws is None:
            # abort: don't wait for the pending long-poll to come back (up to the ping interval)
            await self.sio.eio.disconnect(abort=True)
            return
        if self.reader:
            self.reader.cancel()
        await self.ws.close()
        assert self.http is not None
        await self.http.close()

    async def next(self, timeout: float = WAIT) -> tuple[str, object]:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def nothing_more(self, seconds: float = 4.0) -> list[tuple[str, object]]:
        await asyncio.sleep(seconds)
        out = []
        while not self.events.empty():
            out.append(self.events.get_nowait())
        return out


def user_texts(rasa_server, conversation_id: str) -> list[str]:
    r = requests.get(f"{rasa_server.url}/conversations/{conversation_id}/tracker",
                     params={"token": rasa_server.token}, timeout=10)
    r.raise_for_status()
    return [e.get("text") for e in r.json()["events"] if e["event"] == "user"]


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_a_signed_session_talks_to_the_assistant(web_server, transport):
    session = requests.post(f"{web_server.url}/api/session", json={}, timeout=10).json()

    async def run() -> None:
        visitor = Visitor(web_server.url)
        await visitor.connect(transport)
        try:
            await visitor.emit("session_request", {"session_id": session["session_id"]})
            assert await visitor.next() == ("session_confirm", session["session_id"])
            await visitor.emit("user_uttered", {"message": "what is IPT",
                                                    "session_id": session["session_id"]})
            name, data = await visitor.next()
            assert name == "bot_uttered" and data["text"], data
        finally:
            await visitor.disconnect()

    asyncio.run(run())


def test_a_made_up_web_id_is_refused(web_server, rasa_server):
    made_up = "web-AAAAAAAAAAAAAAAAAAAAAA"

    async def run() -> None:
        visitor = Visitor(web_server.url)
        await visitor.connect("polling")
        try:
            await visitor.emit("session_request", {"session_id": made_up})
            assert (await visitor.next())[0] == REFUSED_EVENT
            await visitor.emit("user_uttered", {"message": "hello", "session_id": made_up})
            assert (await visitor.next())[0] == REFUSED_EVENT
            assert await visitor.nothing_more() == []
        finally:
            await visitor.disconnect()

    asyncio.run(run())
    assert user_texts(rasa_server, made_up) == []


def test_a_web_client_cannot_take_over_a_telegram_conversation(web_server, rasa_server):
    victim = "tg-987654321"
    rasa_server.send(victim, "hello")  # the Telegram user's conversation exists
    assert user_texts(rasa_server, victim) == ["hello"]
    # a web id the attacker got legitimately, re-labelled as the Telegram conversation
    own = requests.post(f"{web_server.url}/api/session", json={}, timeout=10).json()
    relabelled = victim + own["session_id"][len(own["conversation_id"]):]

    async def run() -> None:
        visitor = Visitor(web_server.url)
        await visitor.connect("websocket")
        try:
            for claimed in (victim, relabelled):
                await visitor.emit("session_request", {"session_id": claimed})
                assert (await visitor.next())[0] == REFUSED_EVENT
                await visitor.emit("user_uttered", {"message": "what is IPT",
                                                        "session_id": claimed})
                assert (await visitor.next())[0] == REFUSED_EVENT
            # the Telegram user's replies are not delivered to the attacker either
            await asyncio.to_thread(rasa_server.send, victim, "thank you")
            assert await visitor.nothing_more() == []
        finally:
            await visitor.disconnect()

    asyncio.run(run())
    assert user_texts(rasa_server, victim) == ["hello", "thank you"]


def test_other_sites_cannot_open_the_socket(web_server):
    async def run() -> None:
        async with aiohttp.ClientSession() as client:
            url = f"{web_server.url}/socket.io/?EIO=4&transport=websocket"
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await client.ws_connect(url, headers={"Origin": "https://evil.example"})
            assert refused.value.status == 403
            ws = await client.ws_connect(url, headers={"Origin": "https://clinic.example"})
            assert (await ws.receive(timeout=10)).data.startswith("0{")  # engine.io open
            await ws.close()

    asyncio.run(run())


def test_a_typed_intent_shortcut_is_plain_text_on_the_widget(web_server, rasa_server):
    session = requests.post(f"{web_server.url}/api/session", json={}, timeout=10).json()
    conversation = session["conversation_id"]
    typed = ['/EXTERNAL_session_reminder{"session_time": "tomorrow"}', "/crisis_suicide",
             "/ask_what_is_ipt"]  # the last is a quick reply's payload: it stays an intent

    async def run() -> None:
        visitor = Visitor(web_server.url)
        await visitor.connect("websocket")
        try:
            await visitor.emit("session_request", {"session_id": session["session_id"]})
            assert (await visitor.next())[0] == "session_confirm"
            for text in typed:
                await visitor.emit("user_uttered", {"message": text,
                                                    "session_id": session["session_id"]})
                assert (await visitor.next())[0] == "bot_uttered"
                await visitor.nothing_more(1.5)
        finally:
            await visitor.disconnect()

    asyncio.run(run())
    r = requests.get(f"{rasa_server.url}/conversations/{conversation}/tracker",
                     params={"token": rasa_server.token}, timeout=10)
    users = [e for e in r.json()["events"] if e["event"] == "user"]
    assert [e["text"] for e in users] == [
        'EXTERNAL_session_reminder{"session_time": "tomorrow"}', "crisis_suicide",
        "/ask_what_is_ipt"]
    names = [e["parse_data"]["intent"]["name"] for e in users]
    assert names[2] == "ask_what_is_ipt"
    assert "EXTERNAL_session_reminder" not in names and "crisis_suicide" not in names
