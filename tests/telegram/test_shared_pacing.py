"""Pacing shared through Redis: two senders of one bot keep to one schedule; without Redis, or
with a Redis that is away, slow or back again, messages still go, paced by each process alone.

The tests marked ``redis`` use the Redis server on 127.0.0.1:6379 (skipped when it is not
reachable), each under its own key prefix, removed afterwards.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import time
import uuid

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import Connection, SSLConnection

from bot.services.telegram import shared_pacing
from bot.services.telegram.config import TelegramConfig
from bot.services.telegram.delivery import Pacer, make_bot, make_limiter, send_replies
from bot.services.telegram.render import CallbackData
from bot.services.telegram.shared_pacing import SharedPacer
from tests.helpers import free_port
from tests.telegram.fakes import TOKEN

pytestmark = pytest.mark.anyio
REDIS = ("127.0.0.1", 6379)
REDIS_URL = "redis://127.0.0.1:6379/0"
RATES = {"overall": (20.0, 5), "chat": (1.0, 3)}


def _redis_answers() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
async def redis_prefix():
    """A key prefix of this test's own on the local Redis; its keys are deleted afterwards."""
    if not _redis_answers():
        pytest.skip("Redis on 127.0.0.1:6379 is not reachable")
    prefix = f"ipt-test:{uuid.uuid4().hex}"
    yield prefix
    redis = Redis.from_url(REDIS_URL)
    keys = [key async for key in redis.scan_iter(f"{prefix}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.connection_pool.disconnect()


def _pacer(url: str, prefix: str | None = None, **kwargs) -> SharedPacer:
    return SharedPacer(url, "42", Pacer(), prefix=prefix, **RATES, **kwargs)


class _Relay:
    """A TCP relay to the local Redis that can turn connections away (Redis is away) or close
    the ones it carries (Redis restarted)."""

    def __init__(self) -> None:
        self.up = True
        self.url = ""
        self._ends: list[asyncio.StreamWriter] = []

    def cut(self) -> None:
        """Close every connection carried so far, at both ends, as a restarting Redis does."""
        for end in self._ends:
            end.close()
        self._ends.clear()

    async def relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        upstream_reader, upstream = await asyncio.open_connection(*REDIS)
        self._ends += [writer, upstream]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, upstream), pipe(upstream_reader, writer),
                             return_exceptions=True)


@pytest.fixture
async def relay(redis_prefix):
    """A :class:`_Relay` listening on a free port of its own (its ``url``)."""
    relay = _Relay()
    server = await asyncio.start_server(relay.relay, "127.0.0.1", 0)
    relay.url = f"redis://127.0.0.1:{server.sockets[0].getsockname()[1]}/0"
    yield relay
    relay.cut()
    server.close()
    await server.wait_closed()


def _most_in_one_second(times: list[float]) -> int:
    times = sorted(times)
    return max(sum(1 for u in times if t <= u < t + 1.0) for t in times)


@pytest.mark.redis
async def test_two_senders_of_one_bot_keep_together_to_telegrams_limit(
        config, telegram, redis_prefix, monkeypatch):
    # The Telegram service and a reminder worker: two Bots, each with its own limiter.
    monkeypatch.setattr(shared_pacing, "KEY_PREFIX", redis_prefix)
    shared = dataclasses.replace(config, redis_url=REDIS_URL)
    async with make_bot(shared) as service, make_bot(shared) as worker:
        await asyncio.gather(*(
            send_replies(bot, 1000 + i, [{"text": f"Reminder {i}"}], CallbackData())
            for i in range(40) for bot in (service, worker)))
    times = [c.at for c in telegram.sent()]
    assert len(times) == 80
    assert _most_in_one_second(times) <= 30
    # One schedule of 20 a second after a burst of 5: alone, each would be done in 1.75 s.
    assert max(times) - min(times) >= 3.4


@pytest.mark.redis
async def test_one_chat_is_paced_across_senders(config, telegram, redis_prefix, monkeypatch):
    monkeypatch.setattr(shared_pacing, "KEY_PREFIX", redis_prefix)
    shared = dataclasses.replace(config, redis_url=REDIS_URL)
    async with make_bot(shared) as service, make_bot(shared) as worker:
        await asyncio.gather(*(
            send_replies(bot, 7, [{"text": f"Part {i}."} for i in range(3)], CallbackData())
            for bot in (service, worker)))
    times = sorted(c.at for c in telegram.sent(7))
    assert len(times) == 6
    assert times[2] - times[0] < 0.5  # a burst of three at once
    assert times[5] - times[2] >= 2.5  # then one a second, whoever sends


@pytest.mark.redis
async def test_redis_reserves_slots_as_the_local_pacer_does(redis_prefix):
    pacer = _pacer(REDIS_URL, redis_prefix)
    try:
        first = [await pacer.reserve("a") for _ in range(4)]
        assert first[:3] == [0.0, 0.0, 0.0] and first[3] == pytest.approx(1.0, abs=0.05)
        waits = first + [await pacer.reserve(i) for i in range(30)]
        assert sum(1 for w in waits if w < 1.0) <= 25  # 20 a second after a burst of 5
    finally:
        await pacer.close()


