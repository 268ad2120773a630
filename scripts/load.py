#!/usr/bin/env python
"""Load generator: N concurrent conversations over REST or socket.io; throughput and latency.

usage: .venv/bin/python scripts/load.py --rest http://127.0.0.1:5005 [--concurrency 1,10,30]
       .venv/bin/python scripts/load.py --web http://127.0.0.1:8080 --channel socketio ...
       options: --duration 30 --warmup 5 --mix ours|questions|fresh|init --database-url URL
                --json out.json

Each of N virtual users holds one conversation at a time and sends its next message as soon
as the previous one is answered (closed loop), so N is the number of conversations in
flight. With ``--mix ours`` a user picks, per conversation:
  questions  (60%) three to five questions about IPT, new conversation each time
  check-in   (20%) an enrolled client checks in: mood, skip the note
  homework   (20%) an enrolled client logs homework: five answers, then "yes"
Enrolled clients are created and linked in the database given by --database-url (the same
one the servers use); without it, everyone only asks questions. ``--mix init`` sends the
messages Rasa's ``rasa init`` assistant understands (the baseline). ``--mix fresh``: only
questions, each a new wording of a blind-set question (scripts/fresh_questions.py): no text
repeats in the run, so no cache serves any.

REST: a message's latency is the HTTP request. socket.io (through our web server, with a
signed session id, as the widget does, HTTP long-polling): the time until the last reply of
the burst, a burst ending after ``--quiet`` seconds without another message (not counted).
Each socket.io user connects from its own loopback address (127.0.x.y), as separate visitors
would come from their own, so nginx's sticky hash spreads them over the Rasa servers.

Prints one line per concurrency level: messages/s, p50/p95/p99 latency, errors. Homework
entries the assistant confirmed are listed in the JSON output (the fault tests check each
is in the database).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent

QUESTIONS = [
    "what is ipt", "how long does it last", "what are the phases", "tell me more",
    "what are the four problem areas", "what is a role dispute", "hi", "thanks",
    "how is it different from cbt", "what happens in the first session",
    "is ipt good for depression", "what is grief in ipt", "what is a role transition",
    "can I do ipt online", "what does the therapist do",
]
# --fresh-text: questions worded as people write them, so that no two are the same text and no
# cache helps (the sentence encoder keeps short messages it has seen).
LEAD_INS = ["hello, I wanted to ask", "quick question:", "sorry if this is silly but",
            "my GP mentioned IPT,", "I'm thinking about therapy,", "hi there, can you tell me",
            "I read about it online,", "before I book,", "one more thing,", "ok so"]
INIT_MESSAGES = ["hi", "I am sad", "yes", "great", "bye", "are you a bot?", "hello",
                 "not good", "no"]
# Recognised in the replies (the start of the domain's responses).
SAVED_HOMEWORK = "utter_homework_saved"
SAVED_CHECKIN = "utter_checkin_saved"


def response_start(name: str) -> str:
    """The first 40 characters of a domain response, to recognise it in replies."""
    from bot import domain_files

    return " ".join(domain_files.merged()["responses"][name][0]["text"].split())[:40]


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)  # seconds, successful messages
    errors: int = 0
    empty: int = 0  # answered with no message at all
    confirmed_homework: list[dict] = field(default_factory=list)
    confirmed_checkins: int = 0
    unavailable_answers: int = 0  # "try again shortly"
    scenarios: dict[str, int] = field(default_factory=dict)
    error_kinds: dict[str, int] = field(default_factory=dict)

    def summary(self, seconds: float) -> dict:
        lat = sorted(self.latencies)

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

        return {"messages": len(lat), "errors": self.errors, "empty": self.empty,
                "msg_per_s": len(lat) / seconds if seconds else 0.0,
                "p50_ms": statistics.median(lat) * 1000 if lat else float("nan"),
                "p95_ms": pct(0.95), "p99_ms": pct(0.99),
                "confirmed_homework": len(self.confirmed_homework),
                "confirmed_checkins": self.confirmed_checkins,
                "unavailable_answers": self.unavailable_answers,
                "scenarios": self.scenarios, "error_kinds": self.error_kinds}


class Enroller:
    """Creates a client in the records database and links a conversation to it."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        if url:
            from bot.clinic.store import db

            db.ensure_migrated(url)  # a fresh SQLite file of `make run` has no tables yet

    def link(self, sender: str) -> bool:
        if not self.url:
            return False
        from bot.clinic.store import db, services

        try:
            with db.unit_of_work(self.url) as s:
                client, _ = services.create_client(s, f"Load {sender[-6:]}", "UTC")
                services.link_channel(s, client, "load", sender)
            return True
        except Exception:  # noqa: BLE001 - the database may be down: ask questions instead
            return False


