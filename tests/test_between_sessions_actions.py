"""The homework and check-in actions on rasa-sdk trackers, with a real SQLite database (fast)."""

from __future__ import annotations

import asyncio
import functools
import time

import pytest
import sqlalchemy as sa
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.checkin import ActionSaveCheckin, ValidateCheckinForm
from actions.form_common import TOPIC_ANSWERED
from actions.homework import (
    ActionRequireLink,
    ActionSaveHomeworkEntry,
    ActionStartCorrection,
    ValidateHomeworkForm,
)
from bot.clinic import between_sessions as bs
from bot.clinic.store import db, services
from bot.clinic.store.models import CheckIn, HomeworkEntry
from tests.domain_utils import domain as merged_domain

SENDER = "tg-42"


@pytest.fixture
def store(tmp_path, monkeypatch) -> str:
    """A fresh SQLite database that the actions use through IPT_DATABASE_URL."""
    url = f"sqlite:///{tmp_path / 'ipt.db'}"
    monkeypatch.setenv("IPT_DATABASE_URL", url)
    db.migrate(url)
    return url


@pytest.fixture
def linked(store) -> int:
    with db.unit_of_work(store) as s:
        client, _ = services.create_client(s, "Sam")
        services.link_channel(s, client, "telegram", SENDER)
        return client.id


@functools.cache
def _domain() -> dict:


    return {"forms": merged_domain()["forms"], "responses": merged_domain()["responses"]}


def _tracker(text: str, intent: str, slots: dict, sender: str = SENDER,
             form: str = "homework_form", extra: dict | None = None) -> Tracker:
    """A tracker whose latest message is ``text``; the requested slot was just filled from it."""
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    latest.update(extra or {})
    events = [{"event": "user", "timestamp": time.time(), "text": text, "parse_data": latest}]
    requested = slots.get("requested_slot")
    if requested and slots.get(requested) is not None:
        # As action_extract_slots would have set it from this message.
        events.append({"event": "slot", "name": requested, "value": slots[requested]})
    return Tracker(sender, slots, latest, events, False, None, {"name": form}, "action_listen")


def _run(action, tracker: Tracker) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, _domain()))
    return events, dispatcher.messages


def _set(events: list[dict]) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def _responses(messages: list[dict]) -> list[str]:
    return [m.get("response") for m in messages]


def test_the_gate_says_not_linked_and_clears_old_answers(store):
    events, messages = _run(ActionRequireLink(), _tracker("log my homework", "log_homework",
                                                          {"hw_correcting_id": "9"}))
    assert _set(events)["is_linked"] is False and _set(events)["hw_correcting_id"] is None
    assert _responses(messages) == ["utter_not_linked"]


def test_the_gate_lets_a_linked_client_in(linked):
    events, messages = _run(ActionRequireLink(), _tracker("log my homework", "log_homework", {}))
    assert _set(events)["is_linked"] is True and messages == []


def _topic_intents() -> list[str]:
    """The IPT topic questions a form answers itself (the requests keep their own rules)."""
    return sorted(i for i in merged_domain()["intents"]
                  if bs.is_topic_intent(i) and i not in bs.REQUESTS_IN_FORMS)


def test_a_topic_question_is_answered_and_not_taken_as_an_answer(linked):
    slots = {"requested_slot": "hw_what_done"}
    events, messages = _run(ValidateHomeworkForm(), _tracker("what is a role dispute?",
                                                             "ask_role_disputes", slots))
    assert _responses(messages) == ["utter_ask_role_disputes"]
    # A slot event, so Rasa's form keeps the answer and asks hw_what_done again.
    assert _set(events) == {TOPIC_ANSWERED: "ask_role_disputes", "requested_slot": "hw_what_done"}
    assert ActiveLoop(None) not in events


@pytest.mark.parametrize(("form", "slots"), [
    (ValidateHomeworkForm(), ["hw_assignment", "hw_what_done", "hw_how_it_went", "hw_feeling",
                              "hw_obstacles", "hw_confirmed"]),
    (ValidateCheckinForm(), ["ci_mood", "ci_note", "ci_worked_on_homework"]),
])
def test_every_topic_question_is_answered_at_every_question_of_each_form(
        store, linked, form, slots):
    with db.unit_of_work(store) as s:  # an open assignment: every question is asked
        services.assign_homework(s, s.get(services.Client, linked), "Call Jo")
    assert len(_topic_intents()) >= 30
    for i, requested in enumerate(slots):
        answered_so_far = dict.fromkeys(slots[:i], "5")
        for topic in _topic_intents():
            tracker = _tracker(f"what about {topic[4:].replace('_', ' ')}?", topic,
                               {**answered_so_far, "requested_slot": requested},
                               form=form.form_name())
            events, messages = _run(form, tracker)
            assert _responses(messages) == [f"utter_{topic}"], (requested, topic)
            assert f"utter_{topic}" in _domain()["responses"]
            # The bookkeeping slot only (and at most the same question to ask again).
            set_now = _set(events)
            assert set_now.pop(TOPIC_ANSWERED) == topic
            assert set_now in ({}, {"requested_slot": requested}), (requested, topic, set_now)


