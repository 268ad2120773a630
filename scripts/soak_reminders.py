"""Soak the reminder worker: thousands of reminders, five time zones, workers and Rasa killed.

usage: .venv/bin/python scripts/soak_reminders.py [--reminders 2000] [--clients 300]
           [--window 240] [--workers 2] [--worker-kills 2] [--rasa-kills 2]
           [--redis auto|off|URL] [--real-rasa] [--json FILE]

Why: docs/reminders.md promises that each reminder is sent once or dropped and recorded, never
in the client's quiet hours, never after its session began or was cancelled, paced under
Telegram's limit (about 30 messages a second), and that a worker or Rasa that dies costs time,
not messages. The unit and fault tests show each promise alone; this runs them together, for
a few minutes, against real processes.

What runs: a fresh PostgreSQL database (127.0.0.1:5432, dropped afterwards); ``--workers``
``python -m bot.services.worker`` processes with the production settings unless told
otherwise (poll 2 s, batch 100, 8 at once, claims held 120 s, retry after 60 s); a fake
Telegram Bot API on loopback in this process, which times every message; a fake Rasa
``trigger_intent`` endpoint (tests/worker/fakes.py) in a process of its own, so that killing
it is a real SIGKILL, or with ``--real-rasa`` the action server and ``rasa run`` with
models/ipt.tar.gz (scripts/bench_reminders.py's RealRasa).

The schedule is compressed: times below are from the first due time T.

- ``--reminders`` for ``--clients`` clients (Telegram chats), as many in each of five zones.
  5% are a catch-up (due 10 to 50 minutes before the workers start, as after an outage); the
  rest fall due within ``--window`` seconds, 70% of them in clusters (sessions start on the
  hour and the half hour; compressed, a cluster every 20 s or so), the others anywhere: half
  the day-before reminder of a session a day later, half the hour-before one of a session an
  hour later. Every session also has its
  other reminder (the day-before one already sent, or the hour-before one due tomorrow),
  which must stay untouched.
- The zones are chosen from the clock when the run starts: one where it is early afternoon,
  one at night, one whose evening reaches the quiet hours at about T + 0.3 window, one whose
  morning leaves them at about T + 0.6 window (named zones with a fixed offset, or Etc/GMT),
  and ``Soak/Spring_Forward``, a zone made for the run (its TZif file written here, found
  through PYTHONTZPATH) whose clocks go forward an hour at T + 0.75 window, straight into the
  quiet hours. The clinic's quiet hours (IPT_CLINIC_FILE) are set to the minutes those
  boundaries fall on. No clock is moved: the boundaries come to the run.
- Due times are ``reminders.lead_back`` (whole days on the wall clock: across the change the
  day before is 23 hours), not moved out of the quiet hours the way booking does: they stand
  for retries and catch-ups, which only the check at the moment of sending keeps out of the
  night.
- 2% of the sessions are cancelled at T + 0.5 window (``services.cancel_appointment``).
- A worker is killed with SIGKILL a second into the first cluster after T + 0.25 and
  T + 0.65 window (the first seen using the processor: the one delivering the cluster), and
  started again 2 s later, as a supervisor would; Rasa
  likewise a second into the first cluster after T + 0.45 and T + 0.85 window, started again
  5 s later.

Checks, from the Bot API's record and the database: every reminder sent exactly once or
dropped and recorded (missed or cancelled, with a reason) or held for the morning (claimed
until the quiet hours end, after the run); none twice, none lost; none received in its
client's quiet hours, before its due time, after its session began or after its session was
cancelled; the most messages in any one second. Measured: due-to-sent delay (p50, p95, max)
and, for each kill, what it caught and how long until all of that was settled.

Prints Markdown tables (docs/reminders.md, "Soak"); exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time
import zoneinfo
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
import yaml

from bot.clinic import config as clinic_config
from bot.clinic import reminders
from bot.clinic.config import ReminderPolicy
from bot.clinic.store import db, services
from bot.clinic.store.clock import database_now
from bot.clinic.store.models import Appointment, ChannelLink, Client, Reminder
from tests.helpers import MODEL, REPO, free_port
from tests.store import dbutil
from tests.telegram.fakes import TOKEN, FakeBotAPI
from tests.worker.fakes import RASA_TOKEN, FakeRasaTrigger

UTC = timezone.utc
TELEGRAM_LIMIT = 30  # messages a second per bot, Telegram's published rough limit
DST_ZONE = "Soak/Spring_Forward"
REDIS_URL = "redis://127.0.0.1:6379/0"
FINAL = ("sent", "missed", "cancelled")
# The worker checks quiet hours and the session's start as it hands a message to Telegram; the
# fake Bot API times the message when its handler runs, a moment later (milliseconds, more on
# a busy machine). A message at most this far past a boundary is counted apart, not failed.
TRIP = timedelta(seconds=0.25)
# sent_at is written after Telegram answered: this much later than the hand-over, at most.
ANSWER = timedelta(seconds=1)
READY = b"reminder worker running"

# Named zones without daylight saving, by offset in hours (checked against the zone database
# at the run's dates; Etc/GMT otherwise).
NAMED = {
    -11: "Pacific/Pago_Pago", -10: "Pacific/Honolulu", -9: "Pacific/Gambier",
    -8: "Pacific/Pitcairn", -7: "America/Phoenix", -6: "America/Guatemala",
    -5: "America/Bogota", -4: "America/La_Paz", -3: "America/Argentina/Buenos_Aires",
    -2: "Atlantic/South_Georgia", -1: "Atlantic/Cape_Verde", 0: "Africa/Abidjan",
    1: "Africa/Lagos", 2: "Africa/Johannesburg", 3: "Africa/Nairobi", 4: "Asia/Dubai",
    5: "Asia/Tashkent", 6: "Asia/Dhaka", 7: "Asia/Bangkok", 8: "Asia/Singapore",
    9: "Asia/Tokyo", 10: "Australia/Brisbane", 11: "Pacific/Noumea",
}


# --- the plan: zones, quiet hours, the clock change (pure) ---------------------------------


@dataclass(frozen=True)
class Zone:
    """A group of clients: its role in the run and its time zone."""

    role: str  # day | night | evening | morning | dst
    name: str
    about: str


@dataclass(frozen=True)
class Plan:
    """When things happen, in UTC; the clinic's quiet hours; the five zones."""

    start: datetime  # T, the first due time of the even spread
    window: timedelta
    quiet_start: datetime  # the evening zone reaches the quiet hours
    quiet_end: datetime  # the morning zone leaves them
    dst_at: datetime  # Soak/Spring_Forward moves its clocks forward an hour
    dst_before: timedelta  # its offsets
    dst_after: timedelta
    policy: ReminderPolicy
    zones: tuple[Zone, ...]

    def at(self, fraction: float) -> datetime:
        """T + ``fraction`` of the window."""
        return self.start + self.window * fraction

    @property
    def clusters(self) -> int:
        """Sessions start on the hour and the half hour, so reminders come in clusters:
        compressed, one every 20 s or so."""
        return max(1, round(self.window / timedelta(seconds=20)))

    def cluster(self, k: int) -> datetime:
        return self.start + self.window * (k / self.clusters)

    def busy(self, fraction: float) -> datetime:
        """A second after the first cluster at or after T + ``fraction`` of the window: the
        workers are then busy with it (where a kill hurts)."""
        for k in range(self.clusters):
            if self.cluster(k) >= self.at(fraction):
                return self.cluster(k) + timedelta(seconds=1)
        return self.at(fraction)