class RestTalker:
    """One conversation over Rasa's REST channel."""

    def __init__(self, http: aiohttp.ClientSession, base: str, prefix: str,
                 token: str | None = None) -> None:
        from bot.settings import (
            rest_token,  # the REST channel's credential (bot/rasa_ext/rest_channel.py)
        )

        self.http, self.url, self.prefix = http, f"{base}/webhooks/rest/webhook", prefix
        self.headers = {"Authorization": f"Bearer {token or rest_token()}"}
        self.sender = ""

    @property
    def conversation_id(self) -> str:
        return self.sender

    async def open(self) -> None:
        return None

    async def new_conversation(self) -> None:
        self.sender = f"{self.prefix}-{uuid.uuid4().hex[:12]}"

    async def say(self, text: str) -> list[str]:
        async with self.http.post(self.url, json={"sender": self.sender, "message": text},
                                  headers=self.headers,
                                  timeout=aiohttp.ClientTimeout(total=60)) as r:
            if r.status != 200:
                raise RuntimeError(f"http {r.status}")
            return [m.get("text", "") for m in await r.json() if m.get("text")]

    async def close(self) -> None:
        return None


class SocketIOTalker:
    """One conversation as the widget holds it: signed session, socket.io through the web server."""

    def __init__(self, http: aiohttp.ClientSession, web: str, visitor: str, quiet: float) -> None:
        self.http, self.web, self.visitor, self.quiet = http, web, visitor, quiet
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.sio = None
        self.own: aiohttp.ClientSession | None = None
        self.session: dict = {}

    @property
    def conversation_id(self) -> str:
        return self.session.get("conversation_id", "")

    async def open(self) -> None:
        import socketio

        # Each visitor connects from its own loopback address (127.0.0.0/8), so our web
        # server forwards a distinct X-Forwarded-For for it and nginx's sticky hash spreads
        # visitors over the Rasa servers as it would real browsers.
        self.own = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(self.visitor, 0)))
        self.sio = socketio.AsyncClient(reconnection=True, reconnection_delay=0.5,
                                        http_session=self.own)
        self.confirmed = asyncio.Event()

        @self.sio.on("bot_uttered")
        async def _uttered(data):
            await self.queue.put((data or {}).get("text", ""))

        @self.sio.on("session_confirm")
        async def _confirm(_data):
            self.confirmed.set()

        @self.sio.on("connect")
        async def _connect():  # again after a reconnection, as the widget does
            if self.session:
                await self.sio.emit("session_request",
                                    {"session_id": self.session["session_id"]})

        # HTTP long-polling only: python-engineio's websocket client needs a newer aiohttp
        # than Rasa 3.6 pins (3.9). Polling is the harder case for nginx: many requests per
        # session, each of which must reach the same Rasa server.
        await self.sio.connect(self.web, socketio_path="/socket.io/", transports=["polling"],
                               wait_timeout=20)

    async def new_conversation(self) -> None:
        """A new signed session on the same socket (a visitor who cleared the widget)."""
        async with self.own.post(f"{self.web}/api/session", json={}) as r:
            r.raise_for_status()
            self.session = await r.json()
        self.confirmed.clear()
        await self.sio.emit("session_request", {"session_id": self.session["session_id"]})
        await asyncio.wait_for(self.confirmed.wait(), 20)
        while not self.queue.empty():  # late replies of the previous conversation
            self.queue.get_nowait()

    async def say(self, text: str) -> list[str]:
        t0 = time.monotonic()
        await self.sio.emit("user_uttered", {"message": text,
                                             "session_id": self.session["session_id"]})
        replies = [await asyncio.wait_for(self.queue.get(), 60)]
        last = time.monotonic()
        while True:
            try:
                replies.append(await asyncio.wait_for(self.queue.get(), self.quiet))
                last = time.monotonic()
            except asyncio.TimeoutError:
                break
        self.last_latency = last - t0
        return replies

    async def close(self) -> None:
        if self.sio is not None:
            try:  # a pending long-poll would hold a polite disconnect for up to 25 s
                await asyncio.wait_for(self.sio.disconnect(), 2)
            except asyncio.TimeoutError:
                pass
        if self.own is not None:
            await self.own.close()


