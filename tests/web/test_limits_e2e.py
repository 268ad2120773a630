"""Cost attacks on the public path (issue 19): new sessions, message floods, big frames.

A web server of its own with the default limits, in front of the suite's Rasa server. Each
"visitor" connects from its own loopback address (127.0.0.x), as visitors on the internet
come from their own addresses.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import aiohttp
import pytest

from bot import limits
from tests.web.conftest import WebServer

pytestmark = pytest.mark.e2e
QUESTION = "what is IPT"
FLOODERS, ASKS = 20, 8


@pytest.fixture(scope="module")
def limited_web(rasa_server, widget_bundle, session_dir, server_env):
    env = {k: v for k, v in server_env.items() if not k.startswith("IPT_RATE_")}
    server = WebServer(rasa_server.url, session_dir / "web-limits.log", env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Visitor:
    """A widget-like socket.io client over a websocket, from a given loopback address."""

    def __init__(self, url: str, address: str) -> None:
        self.url, self.address = url, address
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)))
        self.events: asyncio.Queue[tuple[str, object]] = asyncio.Queue()
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.session: dict = {}
        self.reader: asyncio.Task | None = None
        self.closed = asyncio.Event()

    async def new_session(self) -> int:
        async with self.http.post(f"{self.url}/api/session", json={}) as r:
            if r.status == 200:
                self.session = await r.json()
            return r.status

    async def connect(self) -> None:
        assert await self.new_session() == 200
        self.ws = await self.http.ws_connect(
            f"{self.url}/socket.io/?EIO=4&transport=websocket".replace("http", "ws", 1),
            max_msg_size=0)
        assert (await self.ws.receive(timeout=10)).data.startswith("0{")
        await self.ws.send_str("40")
        assert (await self.ws.receive(timeout=10)).data.startswith("40")
        self.reader = asyncio.create_task(self._read())
        await self.emit("session_request", {"session_id": self.session["session_id"]})
        assert (await self.next())[0] == "session_confirm"

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            if msg.data == "2":
                await self.ws.send_str("3")
            elif msg.data.startswith("42"):
                name, *args = json.loads(msg.data[2:])
                await self.events.put((name, args[0] if args else None))
        self.closed.set()

    async def emit(self, event: str, data: dict) -> None:
        assert self.ws is not None
        await self.ws.send_str("42" + json.dumps([event, data]))

    async def say(self, text: str) -> None:
        await self.emit("user_uttered", {"message": text,
                                         "session_id": self.session["session_id"]})

    async def next(self, timeout: float = 30) -> tuple[str, object]:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def drain(self, seconds: float) -> list[tuple[str, object]]:
        await asyncio.sleep(seconds)
        out = []
        while not self.events.empty():
            out.append(self.events.get_nowait())
        return out

    async def ask(self, text: str) -> float:
        """Seconds until the first reply to ``text`` (the rest of the reply drained after)."""
        await self.drain(0)
        t0 = time.perf_counter()
        await self.say(text)
        name, _ = await self.next()
        elapsed = time.perf_counter() - t0
        assert name == "bot_uttered"
        await self.drain(1.0)
        return elapsed

    async def close(self) -> None:
        if self.reader:
            self.reader.cancel()
        if self.ws is not None:
            await self.ws.close()
        await self.http.close()


def test_new_sessions_are_limited_per_address(limited_web):
    async def run() -> None:
        flood, other = Visitor(limited_web.url, "127.0.0.4"), Visitor(limited_web.url, "127.0.0.5")
        try:
            statuses = [await flood.new_session() for _ in range(30)]
            burst, _ = limits.rate("sessions_per_address")
            assert statuses[:burst] == [200] * burst
            assert statuses[burst:] == [429] * (30 - burst)
            async with flood.http.post(f"{limited_web.url}/api/session", json={}) as r:
                assert r.status == 429 and "try again later" in (await r.json())["error"]
                assert int(r.headers["Retry-After"]) > 0
            # a stored session is still re-validated: only new ones count
            async with flood.http.post(f"{limited_web.url}/api/session",
                                       json={"session_id": flood.session["session_id"]}) as r:
                assert r.status == 200
            assert await other.new_session() == 200  # another address is not affected
        finally:
            await flood.close()
            await other.close()

    asyncio.run(run())


def test_a_frame_bigger_than_a_message_needs_is_refused(limited_web):
    async def run() -> None:
        visitor = Visitor(limited_web.url, "127.0.0.6")
        try:
            await visitor.connect()
            await visitor.say("x" * 200_000)
            await asyncio.wait_for(visitor.closed.wait(), 15)
            assert [e for e in await visitor.drain(0) if e[0] == "bot_uttered"] == []
        finally:
            await visitor.close()

    asyncio.run(run())


def test_a_flood_from_one_visitor_leaves_another_visitors_replies_on_time(limited_web):
    # one visitor (one address) with several conversations open, each sending long messages
    # as fast as it can; the other visitor asks the same short question throughout
    long = " ".join(["my partner and I argue about everything at home lately"] * 34)[:1990]

    async def run() -> None:
        flooders = [Visitor(limited_web.url, "127.0.0.2") for _ in range(FLOODERS)]
        other = Visitor(limited_web.url, "127.0.0.3")
        try:
            for v in flooders:
                try:
                    await v.connect()
                except AssertionError:  # no new session for this address: it floods less
                    pass
            flooders = [v for v in flooders if v.ws is not None]
            await other.connect()
            await other.ask(QUESTION)  # warm
            normal = [await other.ask(QUESTION) for _ in range(ASKS)]

            async def flood(v: Visitor) -> None:
                for i in range(40):
                    await v.say(f"{i} {long}")
                    await asyncio.sleep(0)

            tasks = [asyncio.create_task(flood(v)) for v in flooders]
            await asyncio.sleep(0.5)
            during = [await other.ask(QUESTION) for _ in range(ASKS)]
            await asyncio.gather(*tasks)
            # within 2x normal; "normal" counted as at least 50 ms, below which the timer and
            # the scheduler's noise on a shared machine are as large as the reply itself
            base = max(statistics.mean(normal), 0.05)
            assert statistics.mean(during) <= 2 * base, (normal, during)
            texts = [d.get("text") for v in flooders for n, d in await v.drain(0.5)
                     if n == "bot_uttered" and isinstance(d, dict)]
            assert limits.SLOW_DOWN in texts
        finally:
            for v in [*flooders, other]:
                await v.close()

    asyncio.run(run())


def _forget_code_attempts(url: str) -> None:
    """Remove every failed code attempt: the per-address and overall caps count them."""
    import sqlalchemy as sa

    from bot.clinic.store import db
    from bot.clinic.store.models import CodeAttempt

    with db.unit_of_work(url) as s:
        s.execute(sa.delete(CodeAttempt))


def test_code_guessing_from_one_address_is_paused_whatever_the_conversation(limited_web,
                                                                              database_url):
    """A conversation costs one POST: one address guessing codes over many conversations is
    paused at the per-address cap, even for a valid code in a fresh conversation, while a
    visitor at another address links with theirs. Through the real web server, Rasa, the
    actions and the database (the address as our web server saw it, tagged)."""
    import sqlalchemy as sa

    from bot.clinic.store import codes, db, services
    from bot.clinic.store.models import EnrolmentCode

    db.ensure_migrated(database_url)
    _forget_code_attempts(database_url)  # the servers' database is shared by the web tests
    with db.unit_of_work(database_url) as s:
        victim = services.create_client(s, "Ash", "Europe/Berlin")[1]
        own = services.create_client(s, "Bea", "Europe/Berlin")[1]
    cap = limits.code_attempts_per_address()  # the servers' default: no setting in server_env
    per_conversation = services.MAX_FAILED_CODES - 1  # never reaching one conversation's lock

    async def replies(visitor: Visitor, text: str) -> str:
        await visitor.drain(0)
        await visitor.say(text)
        first = await visitor.next()
        rest = await visitor.drain(1.5)
        return " ".join(str((data or {}).get("text", "")) for name, data in [first, *rest]
                        if name == "bot_uttered" and isinstance(data, dict))

    async def run() -> None:
        wrong = 0
        while wrong < cap:
            guesser = Visitor(limited_web.url, "127.0.0.8")
            try:
                await guesser.connect()
                for _ in range(min(per_conversation, cap - wrong)):
                    answer = await replies(guesser, f"my code is {codes.generate()}")
                    assert "didn't work" in answer, answer
                    wrong += 1
            finally:
                await guesser.close()
        fresh, other = Visitor(limited_web.url, "127.0.0.8"), Visitor(limited_web.url,
                                                                       "127.0.0.9")
        try:
            await fresh.connect()
            answer = await replies(fresh, f"my code is {victim}")
            assert "paused code checks" in answer, answer
            await other.connect()
            answer = await replies(other, f"my code is {own}")
            assert "Do you agree?" in answer, answer
        finally:
            await fresh.close()
            await other.close()

    try:
        asyncio.run(run())
    finally:  # later tests share the database: leave no attempts behind
        _forget_code_attempts(database_url)
    with db.unit_of_work(database_url) as s:  # the victim's code is still unused
        used = s.scalar(sa.select(EnrolmentCode.used_at)
                        .where(EnrolmentCode.code_hash == codes.hash_code(victim)))
        assert used is None