def _minute_up(t: datetime) -> datetime:
    floor = t.replace(second=0, microsecond=0)
    return floor if floor == t else floor + timedelta(minutes=1)


def _offset_for(at: datetime, local_hours: float) -> int:
    """The whole-hour UTC offset (-12..11) at which ``at`` reads about ``local_hours``."""
    utc_hours = at.hour + at.minute / 60 + at.second / 3600
    return (round(local_hours - utc_hours) + 12) % 24 - 12


def zone_for_offset(hours: int, dates: tuple[datetime, ...]) -> str:
    """A named zone at UTC+``hours`` on all ``dates`` (none changes its clocks), or Etc/GMT."""
    name = NAMED.get(hours)
    want = timedelta(hours=hours)
    if name and all(d.astimezone(ZoneInfo(name)).utcoffset() == want for d in dates):
        return name
    return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"  # POSIX signs: Etc/GMT+5 is UTC-5


def plan_run(start: datetime, window: timedelta) -> Plan:
    """Zones and quiet hours so that the run meets each boundary.

    Quiet hours have whole minutes, so the evening and morning boundaries fall on the first
    whole minute after T + 0.3 and T + 0.6 window; when that is past T + 0.9 window (a short
    run), on the minute before T instead: the evening zone is then quiet throughout and the
    morning zone awake throughout. The clock change is at T + 0.75 window to the second.
    """

    def boundary(fraction: float) -> datetime:
        t = _minute_up(start + window * fraction)
        return t if t <= start + window * 0.9 else start.replace(second=0, microsecond=0)

    evening_at, morning_at = boundary(0.3), boundary(0.6)
    evening = _offset_for(evening_at, 21)
    morning = _offset_for(morning_at, 8)
    night = _offset_for(start + window / 2, 2.5)
    day = _offset_for(start + window / 2, 13)
    quiet_from = (evening_at + timedelta(hours=evening)).time()
    quiet_to = (morning_at + timedelta(hours=morning)).time()
    dates = (start - timedelta(days=2), start, start + timedelta(days=2))
    zones = (
        Zone("day", zone_for_offset(day, dates), "early afternoon throughout"),
        Zone("night", zone_for_offset(night, dates), "night throughout"),
        Zone("evening", zone_for_offset(evening, dates), "quiet hours begin in the run"),
        Zone("morning", zone_for_offset(morning, dates), "quiet hours end in the run"),
        Zone("dst", DST_ZONE, "clocks go forward an hour, into the quiet hours"),
    )
    dst_at = (start + window * 0.75).replace(microsecond=0)
    return Plan(
        start=start, window=window, quiet_start=evening_at, quiet_end=morning_at,
        dst_at=dst_at, dst_before=timedelta(hours=evening - 1),
        dst_after=timedelta(hours=evening),
        policy=ReminderPolicy((1440, 60), quiet_from, quiet_to), zones=zones,
    )


def tzif(before: timedelta, after: timedelta, at: datetime) -> bytes:
    """A TZif (version 1) zone at UTC+``before`` that moves to daylight time UTC+``after`` at
    ``at``: the format of /usr/share/zoneinfo, which zoneinfo reads from PYTHONTZPATH."""
    names = b"SOAK\0SOAKDST\0"
    header = b"TZif" + b"\0" * 16 + struct.pack(">6l", 0, 0, 0, 1, 2, len(names))
    return (header + struct.pack(">l", int(at.timestamp())) + bytes([1])
            + struct.pack(">lBB", int(before.total_seconds()), 0, 0)
            + struct.pack(">lBB", int(after.total_seconds()), 1, 5) + names)


def in_quiet(at: datetime, tz: str, policy: ReminderPolicy) -> bool:
    """Whether ``at`` falls in the quiet hours on the client's clock (checked here, apart from
    the worker's own code)."""
    clock = at.astimezone(ZoneInfo(tz)).time()
    start, end = policy.quiet_start, policy.quiet_end
    assert start is not None and end is not None
    return (start <= clock < end) if start < end else (clock >= start or clock < end)


# --- the records ---------------------------------------------------------------------------