def fresh(question: str, rng: random.Random) -> str:
    """``question`` after a lead-in: longer than the encoder's cache keeps, so encoded anew."""
    return f"{rng.choice(LEAD_INS)} {question}"


_FRESH = None


def fresh_questions():
    """The run's one supply of distinct questions (scripts/fresh_questions.py), shared by
    every concurrency level of a run so that no text repeats across them either."""
    global _FRESH
    if _FRESH is None:
        sys.path.insert(0, str(REPO))
        from scripts.fresh_questions import FreshQuestions

        _FRESH = FreshQuestions()
    return _FRESH


def scenario(mix: str, enrolled: bool, rng: random.Random,
             fresh_text: bool = False) -> tuple[str, list[str]]:
    """(name, messages) of one conversation."""
    if mix == "init":
        return "init", rng.sample(INIT_MESSAGES, 4)
    if mix == "fresh":
        supply = fresh_questions()
        return "fresh", [supply.next() for _ in range(rng.randint(3, 5))]
    roll = rng.random()
    if enrolled and roll < 0.2:
        return "checkin", ["check in", str(rng.randint(0, 10)), "/skip"]
    if enrolled and roll < 0.4:
        what = f"Called my sister about the weekend, entry {uuid.uuid4().hex[:10]}"
        return "homework", ["I did my homework", what, "It went fine", str(rng.randint(0, 10)),
                            "/skip", "yes"]
    questions = rng.sample(QUESTIONS, rng.randint(3, 5))
    return "questions", [fresh(q, rng) for q in questions] if fresh_text else questions


async def user(idx: int, args: argparse.Namespace, http: aiohttp.ClientSession,
               results: Results, enroller: Enroller, measuring: asyncio.Event,
               stop: asyncio.Event, texts: dict[str, str]) -> None:
    """One virtual user: conversation after conversation until ``stop``."""
    rng = random.Random(args.seed * 1000 + idx)
    loop = asyncio.get_running_loop()

    def count_error(exc: BaseException) -> None:
        if measuring.is_set():
            results.errors += 1
            kind = str(exc) if isinstance(exc, RuntimeError) else type(exc).__name__
            results.error_kinds[kind] = results.error_kinds.get(kind, 0) + 1

    talker: RestTalker | SocketIOTalker | None = None
    try:
        while not stop.is_set():
            if talker is None:
                if args.channel == "socketio":
                    talker = SocketIOTalker(http, args.web,
                                            f"127.0.{idx // 250 + 1}.{idx % 250 + 2}", args.quiet)
                else:
                    talker = RestTalker(http, args.rest, f"load-{idx}", args.rest_token)
                try:
                    await talker.open()
                except Exception as exc:  # noqa: BLE001 - counted, the run goes on
                    count_error(exc)
                    await talker.close()
                    talker = None
                    await asyncio.sleep(0.5)
                    continue
            try:
                await talker.new_conversation()
            except Exception as exc:  # noqa: BLE001
                count_error(exc)
                await talker.close()
                talker = None
                await asyncio.sleep(0.5)
                continue
            wants_enrolled = args.mix == "ours" and rng.random() < 0.4
            enrolled = wants_enrolled and await loop.run_in_executor(
                None, enroller.link, talker.conversation_id)
            name, messages = scenario(args.mix, enrolled, rng, args.fresh_text)
            if measuring.is_set():
                results.scenarios[name] = results.scenarios.get(name, 0) + 1
            for text in messages:
                if stop.is_set():
                    break
                t0 = time.monotonic()
                try:
                    replies = await talker.say(text)
                except Exception as exc:  # noqa: BLE001
                    count_error(exc)
                    await asyncio.sleep(0.2)
                    break
                latency = getattr(talker, "last_latency", None) or (time.monotonic() - t0)
                talker.last_latency = None
                said = " ".join(" ".join(replies).split())
                if measuring.is_set():
                    results.latencies.append(latency)
                    if not replies:
                        results.empty += 1
                    if texts["unavailable"] in said:
                        results.unavailable_answers += 1
                if texts["homework"] in said and name == "homework":
                    results.confirmed_homework.append(
                        {"sender": talker.conversation_id, "what_done": messages[1]})
                if texts["checkin"] in said and name == "checkin":
                    results.confirmed_checkins += 1
    finally:
        if talker is not None:
            await talker.close()


