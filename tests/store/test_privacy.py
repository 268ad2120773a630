"""Consent before linking, erasure, retention and the privacy summary on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Restarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.clinic import privacy, retention
from bot.clinic.store import db, services
from bot.clinic.store.services import Redeem
from bot.rasa_ext.tracker_store import IPTTrackerStore
from tests import store_api as api
from tests.store.test_services import _add_events

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
DAY = 86400.0
# Retention is counted from NOW passed explicitly; codes are made and typed on the real clock.
pytestmark = pytest.mark.clock


def _client(url, name="Sam"):
    with db.unit_of_work(url) as s:
        client, code = services.create_client(s, name, "UTC")
        return client.public_id, code


def _events_at(url, sender, when: datetime, n=2):
    """``n`` tracker rows for ``sender``, the last at ``when``."""
    _add_events(url, sender, 0)  # creates the table
    engine = db.get_engine(url)
    from rasa.core.tracker_store import SQLTrackerStore

    table = SQLTrackerStore.SQLEvent.__table__
    with engine.begin() as conn:
        for i in range(n):
            conn.execute(table.insert().values(
                sender_id=sender, type_name="user",
                timestamp=when.timestamp() - (n - 1 - i) * 60,
                data=json.dumps({"event": "user", "text": f"hello {i}"})))


def _senders(url) -> list[str]:
    with db.unit_of_work(url) as s:
        return sorted(set(s.execute(sa.text("SELECT sender_id FROM events")).scalars()))


def test_a_valid_code_links_nothing_until_the_client_agrees(url):
    pid, code = _client(url)
    asked = api.link_account("tg-1", "telegram", code, url=url)
    assert asked.outcome is Redeem.NEEDS_CONSENT
    with db.unit_of_work(url) as s:
        assert services.client_for_sender(s, "tg-1") is None
        client = services.get_client(s, pid)
        assert client.consent_at is None
        assert s.scalar(sa.text("SELECT count(*) FROM enrolment_codes WHERE used_at IS NULL")) == 1
    linked = api.link_account("tg-1", "telegram", code, url=url, consent=True)
    assert linked.outcome is Redeem.LINKED
    with db.unit_of_work(url) as s:
        assert services.get_client(s, pid).consent_at is not None
    # A second chat of a client who already agreed links at once.
    with db.unit_of_work(url) as s:
        second = services.new_code(s, services.get_client(s, pid))
    assert api.link_account("web-2", "socketio", second, url=url).outcome is Redeem.LINKED


def test_consent_with_a_wrong_code_counts_as_a_failed_attempt(url):
    _client(url)
    result = api.link_account("tg-x", "telegram", "ZZZZ-2222", url=url, consent=True)
    assert result.outcome is Redeem.WRONG
    with db.unit_of_work(url) as s:
        assert s.scalar(sa.text("SELECT count(*) FROM code_attempts")) == 1
        assert s.scalar(sa.text("SELECT count(*) FROM clients WHERE consent_at IS NOT NULL")) == 0


def test_erasing_a_linked_client_removes_records_links_and_every_linked_conversation(url):
    pid, code = _client(url)
    _, other_code = _client(url, "Alex")
    api.link_account("tg-5", "telegram", code, url=url, consent=True)
    with db.unit_of_work(url) as s:
        second = services.new_code(s, services.get_client(s, pid))
    api.link_account("web-5", "socketio", second, url=url)
    api.link_account("tg-6", "telegram", other_code, url=url, consent=True)
    api.record_checkin("tg-5", 6, "a note", url=url)
    api.log_homework("web-5", "called my sister", url=url)
    for sender in ("tg-5", "web-5", "tg-6", "tg-stranger"):
        _add_events(url, sender, 3)
    summary = db.run(privacy.summary, "web-5", url=url)
    assert summary.linked and summary.counts == {
        "linked_chats": 2, "appointments": 0, "homework_assignments": 0,
        "homework_entries": 1, "checkins": 1, "safety_flags": 0, "messages": 6}
    erased = db.run(privacy.erase, "web-5", url=url)
    assert erased.client_erased and erased.removed["conversation_events"] == 6
    assert _senders(url) == ["tg-6", "tg-stranger"]
    assert api.client_for_sender("tg-5", url=url) is None
    assert api.client_for_sender("web-5", url=url) is None
    assert api.client_for_sender("tg-6", url=url).display_name == "Alex"
    with db.unit_of_work(url) as s:
        for table, left in (("homework_entries", 0), ("checkins", 0),
                            ("channel_links", 1), ("enrolment_codes", 1)):  # Alex's only
            assert s.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == left, table
        assert s.scalar(sa.text("SELECT count(*) FROM clients")) == 1


def test_erasing_an_unlinked_conversation_removes_only_its_own_events(url):
    _add_events(url, "web-a", 4)
    _add_events(url, "web-b", 2)
    api.link_account("web-a", "socketio", "ZZZZ-2222", url=url)  # a failed attempt
    assert db.run(privacy.summary, "web-a", url=url) == privacy.Summary(False, retention_days=90)
    erased = db.run(privacy.erase, "web-a", url=url)
    assert not erased.client_erased and erased.removed == {"conversation_events": 4}
    assert _senders(url) == ["web-b"]
    with db.unit_of_work(url) as s:
        assert s.scalar(sa.text("SELECT count(*) FROM code_attempts")) == 0


def test_retention_purges_old_unlinked_and_closed_conversations_only(url):
    _, code_a = _client(url, "Active")
    pid_closed, code_c = _client(url, "Closed")
    api.link_account("tg-active", "telegram", code_a, url=url, consent=True)
    api.link_account("tg-closed", "telegram", code_c, url=url, consent=True)
    old, recent = NOW - timedelta(days=91), NOW - timedelta(days=89)
    _events_at(url, "tg-active", old)
    _events_at(url, "tg-closed", old)
    _events_at(url, "web-old", old)
    _events_at(url, "web-recent", recent)
    assert retention.purge_expired(url, now=NOW) == {"conversations": 1, "events": 2, "days": 90}
    assert _senders(url) == ["tg-active", "tg-closed", "web-recent"]
    with db.unit_of_work(url) as s:
        services.update_client(s, services.get_client(s, pid_closed), status="closed")
    # 89 days later the recent one has expired too; the closed client's is purged now.
    result = retention.purge_expired(url, now=NOW + timedelta(days=2))
    assert result == {"conversations": 2, "events": 4, "days": 90}
    assert _senders(url) == ["tg-active"]
    # The closed client's records stay: retention touches conversations only.
    assert api.client_for_sender("tg-closed", url=url).display_name == "Closed"
    assert retention.purge_expired(url, now=NOW + timedelta(days=2))["conversations"] == 0
    # A shorter period from the caller.
    assert retention.purge_expired(url, now=NOW + timedelta(days=400), days=30)["conversations"] == 0


def test_retention_keeps_a_conversation_until_the_second_its_period_ends(url):
    _events_at(url, "web-edge", NOW - timedelta(days=90, seconds=-1))
    assert retention.purge_expired(url, now=NOW, days=90)["conversations"] == 0
    assert retention.purge_expired(url, now=NOW + timedelta(seconds=1), days=90)["conversations"] == 0
    assert retention.purge_expired(url, now=NOW + timedelta(seconds=2), days=90)["conversations"] == 1


def test_retention_counts_from_the_last_message_not_the_first(url):
    _events_at(url, "web-long", NOW - timedelta(days=10))
    _events_at(url, "web-long", NOW - timedelta(days=200))  # an old start, a recent message
    assert retention.purge_expired(url, now=NOW)["conversations"] == 0


def test_retention_without_any_conversation_table_purges_nothing(url):
    assert retention.purge_expired(url, now=NOW) == {"conversations": 0, "events": 0, "days": 90}


def test_the_tracker_store_does_not_write_an_erased_conversation_back(url, monkeypatch):
    monkeypatch.setenv(db.ENV_VAR, url)
    domain = Domain.from_yaml("version: '3.1'\nintents: [greet, affirm]\n")
    store = IPTTrackerStore(domain=domain, url=url)
    before = [ActionExecuted("action_listen"),
              UserUttered("my secret story", {"name": "greet", "confidence": 1.0}),
              BotUttered("ok")]
    tracker = DialogueStateTracker.from_events("tg-77", before)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(store.save(tracker))
        assert len(_events_of(url, "tg-77")) == 3
        # The user confirms erasure; the action server deletes the rows meanwhile.
        tracker.update(UserUttered("yes", {"name": "affirm", "confidence": 1.0}))
        tracker.update(ActionExecuted("action_erase_data"))
        db.run(privacy.erase, "tg-77", url=url)
        tracker.update(BotUttered("Done"))
        tracker.update(Restarted(metadata={privacy.ERASED_KEY: True}))
        tracker.update(ActionExecuted("action_listen"))
        loop.run_until_complete(store.save(tracker))
        stored = _events_of(url, "tg-77")
        assert [e["event"] for e in stored] == ["restart", "action"]
        assert "secret" not in json.dumps(stored) and "yes" not in json.dumps(stored)
        # A plain restart (not an erasure) keeps the usual behaviour: nothing is lost.
        tracker.update(UserUttered("again", {"name": "greet", "confidence": 1.0}))
        tracker.update(Restarted())
        loop.run_until_complete(store.save(tracker))
        assert [e["event"] for e in _events_of(url, "tg-77")][-2:] == ["user", "restart"]
    finally:
        loop.close()


def _events_of(url, sender):
    with db.unit_of_work(url) as s:
        rows = s.execute(sa.text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"),
                         {"s": sender}).scalars()
        return [json.loads(r) for r in rows]


@pytest.mark.parametrize("events, expected", [
    ([{"event": "bot", "metadata": {"utter_action": "utter_q"}},
      {"event": "action", "name": "action_listen"}, {"event": "user", "text": "yes"}], True),
    ([{"event": "bot", "metadata": {"utter_action": "utter_q"}}, {"event": "user"},
      {"event": "bot", "metadata": {"utter_action": "utter_other"}}, {"event": "user"}], False),
    ([{"event": "user", "text": "/affirm"}], False),
    ([], False),
])
def test_a_yes_counts_only_right_after_the_question(events, expected):
    assert privacy.asked_just_before(events, "utter_q") is expected
