"""Rasa's Redis lock store, made to wait through a Redis restart instead of failing messages.

Rasa needs a shared lock store as soon as more than one Rasa server (or Sanic worker) handles
the same conversations: the lock keeps two messages of one conversation from being processed
at the same time on two servers. Rasa's ``RedisLockStore`` does that, but a Redis restart
makes every message that arrives meanwhile fail (the ticket cannot be issued), and makes a
message that was waiting fail too (its lock vanished with Redis's memory).

endpoints.yml (``bot.launch.scaled`` writes this for the scaled topology)::

    lock_store:
      type: bot.rasa_ext.lock_store.IPTRedisLockStore
      url: 127.0.0.1
      port: 6379
      db: 1
      key_prefix: ipt
      outage_wait: 15     # seconds a message waits for Redis before it fails

Within ``outage_wait`` a message waits and retries, so a restart is a pause, not an error
(an error the client might answer by sending the message again, processing it twice). A lock
that cannot be released because Redis is gone is left to expire: its lifetime is Rasa's
``LOCK_LIFETIME`` (60 s), and a restarted Redis has forgotten it anyway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

DEFAULT_OUTAGE_WAIT = 15.0
_RETRY_EVERY = 0.25


def _redis_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps: Rasa re-raises as LockError) is Redis being away."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, RedisError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class IPTRedisLockStore(RedisLockStore):
    """``RedisLockStore`` that waits up to ``outage_wait`` seconds for Redis to come back."""

    def __init__(self, endpoint_config: Any = None, host: str = "localhost",
                 outage_wait: float = DEFAULT_OUTAGE_WAIT, **kwargs: Any) -> None:
        if endpoint_config is not None:  # Rasa builds custom lock stores this way
            options = dict(endpoint_config.kwargs or {})
            host = endpoint_config.url or host
            outage_wait = float(options.pop("outage_wait", outage_wait))
            kwargs = {**options, **kwargs}
        kwargs.setdefault("socket_timeout", 5)
        super().__init__(host=host, **kwargs)
        self.outage_wait = outage_wait
        self.outages = 0  # messages that had to wait for Redis (health, tests)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncGenerator[TicketLock, None]:
        """Rasa's ticket lock; Redis errors within ``outage_wait`` are waited out."""
        deadline = time.monotonic() + self.outage_wait
        ticket: int | None = None
        waited = False
        while True:
            try:
                ticket = self.issue_ticket(conversation_id, lock_lifetime)
                # small waits while another server finishes this conversation's message
                acquired = await self._acquire_lock(
                    conversation_id, ticket, min(wait_time_in_seconds, 0.1))
                break
            except (LockError, RedisError) as exc:
                redis_gone = _redis_unavailable(exc)
                vanished = isinstance(exc, LockError) and ticket is not None and not redis_gone
                if not (redis_gone or vanished) or time.monotonic() > deadline:
                    raise
                if not waited:
                    waited = True
                    self.outages += 1
                    logger.warning("lock store: Redis unavailable or restarted (%s); "
                                   "waiting up to %.0fs", type(exc).__name__, self.outage_wait)
                self._forget(conversation_id, ticket)
                ticket = None
                await asyncio.sleep(_RETRY_EVERY)
        if waited:
            logger.warning("lock store: Redis is back; the waiting message goes on")
        try:
            yield acquired
        finally:
            try:
                self.cleanup(conversation_id, ticket)
            except RedisError as exc:
                logger.warning("lock store: could not release a lock (%s); it expires by "
                               "itself in %.0fs", type(exc).__name__, lock_lifetime)

    def _forget(self, conversation_id: str, ticket: int | None) -> None:
        """Drop a ticket issued before the error, so it does not block the retry."""
        if ticket is None:
            return
        try:
            self.finish_serving(conversation_id, ticket)
        except RedisError:
            pass
