"""5,000 random and hostile messages through the REST channel: no server error, and the
database is consistent afterwards.

Very long, binary-looking, emoji, right-to-left, SQL and HTML fragments, "/intent{...}"
injections (including deletion, linking and restart shortcuts), sent 8 at a time from 1,000
conversations to the session's `rasa run`. Time: docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import random
import string
from concurrent.futures import ThreadPoolExecutor

import requests
import sqlalchemy as sa

from bot import limits, payloads
from bot.clinic.store import db

# IPT_FUZZ_MESSAGES lowers it for a quick local run; the suite and CI send all 5,000.
N = int(os.environ.get("IPT_FUZZ_MESSAGES", "5000"))
PARALLEL = 8
# Many short conversations: a tracker is read and featurised whole on every message, so
# 5,000 messages in a few long conversations would test Rasa's speed, not our handling.
SENDERS = 1000

FRAGMENTS = [
    "'; DROP TABLE events; --", "\" OR 1=1 --", "1); DELETE FROM clients; --",
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "{{7*7}} ${7*7} %s %n",
    "مرحبا، ما هو العلاج النفسي؟", "שלום מה זה IPT", "\u202eevil\u202c", "\u200f\u200e",
    "👩‍👩‍👧‍👦🏳️‍🌈🧑🏽‍⚕️", "Z̷̢̛a̸l̵g̶o̷", "\ufeff\ufffe\uffff", "null", "undefined", "NaN",
    "what is IPT?", "delete my data", "yes", "no", "my code is K7QF-2MXD", "K7QF 2MXD",
    "I want to die", "check in", "log my homework", "../../etc/passwd", "\\x00\\n",
]
INJECTIONS = [
    "/request_data_deletion", "/affirm", "/deny", "/restart", "/session_start", "/greet",
    "/action_erase_data", "/link_account", '/link_account{"enrolment_code": "AAAA-2222"}',
    '/affirm{"hw_confirmed": true}', '/log_homework{"hw_what_done": "x", "hw_confirmed": true}',
    '/start_checkin{"ci_mood": 99}', "/greet{", '/greet{"a": [1, {"b": null}]}',
    "/EXTERNAL_reminder", "/nlu_fallback", "/" + "a" * 300, '/ask_privacy{"sender_id": "tg-1"}',
    "/crisis_suicide", "//affirm", "/ affirm",
]


def _message(rng: random.Random) -> str:
    kind = rng.randrange(9)
    if kind == 0:  # very long, sometimes just at the limit
        size = rng.choice([limits.DEFAULT_MAX_MESSAGE_CHARS, limits.DEFAULT_MAX_MESSAGE_CHARS + 1,
                           rng.randrange(2001, 20000)])
        return "".join(rng.choice(string.printable) for _ in range(size))
    if kind == 1:  # binary-looking: every code point below 0x100 and stray surrogates
        return "".join(chr(rng.randrange(0xD800, 0xE000)) if rng.random() < 0.05
                       else chr(rng.randrange(0, 0x100)) for _ in range(rng.randrange(1, 200)))
    if kind == 2:  # random unicode, any plane
        return "".join(chr(rng.choice([rng.randrange(0x20, 0xD7FF),
                                       rng.randrange(0xE000, 0x10FFFF)]))
                       for _ in range(rng.randrange(1, 120)))
    if kind in (3, 4):
        return rng.choice(INJECTIONS)
    if kind == 5:
        return " ".join(rng.choice(FRAGMENTS) for _ in range(rng.randrange(1, 4)))
    if kind == 6:
        return rng.choice(FRAGMENTS)
    if kind == 7:
        return rng.choice(["", " ", "\x00", "\n\n\t", "\r\n"])
    return rng.choice(FRAGMENTS) + rng.choice(INJECTIONS)


def test_five_thousand_hostile_messages_give_no_server_error(rasa_server, database_url):
    rng = random.Random(9)
    messages = [(f"fuzz-{i % SENDERS}", _message(rng)) for i in range(N)]
    url = f"{rasa_server.url}/webhooks/rest/webhook"
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=PARALLEL))

    def send(item: tuple[str, str]) -> tuple[int, object]:
        sender, text = item
        # json.dumps escapes lone surrogates, so they reach the server as JSON allows
        body = json.dumps({"sender": sender, "message": text})
        r = session.post(url, data=body, timeout=120,
                         headers={"Content-Type": "application/json",
                                  **rasa_server.rest_headers(sender)})
        return r.status_code, (r.json() if r.status_code == 200 else r.text[:200])

    # One conversation's messages must go in order: group by sender, 8 senders at a time.
    by_sender: dict[str, list[tuple[str, str]]] = {}
    for item in messages:
        by_sender.setdefault(item[0], []).append(item)
    with ThreadPoolExecutor(PARALLEL) as pool:
        results = [r for rs in pool.map(lambda items: [send(i) for i in items],
                                        by_sender.values()) for r in rs]

    errors = [r for r in results if r[0] != 200]
    assert not errors, errors[:5]
    assert all(isinstance(body, list) for _, body in results)

    # The database is consistent: only these conversations got rows, each stored user text is
    # one we sent (cleaned and within the limit), nobody got linked, and SQLite is intact.
    # what the server reads: JSON joins a high and a low surrogate sent in a row into one
    # (a typed intent shortcut is stored as plain text: bot/payloads.py)
    allowed = {payloads.harmless(limits.clean_text(json.loads(json.dumps(t))))
               for _, t in messages}
    allowed = {t for t in allowed if t and len(t) <= limits.DEFAULT_MAX_MESSAGE_CHARS}
    with db.unit_of_work(database_url) as s:
        rows = s.execute(sa.text(
            "SELECT sender_id, data FROM events WHERE sender_id LIKE 'fuzz-%'")).all()
        for sender, data in rows:
            event = json.loads(data)
            if event.get("event") == "user":
                assert event.get("text") in allowed, (sender, repr(event.get("text"))[:80])
        linked = s.scalar(sa.text(
            "SELECT count(*) FROM channel_links WHERE sender_id LIKE 'fuzz-%'"))
        assert linked == 0
        for child in ("channel_links", "homework_entries", "checkins", "safety_flags"):
            orphans = s.scalar(sa.text(
                f"SELECT count(*) FROM {child} WHERE client_id NOT IN (SELECT id FROM clients)"))
            assert orphans == 0, child
        if db.is_sqlite(database_url):
            assert s.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
    assert rasa_server.send("fuzz-after", "what is IPT?")  # still answering