@dataclass
class Seeded:
    """One reminder of the run (the ones the checks count) and what it belongs to."""

    reminder_id: int
    appointment_id: int
    client_id: int
    chat: int
    role: str
    tz: str
    lead: int
    due: datetime
    starts: datetime
    kind: str  # spread | catch_up


def seed(url: str, plan: Plan, n: int, clients: int, rng: random.Random) -> list[Seeded]:
    """The clients, their Telegram links, sessions and reminders, inserted in bulk."""
    now = database_now(url)
    zones = plan.zones
    client_zone = {c: zones[c % len(zones)] for c in range(clients)}
    catch_up = max(1, n // 20) if n >= 20 else 0
    rows: list[Seeded] = []
    for i in range(n):
        c = i % clients
        zone = client_zone[c]
        tz = ZoneInfo(zone.name)
        if i < catch_up:
            lead, kind = 60, "catch_up"
            due = now - timedelta(minutes=rng.uniform(10, 50))
            starts = due + timedelta(minutes=60)
        else:
            kind = "spread"
            if rng.random() < 0.7:  # a session on the hour or half hour: in a cluster
                due = plan.cluster(rng.randrange(plan.clusters))
            else:
                due = (plan.start + plan.window * rng.random()).replace(microsecond=0)
            lead = 1440 if rng.random() < 0.5 else 60
            if lead == 1440:
                # the same wall-clock time tomorrow; the project's lead_back gives the due time
                starts = (due.astimezone(tz) + timedelta(days=1)).astimezone(UTC)
                due = reminders.lead_back(starts, 1440, tz)
            else:
                starts = due + timedelta(minutes=60)
        rows.append(Seeded(0, 100_000 + i, c + 1, 700_000 + c, zone.role, zone.name, lead,
                           due, starts, kind))
    with db.unit_of_work(url) as s:
        s.execute(sa.insert(Client), [
            {"id": c + 1, "public_id": f"C-S{c + 1:07d}", "display_name": f"Client {c + 1}",
             "timezone": client_zone[c].name, "status": "active", "created_at": now,
             "updated_at": now} for c in range(clients)])
        s.execute(sa.insert(ChannelLink), [
            {"client_id": c + 1, "channel": "rest", "sender_id": f"tg-{700_000 + c}",
             "linked_at": now} for c in range(clients)])
        s.execute(sa.insert(Appointment), [
            {"id": r.appointment_id, "client_id": r.client_id, "starts_at": r.starts,
             "duration_minutes": 50, "status": "booked", "created_at": now, "updated_at": now}
            for r in rows])
        s.execute(sa.insert(Reminder), [
            {"client_id": r.client_id, "appointment_id": r.appointment_id,
             "lead_minutes": r.lead, "due_at": r.due, "status": "pending", "attempts": 0,
             "created_at": now} for r in rows])
        # each session's other reminder: the day before, already sent; or the hour before,
        # due tomorrow. Neither may be touched.
        s.execute(sa.insert(Reminder), [
            {"client_id": r.client_id, "appointment_id": r.appointment_id,
             "lead_minutes": 60 if r.lead == 1440 else 1440,
             "due_at": (r.starts - timedelta(minutes=60) if r.lead == 1440
                        else reminders.lead_back(r.starts, 1440, ZoneInfo(r.tz))),
             "status": "pending" if r.lead == 1440 else "sent",
             "sent_at": None if r.lead == 1440 else now - timedelta(hours=20),
             "attempts": 0 if r.lead == 1440 else 1, "created_at": now} for r in rows])
        for table in ("clients", "appointments"):
            s.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT max(id) FROM {table}))"))
        wanted = {(r.appointment_id, r.lead) for r in rows}
        ids = {a: i for (a, lead, i) in s.execute(sa.select(
            Reminder.appointment_id, Reminder.lead_minutes, Reminder.id)).all()
            if (a, lead) in wanted}
    for r in rows:
        r.reminder_id = ids[r.appointment_id]
    return rows


def siblings(url: str, rows: list[Seeded]) -> dict[int, tuple]:
    """The other reminder of each session: id -> (appointment, status, attempts, sent_at)."""
    ours = {r.reminder_id for r in rows}
    with db.unit_of_work(url) as s:
        return {i: (ap, st, a, sent) for i, ap, st, a, sent in s.execute(sa.select(
            Reminder.id, Reminder.appointment_id, Reminder.status, Reminder.attempts,
            Reminder.sent_at)).all() if i not in ours}


# --- watching the database -----------------------------------------------------------------


@dataclass(frozen=True)
class State:
    status: str
    attempts: int
    reason: str | None
    claimed_until: datetime | None
    sent_at: datetime | None