async def run_level(args: argparse.Namespace, concurrency: int) -> dict:
    """Run ``concurrency`` users for warm-up plus duration; the summary of the measured part."""
    results = Results()
    measuring, stop = asyncio.Event(), asyncio.Event()
    enroller = Enroller(args.database_url)
    texts = {"homework": response_start(SAVED_HOMEWORK), "checkin": response_start(SAVED_CHECKIN),
             "unavailable": response_start("utter_records_unavailable")} \
        if args.mix != "init" else {"homework": "\0", "checkin": "\0", "unavailable": "\0"}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        tasks = [asyncio.create_task(user(i, args, http, results, enroller, measuring, stop,
                                          texts)) for i in range(concurrency)]
        await asyncio.sleep(args.warmup)
        measuring.set()
        t0 = time.monotonic()
        await asyncio.sleep(args.duration)
        stop.set()
        elapsed = time.monotonic() - t0
        await asyncio.wait(tasks, timeout=90)
    summary = results.summary(elapsed)
    summary["concurrency"] = concurrency
    summary["confirmed"] = results.confirmed_homework
    return summary


def run(args: argparse.Namespace) -> list[dict]:
    return [asyncio.run(run_level(args, c)) for c in args.concurrency]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rest-token", default=None,
                        help="the REST channel's credential (default: IPT_REST_TOKEN or "
                             "var/secrets/rest_token)")
    parser.add_argument("--rest", default="http://127.0.0.1:5005",
                        help="Rasa (or nginx in front of Rasa) base URL")
    parser.add_argument("--web", default="http://127.0.0.1:8080", help="our web server (socket.io)")
    parser.add_argument("--channel", choices=["rest", "socketio"], default="rest")
    parser.add_argument("--concurrency", default="1,10,30",
                        type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--quiet", type=float, default=0.3,
                        help="socket.io: seconds without a reply that end a burst")
    parser.add_argument("--mix", choices=["ours", "questions", "fresh", "init"], default="ours",
                        help="ours: questions, check-ins, homework; questions: only those; "
                             "fresh: questions from the blind sets, every text new in the run "
                             "(scripts/fresh_questions.py)")
    parser.add_argument("--database-url", default=None,
                        help="the servers' records database, to enrol clients (ours)")
    parser.add_argument("--fresh-text", action="store_true",
                        help="ours/questions: every question worded anew (no cache helps)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", default=None, help="write the summaries here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(REPO))
    args = parse_args(argv)
    summaries = run(args)
    for s in summaries:
        print(f"{args.channel:>8} {args.mix:>5} c={s['concurrency']:<3} "
              f"{s['msg_per_s']:6.1f} msg/s  p50 {s['p50_ms']:6.0f} ms  p95 {s['p95_ms']:6.0f} ms"
              f"  p99 {s['p99_ms']:6.0f} ms  n={s['messages']} errors={s['errors']} "
              f"scenarios={s['scenarios']}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(summaries, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