async def test_without_redis_each_sender_paces_alone_and_says_so_once(caplog):
    pacer = _pacer(f"redis://127.0.0.1:{free_port()}")  # nothing listens there
    with caplog.at_level(logging.WARNING, logger=shared_pacing.__name__):
        waits = [await pacer.reserve("a") for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0] and waits[3] == pytest.approx(1.0, abs=0.05)
    said = [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(said) == 1  # once, not once a message
    assert "(ConnectionRefusedError; ConnectionError: " in said[0]
    assert "): this process paces Telegram messages alone" in said[0]


async def test_a_redis_that_never_answers_holds_a_message_only_for_the_timeout():
    async def swallow(reader, writer):  # reads commands, never answers
        await reader.read()
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pacer = _pacer(f"redis://127.0.0.1:{port}", timeout=0.3)
    try:
        started = time.monotonic()
        waits = await asyncio.gather(*(pacer.reserve(i) for i in range(10)))
        assert time.monotonic() - started < 1.0  # one timeout, not one per message
        assert waits[:5] == [0.0] * 5  # the local pacer's burst
    finally:
        await pacer.close()
        server.close()
        await server.wait_closed()


@pytest.mark.redis
async def test_a_wait_longer_than_max_wait_is_not_taken_from_redis(redis_prefix, caplog):
    # A schedule pushed far ahead (a stuck key, a runaway sender) must not hold messages.
    pacer = _pacer(REDIS_URL, redis_prefix, max_wait=0.5)
    try:
        with caplog.at_level(logging.WARNING, logger=shared_pacing.__name__):
            waits = [await pacer.reserve("a") for _ in range(6)]
        # Redis would make the 4th to 6th wait 1, 2 and 3 s; the local pacer, which has seen
        # only those three, sends them at once (its burst of three).
        assert waits == [0.0] * 6
        assert len(caplog.records) == 1  # said once, not once a message
        assert "asked for a 1.0 s wait (more than 0.5 s)" in caplog.text
    finally:
        await pacer.close()


@pytest.mark.redis
async def test_a_broken_connection_is_opened_again_at_once(relay, redis_prefix, caplog):
    # A Redis restart closes the open connection: the next message reconnects, no fallback.
    pacer = _pacer(relay.url, redis_prefix)
    try:
        for _ in range(3):
            await pacer.reserve("a")
        relay.cut()
        await asyncio.sleep(0.05)
        with caplog.at_level(logging.WARNING, logger=shared_pacing.__name__):
            # The chat's fourth message waits about a second (less the pause above): Redis
            # remembered the first three (the local pacer, never used, would say 0).
            assert await pacer.reserve("a") == pytest.approx(0.95, abs=0.05)
        assert caplog.records == []
    finally:
        await pacer.close()


@pytest.mark.redis
async def test_pacing_goes_back_to_redis_once_it_answers_again(relay, redis_prefix, caplog):
    relay.up = False  # a Redis that is away until ``up``
    pacer = _pacer(relay.url, redis_prefix, retry_every=0.2)
    try:
        with caplog.at_level(logging.WARNING, logger=shared_pacing.__name__):
            assert await pacer.reserve("a") == 0.0  # away: paced locally
            relay.up = True
            await asyncio.sleep(0.3)
            for _ in range(3):
                await pacer.reserve("b")
        messages = [r.getMessage() for r in caplog.records]
        assert len(messages) == 2 and "unavailable" in messages[0] and "again" in messages[1]
        # "b" was paced in Redis: another sender sees its burst used up.
        other = _pacer(REDIS_URL, redis_prefix)
        assert await other.reserve("b") == pytest.approx(1.0, abs=0.05)
        await other.close()
    finally:
        await pacer.close()


def test_the_redis_settings_come_from_the_environment_and_the_password_stays_out_of_logs():
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "IPT_REDIS_URL": "redis://10.0.0.5:6380/2",
           "IPT_REDIS_PASSWORD": "s3cret"}
    config = TelegramConfig.from_env(env)
    assert config.redis_url == "redis://10.0.0.5:6380/2"
    assert "s3cret" not in repr(config)
    limiter = make_limiter(config)
    conn = _connection(limiter.shared)
    assert (conn.host, conn.port, conn.db, conn.password) == ("10.0.0.5", 6380, 2, "s3cret")
    assert "s3cret" not in repr(limiter.shared.redis) + repr(conn)
    assert limiter.shared.prefix == f"{shared_pacing.KEY_PREFIX}:{{{TOKEN.split(':')[0]}}}"
    # A password in the URL wins; rediss:// is TLS, and the certificate must name the host.
    conn = _connection(_pacer("rediss://:p%40ss@cache:6390", password="s3cret"))
    assert (conn.host, conn.port, conn.password) == ("cache", 6390, "p@ss")
    assert isinstance(conn, SSLConnection) and conn.check_hostname
    assert not isinstance(_connection(_pacer("redis://cache")), SSLConnection)


def _connection(pacer: SharedPacer) -> Connection:
    """The connection ``pacer`` would open (not opened)."""
    return pacer.redis.connection_pool.make_connection()


def test_without_a_redis_url_or_with_a_wrong_one_each_process_paces_alone(caplog):
    assert make_limiter(TelegramConfig(token=TOKEN)).shared is None
    with caplog.at_level(logging.WARNING):
        limiter = make_limiter(TelegramConfig(token=TOKEN, redis_url="http://cache:6379"))
    assert limiter.shared is None and "paced by each process alone" in caplog.text
