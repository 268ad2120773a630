"""Rasa's tracker store in our database, from IPT_DATABASE_URL."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.clinic.store import db, services
from bot.rasa_ext.tracker_store import IPTTrackerStore

DOMAIN = Domain.from_yaml(
    "version: '3.1'\nintents: [greet]\nslots:\n  s:\n    type: text\n"
    "    mappings: [{type: custom}]\n"
)


def test_endpoints_config_builds_our_store_and_a_tracker_round_trips(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'ipt.db'}"
    monkeypatch.setenv(db.ENV_VAR, url)
    db.migrate(url)
    store = TrackerStore.create(
        EndpointConfig(type="bot.rasa_ext.tracker_store.IPTTrackerStore"), domain=DOMAIN
    )
    assert isinstance(getattr(store, "_tracker_store", store), IPTTrackerStore)

    tracker = DialogueStateTracker.from_events(
        "tg-42",
        [
            ActionExecuted("action_listen"),
            UserUttered("hello", {"name": "greet", "confidence": 1.0}),
            SlotSet("s", "value"),
        ],
        slots=DOMAIN.slots,
    )
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(store.save(tracker))
        again = loop.run_until_complete(store.retrieve("tg-42"))
    finally:
        loop.close()
    assert again.latest_message.text == "hello"
    assert again.get_slot("s") == "value"
    # Same file as the clinic's records: erasure can reach the conversation.
    with db.unit_of_work(url) as s:
        client, _ = services.create_client(s, "Sam", "UTC")
        services.link_channel(s, client, "telegram", "tg-42")
        assert services.delete_client(s, client)["conversation_events"] == 3


def test_saving_a_tracker_read_from_the_store_writes_only_new_events_without_counting(tmp_path):
    """Rasa counts the stored rows on every save; a tracker this store read or wrote knows."""
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'ipt.db'}"
    db.migrate(url)
    store = IPTTrackerStore(domain=DOMAIN, url=url)
    statements: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute",
                    lambda *args: statements.append(args[2].lower()))
    first = [ActionExecuted("action_listen"), UserUttered("hi", {"name": "greet"})]
    loop = asyncio.new_event_loop()
    try:
        new = DialogueStateTracker.from_events("c-1", first, slots=DOMAIN.slots)
        loop.run_until_complete(store.save(new))  # not from the store: counted as Rasa does
        assert any("count(" in s for s in statements)
        statements.clear()
        new.update(SlotSet("s", "one"))
        loop.run_until_complete(store.save(new))  # the same tracker again: it knows
        tracker = loop.run_until_complete(store.retrieve("c-1"))
        tracker.update(ActionExecuted("action_listen"))
        tracker.update(SlotSet("s", "two"))
        loop.run_until_complete(store.save(tracker))
        loop.run_until_complete(store.save(tracker))  # nothing new: nothing written
        assert not any("count(" in s for s in statements)
        again = loop.run_until_complete(store.retrieve("c-1"))
    finally:
        loop.close()
    assert [e.type_name for e in again.events] == [
        "action", "user", "slot", "action", "slot"]
    assert again.get_slot("s") == "two"


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_an_overlong_sender_id_neither_breaks_the_store_nor_its_health(backend, tmp_path,
                                                                       monkeypatch):
    # issue 19: on PostgreSQL a 300-character id failed the save and flipped /health to 503
    import contextlib

    from bot.rasa_ext.tracker_store import HEALTH, InvalidSenderId
    from tests.store import dbutil

    with contextlib.ExitStack() as stack:
        # PostgreSQL: a database of its own (the tracker store adds Rasa's events table)
        url = (f"sqlite:///{tmp_path / 'ipt.db'}" if backend == "sqlite"
               else stack.enter_context(dbutil.throwaway_pg_database("ipt_ids")))
        db.migrate(url)
        monkeypatch.setenv(db.ENV_VAR, url)
        store = TrackerStore.create(
            EndpointConfig(type="bot.rasa_ext.tracker_store.IPTTrackerStore"), domain=DOMAIN
        )
        store = getattr(store, "_tracker_store", store)
        long_id = "x" * 300
        tracker = DialogueStateTracker.from_events(
            long_id, [ActionExecuted("action_listen"), UserUttered("hello", {"name": "greet"})],
            slots=DOMAIN.slots)
        loop = asyncio.new_event_loop()
        try:
            with pytest.raises(InvalidSenderId):
                loop.run_until_complete(store.save(tracker))
            assert loop.run_until_complete(store.retrieve(long_id)) is None
            assert not HEALTH.failing
            ok = DialogueStateTracker.from_events(
                "tg-43", [ActionExecuted("action_listen")], slots=DOMAIN.slots)
            loop.run_until_complete(store.save(ok))
            assert not HEALTH.failing
            with db.unit_of_work(url) as s:
                assert s.execute(sa.text("SELECT count(*) FROM events WHERE sender_id = :s"),
                                 {"s": long_id}).scalar() == 0
        finally:
            loop.close()
            store.engine.dispose()