def test_an_answer_the_nlu_misread_as_a_topic_is_kept(linked):
    slots = {"requested_slot": "hw_what_done"}
    text = "I told my partner about our argument"
    events, messages = _run(ValidateHomeworkForm(), _tracker(text, "ask_role_disputes", slots))
    assert _set(events)["hw_what_done"] == text
    assert TOPIC_ANSWERED not in _set(events) and messages == []


@pytest.mark.parametrize(("text", "intent"), [
    ("what do you store about me?", "ask_privacy"),
    ("what's my homework?", "ask_homework_assigned"),
    ("delete my data", "request_data_deletion"),
])
def test_requests_with_their_own_rules_are_left_to_them(linked, text, intent):
    # No slot event but requested_slot (which Rasa ignores here): the form rejects the
    # message and the rule (data/rules/) answers it.
    events, messages = _run(ValidateHomeworkForm(), _tracker(
        text, intent, {"requested_slot": "hw_what_done"}))
    assert messages == [] and set(_set(events)) <= {"requested_slot"}


def test_a_question_is_not_answered_again_when_the_form_comes_back_to_it(linked):
    tracker = _tracker("what is a role dispute?", "ask_role_disputes",
                       {"requested_slot": "hw_what_done"})
    # As after an unhappy path: another action ran between the message and the form.
    tracker.events += [{"event": "action", "name": "action_show_homework"},
                       {"event": "slot", "name": "requested_slot", "value": "hw_what_done"},
                       {"event": "action", "name": "homework_form"}]
    events, messages = _run(ValidateHomeworkForm(), tracker)
    assert messages == [] and TOPIC_ANSWERED not in _set(events)
    # Right after the message, with the form's own execution that Rasa adds, it is answered.
    tracker.events[-3:] = tracker.events[-2:]
    events, messages = _run(ValidateHomeworkForm(), tracker)
    assert _responses(messages) == ["utter_ask_role_disputes"]


def test_a_crisis_the_safety_layer_noted_is_never_kept(linked):
    slots = {"requested_slot": "hw_what_done", "hw_what_done": "I can't go on"}
    tracker = _tracker("I can't go on", "nlu_fallback", slots,
                       extra={"crisis": {"category": "suicide"}})
    events, messages = _run(ValidateHomeworkForm(), tracker)
    assert "hw_what_done" in _set(events) and _set(events)["hw_what_done"] is None
    assert TOPIC_ANSWERED not in _set(events) and messages == []
    # Even worded as an IPT question, a crisis gets no topic answer here (CrisisPolicy answers).
    tracker = _tracker("what is the point of going on?", "ask_what_is_ipt",
                       {"requested_slot": "hw_what_done"}, extra={"crisis": {"category": "suicide"}})
    events, messages = _run(ValidateHomeworkForm(), tracker)
    assert messages == [] and TOPIC_ANSWERED not in _set(events)


def test_too_long_text_is_refused_with_a_message(linked):
    long = "x" * (bs.MAX_TEXT + 1)
    events, messages = _run(ValidateHomeworkForm(), _tracker(
        long, "nlu_fallback", {"requested_slot": "hw_what_done", "hw_what_done": long}))
    assert _set(events)["hw_what_done"] is None
    assert "utter_text_too_long" in _responses(messages)


def test_never_mind_ends_the_form_with_nothing_kept(linked):
    slots = {"requested_slot": "hw_how_it_went", "hw_what_done": "walked"}
    events, _ = _run(ValidateHomeworkForm(), _tracker("never mind", "deny", slots))
    assert ActiveLoop(None) in events and _set(events)["hw_what_done"] is None


