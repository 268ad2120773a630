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

Redis is spoken through redis-py's asyncio client (``redis.asyncio``, the version Rasa's lock
store uses, also in requirements-edge.txt): it parses the URL, and it drops a connection whose
command was cancelled by our time-out, so a late reply is never read as the next one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

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


# What a Redis that is down, slow or strange raises here (redis-py's errors, asyncio's time-out,
# a reply that is not a number).
_UNAVAILABLE = (RedisError, OSError, asyncio.TimeoutError, ValueError)


class SharedPacer:
    """Reserve message slots in the schedule all of one bot's senders share through Redis.

    ``reserve(chat)`` returns how many seconds to wait, as ``Pacer.reserve`` does; on any
    trouble with Redis it returns ``local.reserve(chat)`` instead.
    """

    def __init__(self, url: str, bot_id: str, local: Any, *,
                 overall: tuple[float, int], chat: tuple[float, int],
                 password: str | None = None, prefix: str | None = None, timeout: float = 0.5,
                 retry_every: float = 30.0, max_wait: float = 60.0) -> None:
        """Pace through the Redis at ``url`` (redis://, rediss:// or unix://; else ValueError).

        ``password`` is used when the URL has none (IPT_REDIS_PASSWORD). No connection is made
        here: the first reservation opens it.
        """
        # One retry on a broken connection (a Redis restart) reconnects at once, without the
        # fallback; with rediss://, the server's certificate must name its host.
        tls = {"ssl_check_hostname": True} if urlsplit(url).scheme == "rediss" else {}
        self.redis = Redis.from_url(url, password=password or None,
                                    retry_on_error=[RedisConnectionError], **tls)
        self.local = local
        # {bot id}: a Redis Cluster keeps all of one bot's keys in one slot, as a script needs.
        self.prefix = f"{prefix or KEY_PREFIX}:{{{bot_id}}}"
        self.timeout, self.retry_every, self.max_wait = timeout, retry_every, max_wait
        self._args = [*_microseconds(*overall), *_microseconds(*chat)]
        self._script = self.redis.register_script(_SCRIPT)  # EVALSHA, loaded when missing
        self._lock = asyncio.Lock()  # one reservation at a time: one connection, one time-out
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
            reply = await asyncio.wait_for(self._script(keys, args), self.timeout)
            wait = int(reply) / 1e6
        except _UNAVAILABLE as exc:
            self._down_until = time.monotonic() + self.retry_every
            if not self._down:
                self._down = True
                log.warning("Redis pacing unavailable (%s): this process paces Telegram messages "
                            "alone; trying Redis again every %.0f s", _reason(exc),
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

    async def close(self) -> None:
        """Close the connection (it is opened again on the next reservation)."""
        async with self._lock:
            await self.redis.connection_pool.disconnect()


def _reason(exc: BaseException) -> str:
    """What went wrong, for the log: the socket's error first when there is one under
    redis-py's (whose message gives only its number), then the error and its message."""
    said = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    under = exc.__cause__ or exc.__context__
    return f"{type(under).__name__}; {said}" if isinstance(under, OSError) else said


def _microseconds(rate: float, burst: int) -> list[int]:
    """(interval, tolerance) of the virtual schedule, in whole microseconds."""
    return [round(1e6 / rate), round((burst - 1) * 1e6 / rate)]
