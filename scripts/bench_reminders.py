"""Benchmark the reminder worker: scan cost per cycle, and due-to-sent delay for a burst.

usage: .venv/bin/python scripts/bench_reminders.py [--appointments 10000] [--burst 1000]
           [--workers 1] [--backend sqlite|postgres] [--real-rasa]

1. Scan cost: a database with ``--appointments`` booked sessions, each with a reminder that
   is not due yet; one worker cycle that finds nothing to do (settle stale reminders, look
   for claimable ones) is timed 50 times.
2. Burst: ``--burst`` reminders all due at the same moment are added to that database;
   ``--workers`` worker processes (``python -m bot.services.worker``) send them to a fake Telegram
   Bot API on loopback. Delay = sent_at - due_at from the database; target: all within 60 s.
   Rasa is a fake trigger_intent endpoint (answers at once) unless ``--real-rasa``, which
   starts the action server and ``rasa run`` with models/ipt.tar.gz on the same database,
   so each reminder goes through the trained assistant and our action.

Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from typing_extensions import Self

from bot.clinic.store import db
from bot.clinic.store.models import Reminder
from bot.services.worker import claims
from tests.helpers import MODEL, REPO, endpoints_yml, free_port, start, stop, wait_http
from tests.store import dbutil
from tests.telegram.fakes import TOKEN, FakeBotAPI
from tests.worker.fakes import RASA_TOKEN, FakeRasaTrigger
from tests.worker.seed import seed_due_reminders

TARGET_S = 60.0


def scan_cost(url: str, cycles: int = 50) -> list[float]:
    """Milliseconds of one empty claim cycle (nothing due), ``cycles`` times."""
    out = []
    for _ in range(cycles):
        t0 = time.perf_counter()
        with db.unit_of_work(url) as s:
            got = claims.claim_due(s, datetime.now(timezone.utc), 100, timedelta(minutes=2))
        out.append((time.perf_counter() - t0) * 1000)
        assert got == [], "nothing should be due in the scan phase"
    return out


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class RealRasa:
    """The action server and `rasa run` with the trained model, on the benchmark database.

    ``kill_rasa`` and ``start_rasa`` stop and start the Rasa server alone, on the same port
    (scripts/soak_reminders.py kills it during a run).
    """

    def __init__(self, url: str, workdir: Path, env: dict[str, str] | None = None) -> None:
        self.url, self.dir = url, workdir
        self.procs: list = []
        self.token = secrets.token_hex(16)
        self.base = ""
        # the action server refuses calls without the shared secret (docs/privacy.md)
        self.env = {"IPT_DATABASE_URL": url, "IPT_ACTION_SECRET": secrets.token_hex(16),
                    **(env or {})}
        self.rasa = None
        self.port = 0
        self.starts = 0

    def __enter__(self) -> Self:
        aport, self.port = free_port(), free_port()
        actions = start([sys.executable, "-m", "bot.launch.action_server", "--port", str(aport)],
                        self.dir / "actions.log", env=self.env)
        self.procs.append(actions)
        wait_http(f"http://127.0.0.1:{aport}/health", proc=actions)
        (self.dir / "endpoints.yml").write_text(
            endpoints_yml(f"http://127.0.0.1:{aport}/webhook", tracker_store=True))
        self.start_rasa()
        return self

    def start_rasa(self, timeout: float = 180) -> None:
        """Start `rasa run` (again) on its port and wait until it answers."""
        self.starts += 1
        log = self.dir / ("rasa.log" if self.starts == 1 else f"rasa{self.starts}.log")
        self.rasa = start([sys.executable, "-m", "bot.launch.rasa_server", "run", "-m", str(MODEL),
                           "--enable-api", "-i", "127.0.0.1",
                           "-p", str(self.port), "--endpoints", str(self.dir / "endpoints.yml"),
                           "--credentials", str(REPO / "credentials.yml")],
                          log, env={**self.env, "RASA_TOKEN": self.token})
        self.procs.append(self.rasa)
        self.base = f"http://127.0.0.1:{self.port}"
        wait_http(f"{self.base}/", timeout=timeout, proc=self.rasa)

    def kill_rasa(self) -> None:
        """SIGKILL the Rasa server (the action server stays)."""
        assert self.rasa is not None
        os.killpg(self.rasa.pid, signal.SIGKILL)  # its own session: Rasa's children too
        self.rasa.wait()

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self.procs):
            stop(proc)


async def burst(url: str, n: int, workers: int, real: RealRasa | None, logdir: Path) -> dict:
    """Send ``n`` reminders due now; delays in seconds from the database."""
    telegram, fake_rasa = FakeBotAPI(), FakeRasaTrigger()
    await telegram.start()
    await fake_rasa.start()
    due = datetime.now(timezone.utc)
    seed_due_reminders(url, n, due, first_chat=1, due_ago=timedelta(0))
    env = {**os.environ, "IPT_DATABASE_URL": url, "TELEGRAM_BOT_TOKEN": TOKEN,
           "TELEGRAM_API_BASE_URL": telegram.url, "PYTHONUNBUFFERED": "1",
           "RASA_URL": real.base if real else fake_rasa.url,
           "RASA_TOKEN": real.token if real else RASA_TOKEN}
    t0 = time.perf_counter()
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.services.worker", "--poll", "0.5", cwd=REPO, env=env,
        stdout=(logdir / f"worker{i}.log").open("wb"), stderr=asyncio.subprocess.STDOUT)
        for i in range(workers)]
    last_left, progress_at = n, time.perf_counter()
    try:
        while True:
            with db.unit_of_work(url) as s:
                left = s.scalar(sa.select(sa.func.count()).select_from(Reminder).where(
                    Reminder.due_at == due, Reminder.status != "sent"))
            now = time.perf_counter()
            if left != last_left:
                last_left, progress_at = left, now
            if not left or now - t0 > 600:
                break
            if now - progress_at > 60:  # nothing sent for a minute: the logs say why
                print(f"no reminder sent for 60 s, {left} left; see {logdir}", flush=True)
                break
            await asyncio.sleep(0.5)
    finally:
        for proc in procs:
            proc.terminate()
            await proc.wait()
        await telegram.stop()
        await fake_rasa.stop()
    with db.unit_of_work(url) as s:
        sent = [(r - d).total_seconds() for d, r in s.execute(
            sa.select(Reminder.due_at, Reminder.sent_at).where(
                Reminder.due_at == due, Reminder.status == "sent"))]
    chats = {int(c.params["chat_id"]) for c in telegram.sent()}
    return {"sent": len(sent), "unique_chats": len(chats), "messages": len(telegram.sent()),
            "delays": sent}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appointments", type=int, default=10_000)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--real-rasa", action="store_true")
    args = parser.parse_args()
    if args.real_rasa and not MODEL.exists():
        print(f"error: {MODEL} is missing: run `make models/ipt.tar.gz`", file=sys.stderr)
        return 2
    if args.backend == "sqlite" and args.workers > 1:
        print("error: SQLite takes one worker", file=sys.stderr)
        return 2
    logs = REPO / "var" / "bench" / "reminders"  # the servers' and workers' logs, kept
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = (f"sqlite:///{work / 'bench.db'}" if args.backend == "sqlite"
               else dbutil.create_pg_database("ipt_bench"))
        try:
            db.migrate(url)
            now = datetime.now(timezone.utc)
            seed_due_reminders(url, args.appointments, now, first_chat=1_000_000,
                               due_ago=-timedelta(hours=20), starts_in=timedelta(days=1))
            scans = scan_cost(url)
            if args.real_rasa:
                with RealRasa(url, logs) as real:
                    result = asyncio.run(burst(url, args.burst, args.workers, real, logs))
            else:
                result = asyncio.run(burst(url, args.burst, args.workers, None, logs))
        finally:
            db.dispose_all()
            if args.backend == "postgres":
                dbutil.drop_pg_database(url)
    delays = result["delays"]
    rasa = "real Rasa + action server" if args.real_rasa else "fake trigger_intent"
    print(f"\n{args.backend}, {args.workers} worker(s), {rasa}, fake Telegram Bot API\n")
    print("| measure | p50 | p95 | max |")
    print("|---|---|---|---|")
    print(f"| empty scan, {args.appointments:,} appointments (ms) | "
          f"{statistics.median(scans):.1f} | {_pct(scans, 95):.1f} | {max(scans):.1f} |")
    if delays:
        print(f"| due to sent, {args.burst:,} due at once (s) | {statistics.median(delays):.1f} | "
              f"{_pct(delays, 95):.1f} | {max(delays):.1f} |")
    ok = result["sent"] == args.burst == result["unique_chats"] == result["messages"]
    print(f"\nsent {result['sent']}/{args.burst}, Telegram messages {result['messages']} to "
          f"{result['unique_chats']} chats; all within {TARGET_S:.0f} s: "
          f"{'yes' if ok and delays and max(delays) <= TARGET_S else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