class Monitor(threading.Thread):
    """Reads every reminder's state every ``every`` seconds and keeps each change, timed by
    ``time.monotonic``, so that what a kill caught can be followed afterwards."""

    def __init__(self, url: str, ids: set[int], every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.url, self.ids, self.every = url, ids, every
        self.history: dict[int, list[tuple[float, State]]] = defaultdict(list)
        self.last: dict[int, State] = {}
        self.halt = threading.Event()
        self.lock = threading.Lock()

    def poll(self) -> dict[int, State]:
        """Read now; record changes; return the states."""
        with self.lock:
            with db.unit_of_work(self.url) as s:
                got = s.execute(sa.select(
                    Reminder.id, Reminder.status, Reminder.attempts, Reminder.reason,
                    Reminder.claimed_until, Reminder.sent_at)).all()
            t = time.monotonic()
            for rid, *rest in got:
                if rid not in self.ids:
                    continue
                state = State(*rest)
                if self.last.get(rid) != state:
                    self.history[rid].append((t, state))
                    self.last[rid] = state
            return dict(self.last)

    def run(self) -> None:
        while not self.halt.wait(self.every):
            try:
                self.poll()
            except sa.exc.SQLAlchemyError as exc:  # keep watching; the run's end reads again
                print(f"monitor: {type(exc).__name__}", file=sys.stderr, flush=True)

    def first_after(self, rid: int, t: float) -> tuple[float, State] | None:
        """The first change of ``rid`` seen after ``t``."""
        for at, state in self.history.get(rid, []):
            if at > t:
                return at, state
        return None

    def settled_at(self, rid: int, after: float, plan: Plan) -> float | None:
        """When ``rid`` was first seen settled (see :func:`settled`) after ``after``."""
        for at, state in self.history.get(rid, []):
            if at > after and settled(state, plan):
                return at
        return None


def held_for_morning(st: State | None, plan: Plan) -> bool:
    """Claimed until the quiet hours end, long after the run: it waits for the client's
    morning (the worker's retry_later with reason quiet_hours)."""
    return (st is not None and st.status == "claimed" and st.reason == "quiet_hours"
            and st.claimed_until is not None
            and st.claimed_until > plan.at(1.0) + timedelta(minutes=10))


def settled(st: State | None, plan: Plan) -> bool:
    """Sent, dropped and recorded, or held for the morning: nothing more to happen in the run."""
    return st is not None and (st.status in FINAL or held_for_morning(st, plan))


# --- the processes -------------------------------------------------------------------------


class Timeline:
    """The database's clock (UTC) and this process's monotonic clock, side by side."""

    def __init__(self, url: str) -> None:
        self.utc0, self.mono0 = database_now(url), time.monotonic()

    def utc(self, mono: float) -> datetime:
        return self.utc0 + timedelta(seconds=mono - self.mono0)

    def mono(self, utc: datetime) -> float:
        return self.mono0 + (utc - self.utc0).total_seconds()


def cpu_seconds(pid: int) -> float:
    """Processor time (user + system) a process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def busiest(workers: list[WorkerProc], over: float = 0.3, wait: float = 5.0,
                  busy: float = 0.05) -> WorkerProc:
    """The worker delivering now: the first to use more than ``busy`` seconds of processor
    time in ``over`` seconds (within ``wait``), else the one that used the most. A worker
    finds a cluster at its next poll and often claims all of it (a batch is 100), so this is
    the one whose death costs claims."""
    alive = [w for w in workers if w.proc is not None and w.proc.returncode is None]
    deadline = time.monotonic() + wait
    while True:
        before = {w.index: cpu_seconds(w.proc.pid) for w in alive}
        await asyncio.sleep(over)
        used = {w.index: cpu_seconds(w.proc.pid) - before[w.index] for w in alive}
        top = max(alive, key=lambda w: used[w.index])
        if used[top.index] > busy or time.monotonic() > deadline:
            return top


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class FakeRasaProcess:
    """The fake trigger_intent endpoint in a process of its own, on a fixed port."""

    def __init__(self, logdir: Path, latency: float) -> None:
        self.port, self.logdir, self.latency = free_port(), logdir, latency
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.base, self.token = f"http://127.0.0.1:{self.port}", RASA_TOKEN

    async def start(self) -> None:
        self.starts += 1
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--serve-fake-rasa", str(self.port),
            "--rasa-latency", str(self.latency), cwd=REPO,
            stdout=(self.logdir / f"fake_rasa{self.starts}.log").open("wb"),
            stderr=asyncio.subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not await asyncio.to_thread(_listening, self.port):
            if self.proc.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the fake Rasa did not start; see {self.logdir}")
            await asyncio.sleep(0.05)

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()


class RealRasaProcess:
    """``rasa run`` and the action server (scripts/bench_reminders.py), Rasa killable."""

    def __init__(self, url: str, logdir: Path, env: dict[str, str]) -> None:
        from scripts.bench_reminders import RealRasa

        self.real = RealRasa(url, logdir, env)
        self.token = self.real.token
        self.base = ""

    async def start(self) -> None:
        if not self.real.procs:
            await asyncio.to_thread(self.real.__enter__)
        else:
            await asyncio.to_thread(self.real.start_rasa)
        self.base = self.real.base

    async def kill(self) -> None:
        await asyncio.to_thread(self.real.kill_rasa)

    async def stop(self) -> None:
        await asyncio.to_thread(self.real.__exit__, None, None, None)


async def serve_fake_rasa(port: int, latency: float) -> None:
    """``--serve-fake-rasa``: FakeRasaTrigger on ``port``, answering after ``latency`` s."""
    from aiohttp import web

    @web.middleware
    async def slow(request: web.Request, handler: Any) -> web.StreamResponse:
        await asyncio.sleep(latency)
        return await handler(request)

    fake = FakeRasaTrigger()
    app = web.Application(middlewares=[slow])
    fake.routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


@dataclass
class WorkerProc:
    index: int
    logdir: Path
    env: dict[str, str]
    args: list[str]
    proc: asyncio.subprocess.Process | None = None
    starts: int = 0
    log: Path | None = None

    async def start(self) -> None:
        self.starts += 1
        self.log = self.logdir / f"worker{self.index}.{self.starts}.log"
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.services.worker", *self.args, cwd=REPO, env=self.env,
            stdout=self.log.open("wb"), stderr=asyncio.subprocess.STDOUT)

    def ready(self) -> bool:
        return self.log is not None and self.log.exists() and READY in self.log.read_bytes()

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()


@dataclass
class Fault:
    """One kill: what, when (monotonic), when its process answered again, what it caught."""

    what: str
    at: float
    back: float | None = None
    snapshot: dict[int, State] = field(default_factory=dict)
    snapshot_at: float = 0.0  # when the snapshot was read (its changes are recorded then)


# --- the run -------------------------------------------------------------------------------


@dataclass
class Outcome:
    rows: list[Seeded]
    final: dict[int, State]
    messages: list[tuple[float, int, str]]  # (monotonic, chat, text)
    faults: list[Fault]
    cancelled: dict[int, float]  # appointment id -> monotonic time of the cancellation
    siblings_before: dict[int, tuple]
    siblings_after: dict[int, tuple]
    timeline: Timeline
    monitor: Monitor
    started: float  # the workers were started (monotonic)
    ended: float
    timed_out: bool


async def run(args: argparse.Namespace, url: str, plan: Plan, rows: list[Seeded],
              env: dict[str, str], logdir: Path, redis_url: str | None) -> Outcome:
    """Start everything, fire the faults on schedule, wait until every reminder settles."""
    timeline = Timeline(url)
    rng = random.Random(args.seed + 1)
    telegram = FakeBotAPI()
    await telegram.start()
    rasa: FakeRasaProcess | RealRasaProcess = (
        RealRasaProcess(url, logdir, env) if args.real_rasa
        else FakeRasaProcess(logdir, args.rasa_latency))
    await rasa.start()
    worker_env = {**env, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": telegram.url,
                  "RASA_URL": rasa.base, "RASA_TOKEN": rasa.token, "PYTHONUNBUFFERED": "1"}
    if redis_url:
        worker_env["IPT_REDIS_URL"] = redis_url
    worker_args = ["--poll", str(args.poll), "--hold", str(args.hold), "--retry",
                   str(args.retry), "--batch", str(args.batch), "--concurrency",
                   str(args.concurrency)]
    workers = [WorkerProc(i + 1, logdir, worker_env, worker_args) for i in range(args.workers)]
    ids = {r.reminder_id for r in rows}
    monitor = Monitor(url, ids | set(siblings(url, rows)))
    siblings_before = siblings(url, rows)
    monitor.poll()
    monitor.start()
    started = time.monotonic()
    for w in workers:
        await w.start()

    # the faults, on schedule
    schedule: list[tuple[float, str]] = []
    for k in range(args.worker_kills):
        schedule.append((timeline.mono(plan.busy((0.25, 0.65, 0.9)[k % 3])), f"worker:{k}"))
    for k in range(args.rasa_kills):
        schedule.append((timeline.mono(plan.busy((0.45, 0.85, 0.95)[k % 3])), f"rasa:{k}"))
    to_cancel = [r for r in rows if r.kind == "spread"
                 and plan.at(0.45) <= r.due <= plan.at(0.8)]
    to_cancel = rng.sample(to_cancel, min(len(to_cancel), max(1, len(rows) // 50)))
    schedule.append((timeline.mono(plan.at(0.5)), "cancel"))
    schedule.sort()
    faults: list[Fault] = []
    cancelled: dict[int, float] = {}
    pending_back: list[tuple[float, Fault, Any]] = []  # (restart at, fault, process)
    deadline = timeline.mono(plan.at(1.0)) + args.hold + args.retry * 2 + 60

    def all_settled(states: dict[int, State]) -> bool:
        return all(settled(states.get(rid), plan) for rid in ids)

    timed_out = False
    try:
        while True:
            now = time.monotonic()
            while schedule and schedule[0][0] <= now:
                _, what = schedule.pop(0)
                if what == "cancel":
                    def cancel() -> None:
                        with db.unit_of_work(url) as s:
                            for a in s.scalars(sa.select(Appointment).where(Appointment.id.in_(
                                    [r.appointment_id for r in to_cancel]))):
                                services.cancel_appointment(s, a)
                    await asyncio.to_thread(cancel)
                    t = time.monotonic()
                    cancelled = {r.appointment_id: t for r in to_cancel}
                    continue
                kind, k = what.split(":")
                if kind == "worker":
                    w = await busiest(workers)
                    await w.kill()
                    fault = Fault(f"worker {w.index} SIGKILL", time.monotonic())
                    fault.snapshot = await asyncio.to_thread(monitor.poll)
                    fault.snapshot_at = time.monotonic()
                    pending_back.append((time.monotonic() + args.restart_after, fault, w))
                else:
                    await rasa.kill()
                    fault = Fault("Rasa SIGKILL", time.monotonic())
                    fault.snapshot = await asyncio.to_thread(monitor.poll)
                    fault.snapshot_at = time.monotonic()
                    pending_back.append((time.monotonic() + args.rasa_down, fault, rasa))
                faults.append(fault)
            for item in list(pending_back):
                restart_at, fault, proc = item
                if now < restart_at:
                    continue
                if proc is rasa:
                    await rasa.start()  # returns once it answers
                    fault.back = time.monotonic()
                    pending_back.remove(item)
                elif proc.proc.returncode is not None:
                    await proc.start()
                elif proc.ready():
                    fault.back = time.monotonic()
                    pending_back.remove(item)
            if not schedule and not pending_back and all_settled(monitor.last):
                break
            if now > deadline:
                timed_out = True
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(args.grace)  # a late duplicate would arrive now
    finally:
        for w in workers:
            await w.stop()
        await rasa.stop()
        monitor.halt.set()
        monitor.join(10)
        await telegram.stop()
    final = monitor.poll()
    messages = [(c.at, int(c.params["chat_id"]), str(c.params.get("text") or ""))
                for c in telegram.sent()]
    return Outcome(rows, final, messages, faults, cancelled, siblings_before,
                   siblings(url, rows), timeline, monitor, started, time.monotonic(),
                   timed_out)


# --- what the run shows --------------------------------------------------------------------

_APPOINTMENT = re.compile(r"\((\d+)\)")


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def max_per_second(times: list[float]) -> int:
    """The most messages in any one-second interval (a sliding window over receipt times)."""
    ordered = sorted(times)
    return max((bisect.bisect_left(ordered, t + 1.0) - i for i, t in enumerate(ordered)),
               default=0)


def analyse(out: Outcome, plan: Plan, args: argparse.Namespace) -> dict[str, Any]:
    """Every check and figure, as plain data (the tables and --json are made from it)."""
    tl, policy = out.timeline, plan.policy
    by_appointment = {r.appointment_id: r for r in out.rows}
    zone_of_chat = {r.chat: r.tz for r in out.rows}
    per_appointment: dict[int, list[float]] = defaultdict(list)
    per_chat: Counter[int] = Counter()
    unmatched = 0
    quiet_msgs, quiet_db, early, after_cancel = [], [], [], []
    after_start: set[int] = set()
    near_boundary = 0  # past a boundary by less than TRIP: the trip, not the worker
    for at, chat, text in out.messages:
        per_chat[chat] += 1
        utc = tl.utc(at)
        if in_quiet(utc, zone_of_chat[chat], policy):
            if not in_quiet(utc - TRIP, zone_of_chat[chat], policy):
                near_boundary += 1
            else:
                quiet_msgs.append({
                    "chat": chat, "at": utc.isoformat(),
                    "local": utc.astimezone(ZoneInfo(zone_of_chat[chat])).isoformat()})
        m = _APPOINTMENT.search(text)
        r = by_appointment.get(int(m.group(1))) if m else None
        if r is None:
            unmatched += 1
            continue
        per_appointment[r.appointment_id].append(at)
        if utc < r.due - timedelta(seconds=1):
            early.append(r.reminder_id)
        if utc >= r.starts:
            if utc - TRIP < r.starts:
                near_boundary += 1
            else:
                after_start.add(r.reminder_id)
        cancelled_at = out.cancelled.get(r.appointment_id)
        if cancelled_at is not None and at > cancelled_at:
            if at - TRIP.total_seconds() <= cancelled_at:
                near_boundary += 1
            else:
                after_cancel.append(r.reminder_id)
    real = unmatched == len(out.messages) and out.messages  # real Rasa: texts carry no id

    sent, dropped, held, lost, twice, unrecorded, silent = [], Counter(), [], [], [], [], []
    delays_awake, delays_held, delays_catch_up = [], [], []
    workers_up = tl.utc(out.started)
    by_role: dict[str, Counter] = defaultdict(Counter)
    sent_per_chat: Counter[int] = Counter()
    for r in out.rows:
        st = out.final.get(r.reminder_id)
        n = len(per_appointment.get(r.appointment_id, []))
        role = by_role[r.role]
        role["reminders"] += 1
        if n > 1:
            twice.append(r.reminder_id)
        if st is not None and st.status == "sent":
            sent.append(r.reminder_id)
            sent_per_chat[r.chat] += 1
            role["sent"] += 1
            if n == 0 and not real:
                silent.append(r.reminder_id)
            assert st.sent_at is not None
            if st.sent_at - ANSWER >= r.starts:
                after_start.add(r.reminder_id)
            if in_quiet(st.sent_at, r.tz, policy) and in_quiet(st.sent_at - ANSWER, r.tz, policy):
                quiet_db.append({"reminder": r.reminder_id, "sent_at": st.sent_at.isoformat()})
            sendable = max(r.due, workers_up)  # a catch-up can go once the workers run
            awake_from = reminders.quiet_hours_end(sendable, r.tz, policy)
            if awake_from is not None:
                delays_held.append((st.sent_at - awake_from).total_seconds())
            elif r.kind == "catch_up":
                delays_catch_up.append((st.sent_at - workers_up).total_seconds())
            else:
                delays_awake.append((st.sent_at - r.due).total_seconds())
        elif st is not None and st.status in ("missed", "cancelled") and st.reason:
            dropped[f"{st.status}: {st.reason}"] += 1
            role["dropped"] += 1
            if n:
                unrecorded.append(r.reminder_id)
        elif (held_for_morning(st, plan)
              and reminders.quiet_hours_end(st.claimed_until - timedelta(seconds=1), r.tz,
                                            policy) == st.claimed_until):
            held.append(r.reminder_id)  # waits for the client's morning, after the run
            role["held"] += 1
            if n:
                unrecorded.append(r.reminder_id)
        else:
            lost.append({"reminder": r.reminder_id, "state": st and st.__dict__})
            role["lost"] += 1
        role["twice"] += n > 1
    if real:  # without ids in the texts: each chat got as many messages as it had sends
        twice = [c for c in per_chat if per_chat[c] > sent_per_chat[c]]
        silent = [c for c in sent_per_chat if per_chat[c] < sent_per_chat[c]]
    rate = max_per_second([at for at, _, _ in out.messages])
    touched = []
    for i, before in out.siblings_before.items():
        after = out.siblings_after.get(i)
        if before[0] in out.cancelled and before[1] == "pending":
            before = (before[0], "cancelled", *before[2:])  # cancelled with its session
        if after != before:
            touched.append(i)
    faults = [fault_report(f, out, plan, args) for f in out.faults]
    dst_rows = [r for r in out.rows if r.role == "dst" and r.lead == 1440 and r.kind == "spread"]
    across = sum(1 for r in dst_rows if r.starts - r.due == timedelta(hours=23))
    checks = {
        "lost": len(lost), "twice": len(twice), "sent_without_message": len(silent),
        "message_but_not_sent": len(unrecorded), "in_quiet_hours": len(quiet_msgs),
        "sent_at_in_quiet_hours": len(quiet_db), "within_trip_of_a_boundary": near_boundary,
        "before_due": len(early), "after_session_start": len(after_start),
        "after_cancellation": len(after_cancel), "siblings_touched": len(touched),
        "max_per_second": rate, "timed_out": out.timed_out,
    }
    ok = (not any(checks[k] for k in checks if k not in (
              "max_per_second", "timed_out", "within_trip_of_a_boundary"))
          and rate <= TELEGRAM_LIMIT and not out.timed_out)
    return {
        "ok": ok, "checks": checks, "reminders": len(out.rows), "sent": len(sent),
        "dropped": dict(dropped), "held_for_morning": len(held), "messages": len(out.messages),
        "by_role": {k: dict(v) for k, v in by_role.items()},
        "delays": {name: summary(vals) for name, vals in (
            ("due in the run, client awake: from due", delays_awake),
            ("catch-up (due before the run), client awake: from the workers' start",
             delays_catch_up),
            ("due in the client's quiet hours: from their end", delays_held))},
        "faults": faults, "dst_day_before_23h": across, "dst_day_before": len(dst_rows),
        "cancelled_sessions": len(out.cancelled),
        "examples": {"lost": lost[:5], "twice": twice[:5], "quiet": quiet_msgs[:5],
                     "quiet_db": quiet_db[:5], "after_start": sorted(after_start)[:5],
                     "after_cancel": after_cancel[:5], "unrecorded": unrecorded[:5],
                     "silent": silent[:5]},
        "duration_s": round(out.ended - tl.mono(plan.start), 1),
    }


def summary(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    return {"n": len(values), "p50": round(statistics.median(values), 1),
            "p95": round(_pct(values, 95), 1), "max": round(max(values), 1)}


def fault_report(f: Fault, out: Outcome, plan: Plan, args: argparse.Namespace) -> dict:
    """What a kill caught and when all of it was settled again.

    Worker: the claims it held (leases, not retry waits nor quiet-hours holds) are the ones
    nobody touched until their lease ran out; the time is until the last was settled.
    Rasa: the deliveries that failed while it was down (a retry written in the outage).
    """
    tl, mon = out.timeline, out.monitor
    kill_utc = tl.utc(f.at)
    hold, retry = timedelta(seconds=args.hold), timedelta(seconds=args.retry)
    caught: list[int] = []
    if f.what.startswith("worker"):
        lease_from = kill_utc + (retry + hold * 2 / 3) / 2
        for rid, st in f.snapshot.items():
            if (st.status != "claimed" or st.claimed_until is None
                    or not lease_from < st.claimed_until <= kill_utc + hold + timedelta(seconds=5)
                    or st.claimed_until == plan.quiet_end):
                continue
            nxt = mon.first_after(rid, f.snapshot_at)
            if nxt is None or nxt[0] >= tl.mono(st.claimed_until) - mon.every - 0.5:
                caught.append(rid)  # untouched until its lease ran out: the dead worker's
    else:
        until = (f.back or f.at) + 5
        for rid, changes in mon.history.items():
            for at, st in changes:
                if (f.at <= at <= until and st.reason == "rasa_unavailable"
                        and st.status == "claimed" and st.claimed_until is not None
                        and abs((st.claimed_until - tl.utc(at)) - retry)
                        <= timedelta(seconds=2)):
                    caught.append(rid)
                    break
    settle = []
    for rid in caught:
        st = out.final.get(rid)
        if st is not None and st.status == "sent" and st.sent_at is not None:
            settle.append((st.sent_at - kill_utc).total_seconds())
        else:
            at = mon.settled_at(rid, f.at, plan)
            settle.append(at - f.at if at is not None else math.inf)
    return {"what": f.what, "at_s": round((kill_utc - plan.start).total_seconds(), 1),
            "back_after_s": round(f.back - f.at, 1) if f.back else None,
            "caught": len(caught),
            "settled_after_s": round(max(settle), 1) if settle else None}


def _cells(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def tables(res: dict[str, Any], plan: Plan, args: argparse.Namespace, backend: str) -> str:
    """The Markdown report."""
    c = res["checks"]
    quiet = f"{plan.policy.quiet_start:%H:%M}-{plan.policy.quiet_end:%H:%M}"
    lines = [
        "",
        (f"{args.reminders:,} reminders, {args.clients} clients, 5 zones, {args.workers} "
        f"workers on PostgreSQL, {backend}; due over {args.window:.0f} s from T = "
        f"{plan.start:%H:%M:%S} UTC; workers: poll {args.poll:g} s, hold {args.hold:g} s, "
        f"retry {args.retry:g} s; quiet hours {quiet} client time; run {res['duration_s']:.0f} s "
        "from T"),
        "",
        _cells("zone", "clients are at", "reminders", "sent once", "dropped, recorded",
               "held for the morning", "lost", "twice"),
        _cells(*["---"] * 8),
    ]
    for z in plan.zones:
        r = res["by_role"].get(z.role, {})
        lines.append(_cells(z.name, z.about, *(r.get(k, 0) for k in (
            "reminders", "sent", "dropped", "held", "lost", "twice"))))
    dropped = ", ".join(f"{k} {v}" for k, v in sorted(res["dropped"].items())) or "none"
    rows = [
        ("sent exactly once", f"{res['sent']:,} sent, {res['messages']:,} Telegram messages"),
        ("dropped and recorded", f"{sum(res['dropped'].values()):,} ({dropped})"),
        ("held until the client's morning (after the run)", res["held_for_morning"]),
        ("lost (neither sent nor recorded)", c["lost"]),
        ("sent twice", c["twice"]),
        ("a message not recorded as sent / sent with no message",
         f"{c['message_but_not_sent']} / {c['sent_without_message']}"),
        ("received in the client's quiet hours (by Telegram / by sent_at)",
         f"{c['in_quiet_hours']} / {c['sent_at_in_quiet_hours']}"),
        ("received before due / after the session began / after it was cancelled",
         f"{c['before_due']} / {c['after_session_start']} / {c['after_cancellation']}"),
        ((f"received within {TRIP.total_seconds():g} s after one of those boundaries "
         "(the hand-over's trip, not counted above)"), c["within_trip_of_a_boundary"]),
        ("the session's other reminder touched", c["siblings_touched"]),
        ("most Telegram messages in any 1 s", (f"{c['max_per_second']} (limit about "
                                               f"{TELEGRAM_LIMIT})")),
        ("day-before reminders across the clock change due 23 h before",
         f"{res['dst_day_before_23h']} of {res['dst_day_before']}"),
        ("sessions cancelled during the run", res["cancelled_sessions"]),
        ("settled before the deadline", "no" if c["timed_out"] else "yes"),
    ]
    lines += ["", _cells("check", "result"), _cells("---", "---")]
    lines += [_cells(*row) for row in rows]
    lines += ["", _cells("due to sent (s)", "n", "p50", "p95", "max"), _cells(*["---"] * 5)]
    for name, d in res["delays"].items():
        lines.append(_cells(name, d["n"], *("" if d[k] is None else f"{d[k]:.1f}"
                                            for k in ("p50", "p95", "max"))))
    lines += ["", _cells("fault", "at T + s", "answering again after s", "reminders it caught",
                         "all settled after s"), _cells(*["---"] * 5)]
    for f in res["faults"]:
        lines.append(_cells(f["what"], f["at_s"], f["back_after_s"], f["caught"],
                            "" if f["settled_after_s"] is None else f["settled_after_s"]))
    lines.append(f"\nall checks passed: {'yes' if res['ok'] else 'NO'}")
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------


def _redis(choice: str) -> str | None:
    if choice == "off":
        return None
    url = REDIS_URL if choice == "auto" else choice
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        Redis.from_url(url, socket_timeout=2).ping()
        return url
    except (RedisError, OSError) as exc:  # pace per process, and say so
        if choice != "auto":
            raise SystemExit(f"error: Redis at {url}: {exc}") from None
        return None


def clinic_file(path: Path, policy: ReminderPolicy) -> None:
    """The example clinic's file with the run's quiet hours."""
    data = yaml.safe_load((REPO / "clinic.example.yml").read_text())
    data["reminders"] = {"lead_minutes": list(policy.lead_minutes), "quiet_hours": {
        "start": f"{policy.quiet_start:%H:%M}", "end": f"{policy.quiet_end:%H:%M}"}}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert clinic_config.load(path).reminders == policy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--window", type=float, default=240.0,
                        help="seconds over which the reminders fall due")
    parser.add_argument("--warmup", type=float, default=20.0,
                        help="seconds from starting the workers to the first due time")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-kills", type=int, default=2)
    parser.add_argument("--rasa-kills", type=int, default=2)
    parser.add_argument("--restart-after", type=float, default=2.0,
                        help="seconds before a killed worker is started again")
    parser.add_argument("--rasa-down", type=float, default=5.0,
                        help="seconds before a killed Rasa is started again")
    parser.add_argument("--poll", type=float, default=2.0)
    parser.add_argument("--hold", type=float, default=120.0)
    parser.add_argument("--retry", type=float, default=60.0)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rasa-latency", type=float, default=0.05,
                        help="seconds the fake Rasa takes to answer")
    parser.add_argument("--redis", default="auto",
                        help="pacing shared through Redis: auto (127.0.0.1:6379 if it "
                             "answers), off, or a URL")
    parser.add_argument("--real-rasa", action="store_true")
    parser.add_argument("--grace", type=float, default=5.0,
                        help="seconds to wait for a late duplicate once all is settled")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--logs", type=Path, default=REPO / "var" / "bench" / "soak")
    parser.add_argument("--serve-fake-rasa", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fake_rasa:
        asyncio.run(serve_fake_rasa(args.serve_fake_rasa, args.rasa_latency))
        return 0
    if args.real_rasa and not MODEL.exists():
        print(f"error: {MODEL} is missing: run `make models/ipt.tar.gz`", file=sys.stderr)
        return 2
    if args.clients < 5 or args.reminders < args.clients or args.workers < 1:
        parser.error("--clients at least 5, --reminders at least --clients, one worker or more")
    if not dbutil.pg_available():
        print("error: PostgreSQL on 127.0.0.1:5432 is not reachable", file=sys.stderr)
        return 2
    redis_url = _redis(args.redis)
    shutil.rmtree(args.logs, ignore_errors=True)
    args.logs.mkdir(parents=True)
    url = dbutil.create_pg_database("ipt_soak")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            db.migrate(url)
            start = (database_now(url) + timedelta(seconds=args.warmup)).replace(microsecond=0)
            plan = plan_run(start, timedelta(seconds=args.window))
            zones = work / "zoneinfo"
            (zones / "Soak").mkdir(parents=True)
            (zones / DST_ZONE).write_bytes(tzif(plan.dst_before, plan.dst_after, plan.dst_at))
            tzpath = [str(zones), *zoneinfo.TZPATH]
            zoneinfo.reset_tzpath(tzpath)
            clinic_file(work / "clinic.yml", plan.policy)
            env = {**os.environ, "IPT_DATABASE_URL": url, "PYTHONTZPATH": os.pathsep.join(tzpath),
                   "IPT_CLINIC_FILE": str(work / "clinic.yml")}
            rows = seed(url, plan, args.reminders, args.clients, random.Random(args.seed))
            out = asyncio.run(run(args, url, plan, rows, env, args.logs, redis_url))
            res = analyse(out, plan, args)
    finally:
        db.dispose_all()
        dbutil.drop_pg_database(url)
    rasa = "real Rasa + action server" if args.real_rasa else "fake trigger_intent (own process)"
    pacing = f"pacing shared in Redis ({redis_url})" if redis_url else "pacing per process"
    print(tables(res, plan, args, f"{rasa}, fake Telegram Bot API, {pacing}"))
    print(f"\nlogs: {args.logs}")
    if args.json:
        res["plan"] = {"start": plan.start.isoformat(), "zones": [z.__dict__ for z in plan.zones],
                       "quiet": [f"{plan.policy.quiet_start:%H:%M}",
                                 f"{plan.policy.quiet_end:%H:%M}"],
                       "quiet_start": plan.quiet_start.isoformat(),
                       "quiet_end": plan.quiet_end.isoformat(), "dst_at": plan.dst_at.isoformat(),
                       "redis": redis_url}
        args.json.write_text(json.dumps(res, indent=2, default=str))
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
