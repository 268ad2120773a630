"""Pacing shared by every process that sends as one bot, kept in Redis.

Telegram counts messages per bot (about 30 a second), not per process. The Telegram service
and each reminder worker pace themselves at 20 a second (:class:`~bot.services.telegram.delivery.Pacer`),
so together they could send 40 or 60 in a second and meet flood control. With ``IPT_REDIS_URL``
set they reserve their slots in one schedule kept in Redis: the same virtual-scheduling
algorithm as the local Pacer (overall and per chat), run as one Lua script on Redis's own
clock, so processes on several machines share it whatever their clocks say.

Redis must never stop a message. When it is not configured, cannot be reached, answers late
(``timeout``) or asks for an absurd wait, the process paces alone with its local Pacer and
says so once in the log; it tries Redis again after ``retry_every`` seconds.

The edge environment (requirements-edge.txt) has no Redis client, and one command is all we
need: :class:`RespConnection` speaks the few lines of Redis's protocol (RESP2) that it takes.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

KEY_PREFIX = "ipt:tg-pace"

# KEYS[1]: the bot's next free time overall; KEYS[2] (optional): the chat's. ARGV: interval
# and tolerance overall, then for the chat, in microseconds. Returns how many microseconds to
# wait for the slot it reserved. Times are Redis's clock (TIME), in microseconds.
_SCRIPT = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function keep(key, tat)
  redis.call('SET', key, string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = math.max(now, tat - tonumber(ARGV[2]))
if #KEYS > 1 then
  local chat = tonumber(redis.call('GET', KEYS[2]) or '0')
  at = math.max(at, chat - tonumber(ARGV[4]))
  keep(KEYS[2], math.max(chat, at) + tonumber(ARGV[3]))
end
keep(KEYS[1], math.max(tat, at) + tonumber(ARGV[1]))
return string.format('%.0f', at - now)
"""


class RedisError(Exception):
    """Redis answered with an error, or with something that is not its protocol."""


@dataclass(frozen=True)
class RedisAddress:
    """Where Redis is: from ``redis://[[user]:password@]host[:port][/db]`` (``rediss://``: TLS)."""

    host: str = "127.0.0.1"
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False

    @classmethod
    def parse(cls, url: str, password: str | None = None) -> RedisAddress:
        """The address in ``url``; ``password`` when the URL has none (IPT_REDIS_PASSWORD)."""
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError("IPT_REDIS_URL must start with redis:// or rediss://")
        path = parts.path.strip("/")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            db=int(path) if path else 0,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else password or None,
            tls=parts.scheme == "rediss",
        )


def _encode(args: tuple[Any, ...]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class RespConnection:
    """One connection to Redis: send a command, read its reply. Not for concurrent use."""

    def __init__(self, address: RedisAddress) -> None:
        self.address = address
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def is_open(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    async def open(self) -> None:
        """Connect, authenticate and select the database."""
        a = self.address
        context = ssl.create_default_context() if a.tls else None
        self._reader, self._writer = await asyncio.open_connection(a.host, a.port, ssl=context)
        if a.password:
            await self.call("AUTH", *((a.username,) if a.username else ()), a.password)
        if a.db:
            await self.call("SELECT", a.db)

    async def call(self, *args: Any) -> Any:
        """Run one command; its reply (str, int, bytes, None or a list). Raises RedisError."""
        if self._reader is None or self._writer is None:
            raise ConnectionError("not connected")
        self._writer.write(_encode(args))
        await self._writer.drain()
        return await self._read()

    async def _read(self) -> Any:
        assert self._reader is not None
        line = await self._reader.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("Redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            return None if size < 0 else (await self._reader.readexactly(size + 2))[:-2]
        if kind == b"*":
            size = int(rest)
            return None if size < 0 else [await self._read() for _ in range(size)]
        raise RedisError(f"not a Redis reply: {line[:20]!r}")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


# What a Redis that is down, slow or strange raises here.
_UNAVAILABLE = (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, RedisError, ValueError)


class SharedPacer:
    """Reserve message slots in the schedule all of one bot's senders share through Redis.

    ``reserve(chat)`` returns how many seconds to wait, as ``Pacer.reserve`` does; on any
    trouble with Redis it returns ``local.reserve(chat)`` instead.
    """

    def __init__(self, address: RedisAddress, bot_id: str, local: Any, *,
                 overall: tuple[float, int], chat: tuple[float, int],
                 prefix: str | None = None, timeout: float = 0.5, retry_every: float = 30.0,
                 max_wait: float = 60.0) -> None:
        self.address, self.local = address, local
        # {bot id}: a Redis Cluster keeps all of one bot's keys in one slot, as EVAL needs.
        self.prefix = f"{prefix or KEY_PREFIX}:{{{bot_id}}}"
        self.timeout, self.retry_every, self.max_wait = timeout, retry_every, max_wait
        self._args = [*_microseconds(*overall), *_microseconds(*chat)]
        self._conn = RespConnection(address)
        self._lock = asyncio.Lock()
        self._down_until = 0.0  # time.monotonic() before which Redis is not tried
        self._down = False  # in an outage (logged once when it starts)
        self._told_wait = False  # an absurd wait was logged (once)

    async def reserve(self, chat: object | None) -> float:
        """Reserve the next slot for a message to ``chat``; how many seconds to wait for it."""
        if time.monotonic() >= self._down_until:
            async with self._lock:
                wait = await self._reserve_shared(chat)
            if wait is not None:
                return wait
        return self.local.reserve(chat)

    async def _reserve_shared(self, chat: object | None) -> float | None:
        if time.monotonic() < self._down_until:
            return None  # another sender found Redis away while this one waited
        keys = [f"{self.prefix}:all"] + ([f"{self.prefix}:chat:{chat}"] if chat is not None else [])
        args = self._args if chat is not None else self._args[:2]
        try:
            reply = await asyncio.wait_for(self._eval(keys, args), self.timeout)
            wait = int(reply) / 1e6
        except _UNAVAILABLE as exc:
            self._conn.close()  # a reply may still be on its way: never read it as the next one
            self._down_until = time.monotonic() + self.retry_every
            if not self._down:
                self._down = True
                log.warning("Redis pacing unavailable (%s): this process paces Telegram messages "
                            "alone; trying Redis again every %.0f s", type(exc).__name__,
                            self.retry_every)
            return None
        if self._down:
            self._down = False
            log.warning("Redis pacing available again: Telegram messages paced with the others")
        if wait > self.max_wait:  # never hold a message that long on Redis's word
            if not self._told_wait:
                self._told_wait = True
                log.warning("Redis pacing asked for a %.1f s wait (more than %.1f s); such "
                            "messages are paced by this process alone", wait, self.max_wait)
            return None
        return wait

    async def _eval(self, keys: list[str], args: list[int]) -> Any:
        """EVAL the script; once more on a fresh connection if the old one broke (a restart)."""
        fresh = not self._conn.is_open
        if fresh:
            await self._conn.open()
        try:
            return await self._conn.call("EVAL", _SCRIPT, len(keys), *keys, *args)
        except (ConnectionError, asyncio.IncompleteReadError):
            if fresh:
                raise
            self._conn.close()
            await self._conn.open()
            return await self._conn.call("EVAL", _SCRIPT, len(keys), *keys, *args)

    async def close(self) -> None:
        """Close the connection (it is opened again on the next reservation)."""
        async with self._lock:
            self._conn.close()


def _microseconds(rate: float, burst: int) -> list[int]:
    """(interval, tolerance) of the virtual schedule, in whole microseconds."""
    return [round(1e6 / rate), round((burst - 1) * 1e6 / rate)]