def test_another_clients_assignment_cannot_be_chosen(linked, store):
    with db.unit_of_work(store) as s:
        other, _ = services.create_client(s, "Alex")
        theirs = services.assign_homework(s, other, "Their task").id
        mine = services.assign_homework(s, s.get(services.Client, linked), "My task").id
    slots = {"requested_slot": "hw_assignment", "hw_assignment": str(theirs)}
    button = {"entities": [{"entity": "hw_assignment", "value": str(theirs)}]}
    events, messages = _run(ValidateHomeworkForm(), _tracker(
        f'/choose_assignment{{"hw_assignment": "{theirs}"}}', "choose_assignment", slots,
        extra=button))
    assert _set(events)["hw_assignment"] is None
    assert "utter_invalid_assignment" in _responses(messages)
    slots["hw_assignment"] = "the first one"
    events, _ = _run(ValidateHomeworkForm(), _tracker("the first one", "choose_assignment", slots))
    assert _set(events)["hw_assignment"] == str(mine)


def test_the_save_needs_a_clear_yes_and_a_linked_conversation(store, linked):
    slots = {"hw_what_done": "walked", "hw_how_it_went": "fine", "hw_feeling": "skipped",
             "hw_obstacles": "skipped", "hw_confirmed": False}
    _, messages = _run(ActionSaveHomeworkEntry(), _tracker("no", "deny", slots))
    assert _responses(messages) == ["utter_homework_not_saved"]
    slots["hw_confirmed"] = True
    _, messages = _run(ActionSaveHomeworkEntry(), _tracker("yes", "affirm", slots,
                                                           sender="someone-else"))
    assert _responses(messages) == ["utter_not_linked"]
    with db.unit_of_work(store) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(HomeworkEntry)) == 0
    events, messages = _run(ActionSaveHomeworkEntry(), _tracker("yes", "affirm", slots))
    assert _responses(messages) == ["utter_homework_saved"]
    assert all(v is None for v in _set(events).values())
    with db.unit_of_work(store) as s:
        [entry] = s.scalars(sa.select(HomeworkEntry)).all()
        assert (entry.feeling, entry.obstacles) == (None, None)


def test_correction_starts_only_from_the_clients_own_last_entry(store, linked):
    events, messages = _run(ActionStartCorrection(), _tracker("fix it", "correct_homework_entry",
                                                              {}))
    assert _responses(messages) == ["utter_nothing_to_correct"]
    assert _set(events)["hw_correcting_id"] is None
    with db.unit_of_work(store) as s:
        saved = bs.save_homework_entry(s, SENDER, bs.HomeworkDraft("old"), bs.message_time(1.0))
    events, messages = _run(ActionStartCorrection(), _tracker("fix it", "correct_homework_entry",
                                                              {}))
    assert _set(events)["hw_correcting_id"] == str(saved.id)
    assert _responses(messages) == ["utter_correction_intro"]


def test_the_checkin_asks_about_homework_only_when_some_is_open(store, linked):
    form = ValidateCheckinForm()
    tracker = _tracker("7", "nlu_fallback", {"requested_slot": "ci_mood", "ci_mood": "7"},
                       form="checkin_form")
    events, _ = _run(form, tracker)
    assert _set(events)["ci_mood"] == 7
    slots = asyncio.run(form.required_slots(
        ["ci_mood", "ci_note", "ci_worked_on_homework"], CollectingDispatcher(), tracker, {}))
    assert slots == ["ci_mood", "ci_note"]
    with db.unit_of_work(store) as s:
        services.assign_homework(s, s.get(services.Client, linked), "Call Jo")
    slots = asyncio.run(form.required_slots(
        ["ci_mood", "ci_note", "ci_worked_on_homework"], CollectingDispatcher(), tracker, {}))
    assert slots == ["ci_mood", "ci_note", "ci_worked_on_homework"]


def test_a_mood_that_is_not_0_to_10_is_asked_again(linked):
    events, messages = _run(ValidateCheckinForm(), _tracker(
        "eleven", "nlu_fallback", {"requested_slot": "ci_mood", "ci_mood": "eleven"},
        form="checkin_form"))
    assert _set(events)["ci_mood"] is None and "utter_invalid_mood" in _responses(messages)


def test_a_checkin_is_saved_with_the_note_as_written(store, linked):
    slots = {"ci_mood": 0, "ci_note": "  low,\nbut ok  ", "ci_worked_on_homework": None}
    events, messages = _run(ActionSaveCheckin(), _tracker("x", "nlu_fallback", slots))
    assert _responses(messages) == ["utter_checkin_saved"]
    assert SlotSet("ci_mood", None) in events
    with db.unit_of_work(store) as s:
        [checkin] = s.scalars(sa.select(CheckIn)).all()
        assert (checkin.mood, checkin.note) == (0, "  low,\nbut ok  ")
