"""Long polling that confirms an update to Telegram only once it is answered.

python-telegram-bot's Updater asks for the next updates with ``offset`` = the last fetched
id + 1, which tells Telegram the fetched ones are done before anybody answered them: a
service killed then loses them. This poller sends as ``offset`` the lowest update still being
answered, so Telegram keeps everything not yet answered and hands it out again after a
restart; the update journal (bot/services/telegram/journal.py) skips what was answered but not yet
confirmed, and resumes a half-sent answer.

While an update is being answered, Telegram returns it on every poll: the poller then waits
for an answer to finish (or ``idle_wait`` seconds) before asking again, so a new message of
another chat waits at most that long.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError
from telegram.ext import Application

from bot.services.telegram import journal
from bot.services.telegram.delivery import with_network_retries
from bot.services.telegram.journal import UpdateJournal

log = logging.getLogger(__name__)


async def answer(app: Application, updates: UpdateJournal, update: Update) -> bool:
    """Answer one update through the Application's handlers, once (the journal decides).

    Returns whether it is answered now (False only if it was cancelled on the way).
    """
    progress = await updates.begin(update.update_id)
    if progress is None:
        return True  # answered before a restart; Telegram had not heard so yet
    token = journal.CURRENT.set(progress)
    try:
        await app.process_update(update)
    finally:
        journal.CURRENT.reset(token)
    await updates.finish(update.update_id)
    return True


def process(app: Application, updates: UpdateJournal, update: Update) -> Any:
    """The coroutine that answers ``update`` in its chat's turn (per-chat order, limits)."""
    return app.update_processor.process_update(update, answer(app, updates, update))


class Poller:
    """getUpdates in a loop; each update answered in a task; offset = lowest unanswered."""

    def __init__(self, app: Application, updates: UpdateJournal, allowed_updates: list[str],
                 timeout: int = 10, idle_wait: float = 1.0) -> None:
        self.app = app
        self.updates = updates
        self.allowed_updates = allowed_updates
        self.timeout = timeout
        self.idle_wait = idle_wait
        self._answering: dict[int, asyncio.Task] = {}
        self._answered: set[int] = set()  # answered, not yet below the confirmed offset
        self._highest: int | None = None
        self._task: asyncio.Task | None = None
        self._stopping = asyncio.Event()

    @property
    def offset(self) -> int | None:
        """What to confirm: every update below it is answered."""
        if self._answering:
            return min(self._answering)
        return None if self._highest is None else self._highest + 1

    async def start(self) -> None:
        """Remove any webhook (Telegram refuses getUpdates beside one), then start polling."""
        await with_network_retries(lambda: self.app.bot.delete_webhook())
        self._task = asyncio.create_task(self._run(), name="telegram-poller")

    async def stop(self, grace: float = 30.0) -> None:
        """Stop fetching; give answers under way ``grace`` seconds; confirm what is answered."""
        self._stopping.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        if self._answering:
            _, pending = await asyncio.wait(set(self._answering.values()), timeout=grace)
            for task in pending:  # Telegram keeps these: answered after the restart
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self.offset is not None:
            with contextlib.suppress(TelegramError):
                await self.app.bot.get_updates(offset=self.offset, limit=1, timeout=0)

    def _done(self, update_id: int, task: asyncio.Task) -> None:
        self._answering.pop(update_id, None)
        if not task.cancelled() and task.exception() is None:
            self._answered.add(update_id)
        elif not task.cancelled():
            log.error("an update could not be answered", exc_info=task.exception())
            self._answered.add(update_id)  # logged; replaying a failing update cannot help
        low = self.offset
        if low is not None:
            self._answered = {i for i in self._answered if i >= low}

    async def _fetch(self) -> list[Update] | None:
        """One getUpdates; None when stopping."""
        long = 0 if self._answering else self.timeout
        get = asyncio.ensure_future(self.app.bot.get_updates(
            offset=self.offset, timeout=long, allowed_updates=self.allowed_updates,
            read_timeout=long + 10))
        stopping = asyncio.ensure_future(self._stopping.wait())
        done, _ = await asyncio.wait({get, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if get not in done:
            get.cancel()
            await asyncio.gather(get, return_exceptions=True)
            return None
        stopping.cancel()
        return list(get.result())

    async def _run(self) -> None:
        delay = 1.0
        while not self._stopping.is_set():
            try:
                fetched = await self._fetch()
            except InvalidToken:
                raise
            except (NetworkError, Conflict) as exc:
                # Conflict: another instance polls with this token, or a webhook was set.
                log.warning("getUpdates failed (%s); trying again in %.0f s",
                            type(exc).__name__, delay)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                delay = min(delay * 2, 30.0)
                continue
            if fetched is None:
                return
            delay = 1.0
            new = [u for u in fetched
                   if u.update_id not in self._answering and u.update_id not in self._answered]
            already = await self.updates.answered([u.update_id for u in new])
            for update in new:
                uid = update.update_id
                self._highest = uid if self._highest is None else max(self._highest, uid)
                if uid in already:
                    self._answered.add(uid)
                    continue
                task = asyncio.create_task(process(self.app, self.updates, update))
                self._answering[uid] = task
                task.add_done_callback(lambda t, uid=uid: self._done(uid, t))
            if self._answering and not new:
                # Telegram returned only updates we are answering: wait for one to finish.
                waiters = set(self._answering.values())
                stopping = asyncio.ensure_future(self._stopping.wait())
                await asyncio.wait(waiters | {stopping}, timeout=self.idle_wait,
                                   return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
