"""action_link_account against a real database (SQLite and PostgreSQL), without a model."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.enrolment import ActionConfirmLink, ActionLinkAccount
from bot.clinic.store import db, services
from bot.clinic.store.models import utcnow


@pytest.fixture
def env_url(url, monkeypatch):
    """The action finds the database through IPT_DATABASE_URL, like the action server."""
    monkeypatch.setenv(db.ENV_VAR, url)
    return url


def new_client(db_url: str, name: str = "Sam", now: datetime | None = None) -> str:
    """Create a client; returns their code."""
    with db.unit_of_work(db_url) as s:
        return services.create_client(s, name, "Europe/Berlin", now=now)[1]


def say(sender: str, text: str, entities: list | None = None, intent: str = "link_account"):
    """Run the action for one message; returns (response name, its variables)."""
    tracker = Tracker(
        sender,
        {},
        {"text": text, "intent": {"name": intent}, "entities": entities or []},
        [{"event": "user", "text": text, "input_channel": "telegram"}],
        False,
        None,
        {},
        "action_listen",
    )
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionLinkAccount().run(dispatcher, tracker, {}))
    assert events == []  # nothing about the link lives in slots
    [message] = dispatcher.messages
    return message["response"], {k: v for k, v in message.items() if k == "display_name"}


def answer(sender: str, code_message: str, reply: str = "yes", intent: str = "affirm",
           asked: str = "utter_ask_consent", entities: list | None = None):
    """Run action_confirm_link for ``reply`` after the bot asked ``asked`` about the message
    ``code_message``; returns the response name and its variables."""
    events = [
        {"event": "user", "text": code_message, "input_channel": "telegram",
         "parse_data": {"intent": {"name": "link_account"}, "entities": entities or []}},
        {"event": "action", "name": "action_link_account"},
        {"event": "bot", "text": "...", "metadata": {"utter_action": asked}},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": reply, "input_channel": "telegram",
         "parse_data": {"intent": {"name": intent}}},
    ]
    tracker = Tracker(sender, {}, {"text": reply, "intent": {"name": intent}}, events, False,
                      None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    assert asyncio.run(ActionConfirmLink().run(dispatcher, tracker, {})) == []
    [message] = dispatcher.messages
    return message["response"], {k: v for k, v in message.items() if k == "display_name"}


def test_a_valid_code_asks_for_consent_then_links_and_greets_by_name(env_url):
    code = new_client(env_url, "Sam")
    typed = "my code is " + code.lower().replace("-", " ")
    assert say("tg-a", typed)[0] == "utter_ask_consent"
    with db.unit_of_work(env_url) as s:
        assert services.client_for_sender(s, "tg-a") is None  # nothing linked before "yes"
    assert answer("tg-a", typed) == ("utter_linked", {"display_name": "Sam"})
    assert say("tg-a", "link my account") == ("utter_already_linked", {"display_name": "Sam"})
    with db.unit_of_work(env_url) as s:
        assert services.client_for_sender(s, "tg-a").display_name == "Sam"


def test_wrong_used_and_expired_codes_get_one_and_the_same_answer(env_url):
    # one reply for every refused code: the answer must not tell a guesser that a code exists
    code = new_client(env_url)
    old = new_client(env_url, "Old", now=utcnow() - timedelta(days=8))
    assert say("tg-b", "ZZZZ-2222")[0] == "utter_code_wrong"
    assert say("tg-b", old)[0] == "utter_code_wrong"
    assert answer("tg-c", code)[0] == "utter_linked"
    assert say("tg-b", code)[0] == "utter_code_wrong"
    assert say("tg-d", "I have a code from my clinic")[0] == "utter_ask_enrolment_code"


def test_a_code_at_the_consent_step_counts_as_an_attempt(env_url):
    # each valid code asked about counts: nobody can test codes without limit at that step
    codes = [new_client(env_url, f"Probe {i}") for i in range(6)]
    for code in codes[:5]:
        assert say("tg-p", code)[0] == "utter_ask_consent"
    assert say("tg-p", codes[5])[0] == "utter_code_locked"
    assert answer("tg-p", codes[0])[0] == "utter_code_locked"  # the "yes" is checked too
    with db.unit_of_work(env_url) as s:
        assert services.client_for_sender(s, "tg-p") is None


def test_five_wrong_codes_then_even_the_right_one_is_refused(env_url):
    code = new_client(env_url)
    for guess in ("AAAA-2222", "AAAA-2223", "AAAA-2224", "AAAA-2225", "AAAA-2226"):
        assert say("tg-e", guess)[0] == "utter_code_wrong"
    assert say("tg-e", code)[0] == "utter_code_locked"
    with db.unit_of_work(env_url) as s:
        assert services.client_for_sender(s, "tg-e") is None
        until = services.lockout_until(s, "tg-e")
        assert until is not None and until > datetime.now(timezone.utc) + timedelta(minutes=59)


def test_an_intent_shortcut_goes_through_the_same_check(env_url):
    code = new_client(env_url, "Alex")
    forged = [{"entity": "enrolment_code", "value": "NOT-A-CODE"}]
    assert say("web-f", '/link_account{"enrolment_code": "NOT-A-CODE"}', forged)[0] in {
        "utter_ask_enrolment_code",
        "utter_code_wrong",
    }
    guessed = [{"entity": "enrolment_code", "value": "AAAA-2222"}]
    assert say("web-f", '/link_account{"enrolment_code": "AAAA-2222"}', guessed)[0] == (
        "utter_code_wrong"
    )
    with db.unit_of_work(env_url) as s:
        assert services.client_for_sender(s, "web-f") is None
    good = [{"entity": "enrolment_code", "value": code}]
    shortcut = f'/link_account{{"enrolment_code": "{code}"}}'
    assert say("web-f", shortcut, good)[0] == "utter_ask_consent"
    assert answer("web-f", shortcut, entities=good) == ("utter_linked", {"display_name": "Alex"})


def test_no_or_a_yes_to_another_question_links_nothing(env_url):
    code = new_client(env_url, "Kai")
    assert answer("tg-h", code, "no", "deny")[0] == "utter_consent_declined"
    assert answer("tg-h", code, "/affirm", asked="utter_code_wrong")[0] == "utter_affirm"
    assert answer("tg-h", code, "/deny", "deny", asked="utter_greet")[0] == "utter_deny"
    with db.unit_of_work(env_url) as s:
        assert services.client_for_sender(s, "tg-h") is None
        assert services.get_client(s, services.list_clients(s)[0].public_id).consent_at is None
    assert answer("tg-h", code, "/affirm")[0] == "utter_linked"  # the shortcut = the button


def test_a_database_failure_gets_a_polite_answer(monkeypatch):
    monkeypatch.setenv(db.ENV_VAR, "postgresql://postgres@127.0.0.1:1/none")
    assert say("tg-g", "K7QF-2MXD")[0] == "utter_link_error"


def test_code_guessing_from_one_address_is_refused_whatever_the_conversation(env_url,
                                                                              monkeypatch):
    """The web channel puts the visitor's address tag in the message metadata; the action
    counts it: new conversations from one address stop getting codes checked (issue 19)."""
    from bot.clinic.store import codes

    monkeypatch.setenv("IPT_MAX_CODE_ATTEMPTS_PER_ADDRESS", "3")
    code = new_client(env_url, "Robin")

    def say_from(sender: str, text: str, address: str) -> str:
        meta = {"address_tag": codes.address_tag(address)}
        tracker = Tracker(sender, {}, {"text": text, "intent": {"name": "link_account"},
                                       "entities": []},
                          [{"event": "user", "text": text, "input_channel": "socketio",
                            "metadata": meta}], False, None, {}, "action_listen")
        dispatcher = CollectingDispatcher()
        asyncio.run(ActionLinkAccount().run(dispatcher, tracker, {}))
        return dispatcher.messages[0]["response"]

    for i in range(3):
        assert say_from(f"web-g{i}", "my code is AAAA-2222", "203.0.113.7") == "utter_code_wrong"
    # the right code from a fourth new conversation at the same address: not even checked
    assert say_from("web-g3", f"my code is {code}", "203.0.113.7") == "utter_code_locked"
    # the client, from their own address, links with it
    assert say_from("web-robin", f"my code is {code}", "198.51.100.4") == "utter_ask_consent"
