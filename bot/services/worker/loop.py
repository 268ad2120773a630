"""The worker loop: housekeeping jobs, then claim due reminders and deliver them.

One cycle: run the housekeeping jobs that are due (each in a thread, errors logged and the
job tried again at its next time), then claim a batch of due reminders and deliver them
concurrently, and repeat while full batches come back; then sleep ``poll_seconds``.

Housekeeping jobs are plain functions ``fn(now)`` registered with :meth:`Worker.add_job`
(for example the retention purge: ``worker.add_job("retention", timedelta(hours=1), purge)``);
:func:`default_jobs` lists the ones ``python -m bot.services.worker`` runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.clinic import reminders
from bot.clinic.config import ReminderPolicy
from bot.clinic.store import db
from bot.clinic.store.clock import DatabaseClock
from bot.clinic.store.models import Appointment, Reminder, WebMessage, WebOutbox
from bot.services.worker import claims
from bot.services.worker.claims import Claim
from bot.services.worker.delivery import WINDOW_CLOSED, Deliverer, Outcome, Result, outbox_row

log = logging.getLogger(__name__)

# A web message nobody came back for within this time is dropped (the session is long over).
WEB_OUTBOX_KEEP = timedelta(days=14)
# Widget message ids (bot/rasa_ext/web_channel.py) are kept this long for spotting resends.
WEB_MESSAGE_KEEP = timedelta(days=1)


@dataclass
class WorkerSettings:
    """How the worker paces itself (``python -m bot.services.worker --help`` sets them)."""

    batch: int = 100
    hold: timedelta = timedelta(minutes=2)  # a claim runs out after this (crash recovery)
    poll_seconds: float = 2.0
    concurrency: int = 8
    retry_after: timedelta = timedelta(minutes=1)
    # A claim this close to running out is left alone: another worker may take it soon.
    claim_margin: timedelta = timedelta(seconds=10)


@dataclass
class Job:
    """A periodic housekeeping job: ``run(now)`` every ``every``."""

    name: str
    every: timedelta
    run: Callable[[datetime], object]
    next_at: datetime | None = None


@dataclass
class Worker:
    """Claims due reminders and delivers them; runs housekeeping jobs between cycles."""

    deliverer: Deliverer
    url: str | None = None
    settings: WorkerSettings = field(default_factory=WorkerSettings)
    clock: Callable[[], datetime] | None = None  # None: the database's (DatabaseClock)
    jobs: list[Job] = field(default_factory=list)
    policy: ReminderPolicy | None = None  # quiet hours; None: the clinic file's

    def __post_init__(self) -> None:
        if self.policy is None:
            self.policy = reminders.current_policy()
        if self.clock is None:
            self.clock = DatabaseClock(self.url)

    def add_job(self, name: str, every: timedelta, run: Callable[[datetime], object]) -> None:
        """Run ``run(now)`` every ``every`` (first at the next cycle), off the event loop."""
        self.jobs.append(Job(name, every, run))

    # --- housekeeping --------------------------------------------------------------------

    async def run_jobs(self) -> None:
        """Run each housekeeping job whose time has come; one failing does not stop others."""
        for job in self.jobs:
            now = self.clock()
            if job.next_at is not None and now < job.next_at:
                continue
            try:
                await asyncio.to_thread(job.run, now)
            except Exception:  # a housekeeping job must not stop reminders
                log.exception("housekeeping job %s failed; next try in %s", job.name, job.every)
            job.next_at = now + job.every

    # --- reminders -----------------------------------------------------------------------

    def _uow(self):
        return db.unit_of_work(self.url)

    def _claim(self) -> list[Claim]:
        with self._uow() as s:
            return claims.claim_due(s, self.clock(), self.settings.batch, self.settings.hold)

    def _settle(self, fn: Callable[..., bool], claim: Claim, *args) -> bool:
        with self._uow() as s:
            return fn(s, claim, *args)

    def _record_web(self, claim: Claim, result: Result) -> bool:
        """Put the messages in the web outbox and mark the reminder ``outbox``, in one
        transaction. It becomes ``sent`` only when a widget displays it (bot/rasa_ext/web_channel.py)."""
        with self._uow() as s:
            if not claims.mark_outbox(s, claim):
                s.rollback()
                return False
            s.add(outbox_row(claim, list(result.messages)))
            return True

    async def _call(self, fn: Callable[..., bool], claim: Claim, *args) -> bool:
        return await asyncio.to_thread(self._settle, fn, claim, *args)

    async def _quiet(self, claim: Claim, now: datetime) -> str | None:
        """At night in the client's zone: wait for the morning if the session is later, else
        drop the reminder (recorded as missed, ``quiet_hours``). None when it may go now.

        Due times already avoid quiet hours; this catches retries and catch-up after an
        outage, checked on every attempt at the moment of sending.
        """
        ends = reminders.quiet_hours_end(now, claim.timezone, self.policy)
        if ends is None:
            return None
        if ends < claim.starts_at:
            await self._call(claims.retry_later, claim, "quiet_hours", ends)
            return "quiet"
        await self._call(claims.mark_missed, claim, "quiet_hours")
        return "missed"

    def _may_send(self, claim: Claim) -> bool:
        """Whether the reminder may reach the client now: before its session, outside their
        quiet hours. Checked again as its message is handed to Telegram, after any wait."""
        now = self.clock()
        return (now < claim.starts_at
                and reminders.quiet_hours_end(now, claim.timezone, self.policy) is None)

    async def _renew(self, claim: Claim) -> bool:
        """Extend the lease by ``hold`` from now; False when the claim was lost."""
        return await self._call(claims.renew, claim, self.clock() + self.settings.hold)

    async def _keep_lease(self, claim: Claim, lost: asyncio.Event) -> None:
        """While a delivery runs (Rasa, Telegram's flood waits), renew its lease every third of
        ``hold``, so no other worker takes it over and sends it again."""
        while True:
            await asyncio.sleep(self.settings.hold.total_seconds() / 3)
            try:
                if not await self._renew(claim):
                    lost.set()
                    return
            except sa.exc.SQLAlchemyError as exc:  # the fence before sending decides
                log.warning("lease renewal failed (%s)", type(exc).__name__)

    async def deliver(self, claim: Claim) -> str:
        """Deliver one claimed reminder under a renewed lease and settle it."""
        lost = asyncio.Event()
        keeper = asyncio.create_task(self._keep_lease(claim, lost))
        try:
            return await self._deliver(claim, lost)
        finally:
            keeper.cancel()

    async def _deliver(self, claim: Claim, lost: asyncio.Event) -> str:
        """Deliver one claimed reminder and settle it; returns what happened."""
        now = self.clock()
        margin = min(self.settings.claim_margin, self.settings.hold / 3)
        if now >= claim.until - margin:
            return "left"  # our claim is about to run out: leave it to whoever re-claims it
        if now >= claim.starts_at:
            await self._call(claims.mark_missed, claim, "session_started")
            return "missed"
        if quiet := await self._quiet(claim, now):
            return quiet
        result = await self.deliverer.messages_for(claim)
        if result.outcome is Outcome.SENT:
            if Deliverer.is_web(claim):
                ok = await asyncio.to_thread(self._record_web, claim, result)
                return "outbox" if ok else "lost_claim"
            if self.clock() >= claim.starts_at:  # Rasa was slow: never remind after the start
                await self._call(claims.mark_missed, claim, "session_started")
                return "missed"
            if quiet := await self._quiet(claim, self.clock()):  # ... nor at night
                return quiet
            # The fence: send only while our claim stands (renewed now for the send's length).
            if lost.is_set() or not await self._renew(claim):
                return "lost_claim"
            sent = await self.deliverer.send_telegram(
                claim, result.messages, still_open=lambda: self._may_send(claim))
            if sent.outcome is Outcome.SENT:
                ok = await self._call(claims.mark_sent, claim, self.clock())
                return "sent" if ok else "lost_claim"
            if sent.reason == WINDOW_CLOSED:  # it waited for its slot into the night, or later
                if self.clock() >= claim.starts_at:
                    await self._call(claims.mark_missed, claim, "session_started")
                    return "missed"
                if quiet := await self._quiet(claim, self.clock()):
                    return quiet
            result = sent
        reason = result.reason or result.outcome.value
        if result.outcome is Outcome.NOTHING:
            if not await self._call(claims.still_remindable, claim, self.clock()):
                await self._call(claims.mark_cancelled, claim, reason)
                return "cancelled"
            reason = "empty_reply"  # the session is still on: the action failed, try again
        elif result.outcome is Outcome.UNDELIVERABLE:
            await self._call(claims.mark_missed, claim, reason)
            return "missed"
        await self._call(claims.retry_later, claim, reason, self.clock() + self.settings.retry_after)
        return "retry"

    async def cycle(self) -> Counter[str]:
        """Claim one batch and deliver it; counts of what happened (and "claimed")."""
        batch = await asyncio.to_thread(self._claim)
        counts: Counter[str] = Counter(claimed=len(batch))
        if not batch:
            return counts
        gate = asyncio.Semaphore(self.settings.concurrency)

        async def one(claim: Claim) -> str:
            async with gate:
                try:
                    return await self.deliver(claim)
                except Exception:  # one reminder must not stop the others
                    log.exception("reminder %s failed; its claim will run out", claim.reminder_id)
                    return "error"

        for outcome in await asyncio.gather(*(one(c) for c in batch)):
            counts[outcome] += 1
        log.info("reminders: %s", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        return counts

    async def run(self, stop: asyncio.Event) -> None:
        """Run cycles until ``stop`` is set (finishing the batch in hand)."""
        while not stop.is_set():
            await self.run_jobs()
            try:
                counts = await self.cycle()
            except sa.exc.SQLAlchemyError as exc:
                # The database is down or busy: say so once per cycle and try again.
                log.warning("reminder cycle failed (%s); retrying", type(exc).__name__)
                counts = Counter()
            if counts["claimed"] >= self.settings.batch:
                continue  # more are due: no pause
            try:
                await asyncio.wait_for(stop.wait(), self.settings.poll_seconds)
            except asyncio.TimeoutError:
                pass


def expire_web_outbox(url: str | None = None) -> Callable[[datetime], int]:
    """Housekeeping: drop web messages nobody came back to read within two weeks, and web
    reminders whose session started before a widget displayed them (recorded as missed,
    ``not_shown``); forget widget message ids after a day."""

    def run(now: datetime) -> int:
        with db.unit_of_work(url) as s:
            late = s.execute(
                sa.select(WebOutbox.id, WebOutbox.reminder_id)
                .outerjoin(Reminder, Reminder.id == WebOutbox.reminder_id)
                .outerjoin(Appointment, Appointment.id == Reminder.appointment_id)
                .where(sa.or_(WebOutbox.created_at < now - WEB_OUTBOX_KEEP,
                              Appointment.starts_at <= now,
                              Appointment.status != "booked"))
            ).all()
            for row in late:
                if row.reminder_id is not None:
                    reminders.mark_not_shown(s, row.reminder_id, "not_shown")
            if late:
                s.execute(sa.delete(WebOutbox).where(WebOutbox.id.in_([r.id for r in late])))
            s.execute(sa.delete(WebMessage).where(
                WebMessage.received_at < now - WEB_MESSAGE_KEEP))
            return len(late)

    return run


def default_jobs(url: str | None = None) -> list[tuple[str, timedelta, Callable[[datetime], object]]]:
    """The housekeeping jobs ``python -m bot.services.worker`` runs: (name, every, fn(now)).

    - expire_web_outbox: web messages nobody came back for within two weeks;
    - retention: conversations of unlinked people and closed clients past the clinic's
      ``retention_days`` (bot/clinic/retention.py, docs/privacy.md).
    """
    return [
        ("expire_web_outbox", timedelta(hours=1), expire_web_outbox(url)),
        ("retention", timedelta(hours=1), retention_purge(url)),
    ]


def retention_purge(url: str | None = None) -> Callable[[datetime], dict[str, int]]:
    """Housekeeping: the retention purge, at the worker's clock."""
    from bot.clinic.retention import purge_expired

    def run(now: datetime) -> dict[str, int]:
        return purge_expired(url, now=now)

    return run
