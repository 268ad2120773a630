"""No dead end: "Did you mean ...?" below the threshold, then the menu; feelings acknowledged."""

from __future__ import annotations

import asyncio
import time

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.follow_up import ActionAcknowledgeUpdate, ActionSuggestTopics
from bot.clinic.store import db, services
from tests.domain_utils import domain

SENDER = "tg-77"


def _tracker(ranking: list[tuple[str, float]], before: list[dict] | None = None) -> Tracker:
    latest = {"text": "hm", "intent": {"name": "nlu_fallback", "confidence": 0.3},
              "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
              "entities": []}
    events = list(before or []) + [
        {"event": "user", "timestamp": time.time(), "text": "hm", "parse_data": latest}]
    return Tracker(SENDER, {}, latest, events, False, None, {}, "action_listen")


def _run(action, tracker: Tracker) -> list[dict]:
    dispatcher = CollectingDispatcher()
    asyncio.run(action.run(dispatcher, tracker, {"responses": domain()["responses"]}))
    return dispatcher.messages


RANKING = [("nlu_fallback", 0.3), ("ask_duration", 0.28), ("greet", 0.1),
           ("ask_time_limit", 0.2), ("ask_max_sessions", 0.1), ("ask_phases", 0.05)]


def test_a_low_confidence_message_gets_the_three_closest_topics_then_none_of_these():
    [message] = _run(ActionSuggestTopics(), _tracker(RANKING))
    assert message["text"] == domain()["responses"]["utter_did_you_mean"][0]["text"]
    payloads = [b["payload"] for b in message["buttons"]]
    assert payloads == ["/ask_duration", "/ask_time_limit", "/ask_max_sessions", "/deny"]
    assert message["buttons"][0]["title"] == "How long it lasts"


def test_with_nothing_close_it_says_it_cannot_help_and_shows_the_menu():
    [message] = _run(ActionSuggestTopics(), _tracker([("nlu_fallback", 0.3), ("greet", 0.2)]))
    assert message["response"] == "utter_default"


def test_a_second_miss_in_a_row_gets_the_menu_not_more_guesses():
    before = [{"event": "user", "text": "x", "parse_data": {}},
              {"event": "action", "name": "action_suggest_topics"},
              {"event": "bot", "text": "Did you mean"},
              {"event": "action", "name": "action_listen"}]
    [message] = _run(ActionSuggestTopics(), _tracker(RANKING, before))
    assert message["response"] == "utter_default"


@pytest.fixture
def store(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'ipt.db'}"
    monkeypatch.setenv("IPT_DATABASE_URL", url)
    db.migrate(url)
    return url


def test_someone_not_linked_sharing_a_feeling_is_not_offered_a_check_in(store):
    [message] = _run(ActionAcknowledgeUpdate(), _tracker([]))
    assert message["response"] == "utter_share_update_unlinked"


def test_a_linked_client_sharing_a_feeling_is_offered_a_check_in(store):
    with db.unit_of_work(store) as s:
        client, _ = services.create_client(s, "Sam")
        services.link_channel(s, client, "telegram", SENDER)
    [message] = _run(ActionAcknowledgeUpdate(), _tracker([]))
    assert message["response"] == "utter_share_update"
