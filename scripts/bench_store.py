"""Benchmark the store as the action server uses it: enrolment and one homework write.

usage: .venv/bin/python scripts/bench_store.py [--conversations 200] [--threads 8] [--no-postgres]

For each backend (a fresh SQLite file; a fresh PostgreSQL database on 127.0.0.1:5432) the
clinic enrols N clients, then N conversations each run action_link_account with their code
and save one homework entry through the same service functions the actions use, first one after another, then from
several threads at once. Prints p50/p95/max in milliseconds as a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.enrolment import ActionLinkAccount
from bot.clinic.enrolment import link_from_message
from bot.clinic.store import db, services
from tests import store_api as api

TARGET_MS = 50.0


def _tracker(sender: str, text: str) -> Tracker:
    """A tracker whose latest message is ``text`` (as the action server receives it)."""
    return Tracker(
        sender,
        {},
        {"text": text, "intent": {"name": "link_account"}, "entities": []},
        [{"event": "user", "text": text, "input_channel": "rest"}],
        False,
        None,
        {},
        "action_listen",
    )


def _conversation(url: str, i: int, code: str, assignment_id: int) -> tuple[float, float]:
    """Enrol one conversation and log one homework entry; the two durations in ms."""
    sender = f"bench-{i}"
    action, dispatcher = ActionLinkAccount(), CollectingDispatcher()
    # The code first: checked, and the privacy question asked (nothing is stored yet).
    asyncio.run(action.run(dispatcher, _tracker(sender, f"my code is {code}"), {}))
    assert dispatcher.messages[0]["response"] == "utter_ask_consent", dispatcher.messages
    # Timed: the "yes" (action_confirm_link's work: check the code again, link, record consent).
    t0 = time.perf_counter()
    answer = db.run(link_from_message, sender, "rest", f"my code is {code}", [], True, url=url)
    t1 = time.perf_counter()
    assert answer.response == "utter_linked", answer
    entry = api.log_homework(
        sender,
        "I talked to my sister",
        "better than I feared",
        6,
        assignment_id=assignment_id,
        url=url,
    )
    t2 = time.perf_counter()
    assert entry is not None
    return (t1 - t0) * 1000, (t2 - t1) * 1000


def _enrol(url: str, n: int) -> list[tuple[str, int]]:
    """Create ``n`` clients with a code and an assignment each."""
    out = []
    with db.unit_of_work(url) as s:
        for i in range(n):
            client, code = services.create_client(s, f"Client {i}", "Europe/Berlin")
            out.append((code, services.assign_homework(s, client, "Talk to my sister").id))
    return out


def _stats(values: list[float]) -> str:
    """p50 / p95 / max as a table fragment."""
    q = statistics.quantiles(values, n=100)
    return f"{q[49]:.1f} | {q[94]:.1f} | {max(values):.1f}"


def bench(name: str, url: str, n: int, threads: int) -> list[str]:
    """Run both passes on one database; Markdown rows."""
    import os

    os.environ[db.ENV_VAR] = url  # the action reads the URL from the environment
    db.migrate(url)
    rows = []
    for label, workers in (("sequential", 1), (f"{threads} threads", threads)):
        enrolled = _enrol(url, n)
        offset = 0 if workers == 1 else n
        # Warm the pool and the process, as a running action server would be.
        api.client_for_sender("warm-up", url=url)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(
                pool.map(
                    lambda item, offset=offset: _conversation(url, offset + item[0], *item[1]),
                    enumerate(enrolled),
                )
            )
        link, hw = [r[0] for r in results], [r[1] for r in results]
        rows.append(f"| {name} | {label} | action_link_account | {n} | {_stats(link)} |")
        rows.append(f"| {name} | {label} | homework write | {n} | {_stats(hw)} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)

    print("| database | mode | call | n | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for row in bench(
            "SQLite (WAL)", f"sqlite:///{tmp}/bench.db", args.conversations, args.threads
        ):
            print(row, flush=True)
    if not args.no_postgres:
        from tests.store import dbutil

        url = dbutil.create_pg_database("ipt_bench")
        try:
            for row in bench("PostgreSQL 15", url, args.conversations, args.threads):
                print(row, flush=True)
        finally:
            db.dispose_all()
            dbutil.drop_pg_database(url)
    print(f"\ntarget: p95 of the action call under {TARGET_MS:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
