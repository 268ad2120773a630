"""Homework log and check-ins end to end: the running Rasa server, the action server, the database.

Each test talks to `rasa run` over REST as one new conversation, then checks the DATABASE (not
the bot's words) holds exactly the entries the client confirmed.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import tarfile
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
import sqlalchemy as sa

from bot.clinic import between_sessions as bs
from bot.clinic.store import db, services
from bot.clinic.store.models import CheckIn, Client, HomeworkEntry
from tests.domain_utils import domain
from tests.helpers import MODEL, VENV_BIN, bot_texts

# Entries are stamped with the message's time and compared with the clock: date-sensitive.
pytestmark = pytest.mark.clock


def _said(replies: list[dict]) -> str:
    return " \n".join(bot_texts(replies))


def _response(name: str) -> str:
    """The start of a response's text, to recognise it in the replies."""
    return domain()["responses"][name][0]["text"].strip()[:40]


def _model_has_crisis_policy() -> bool:
    """Whether the trained model includes the safety layer (issue 3)."""
    if not MODEL.exists():
        return False
    with tarfile.open(MODEL) as archive:
        for member in archive.getmembers():
            small_json = member.isfile() and member.size < 5_000_000 and member.name.endswith(".json")
            if small_json and b"CrisisPolicy" in archive.extractfile(member).read():
                return True
    return False


@pytest.fixture
def store(database_url):
    """The records database the servers use, migrated."""
    db.ensure_migrated(database_url)
    return database_url


def _client(url: str, sender: str | None, assignment: str | None = None,
            due: datetime | None = None) -> tuple[int, int | None]:
    """A client, linked to ``sender`` directly in the database; (client id, assignment id)."""
    with db.unit_of_work(url) as s:
        client, _ = services.create_client(s, f"Sam {secrets.token_hex(2)}", "Europe/London")
        if sender:
            services.link_channel(s, client, "rest", sender)
        hw_id = None
        if assignment:
            appt = services.book_appointment(s, client, due) if due else None
            hw_id = services.assign_homework(s, client, assignment, None,
                                             appt.id if appt else None).id
        return client.id, hw_id


def _saved(url: str, model: type, client_id: int) -> list:
    """The client's rows of ``model`` in the database, oldest first."""
    with db.unit_of_work(url) as s:
        return list(s.scalars(sa.select(model).where(model.client_id == client_id)
                              .order_by(model.id)))


def _entries(url: str, client_id: int) -> list[HomeworkEntry]:
    return _saved(url, HomeworkEntry, client_id)


def _checkins(url: str, client_id: int) -> list[CheckIn]:
    return _saved(url, CheckIn, client_id)


def _sender(kind: str) -> str:
    return f"e2e-{kind}-{secrets.token_hex(4)}"


def test_logging_homework_saves_exactly_the_confirmed_words(rasa_server, store):
    sender = _sender("log")
    due = datetime.now(timezone.utc) + timedelta(days=3)
    cid, hw_id = _client(store, sender, "Tell my sister how I felt", due)

    first = rasa_server.send(sender, "I want to log my homework")
    buttons = [b for r in first for b in r.get("buttons", [])]
    assert any(b["title"] == "Tell my sister how I felt" for b in buttons), first
    mine = next(b["payload"] for b in buttons if b["title"] == "Tell my sister how I felt")
    assert _response("utter_ask_hw_what_done") in _said(rasa_server.send(sender, mine))
    what = "Talked to my sister on Sunday,  over tea 🙂"
    assert _response("utter_ask_hw_how_it_went") in _said(rasa_server.send(sender, what))
    feeling_q = rasa_server.send(sender, "Awkward at first.\nThen fine.")
    assert [b["title"] for r in feeling_q for b in r.get("buttons", [])][:3] == ["0", "1", "2"]
    rasa_server.send(sender, "7")
    summary = _said(rasa_server.send(sender, "/skip"))
    assert what in summary and "Tell my sister how I felt" in summary and "7" in summary
    assert _entries(store, cid) == []  # nothing before the confirmation
    assert _response("utter_homework_saved") in _said(rasa_server.send(sender, "yes"))

    [entry] = _entries(store, cid)
    assert (entry.what_done, entry.how_it_went, entry.feeling, entry.obstacles,
            entry.assignment_id, entry.sender_id) == (
        what, "Awkward at first.\nThen fine.", 7, None, hw_id, sender)
    rasa_server.send(sender, "yes")  # a second "yes" after saving saves nothing
    assert len(_entries(store, cid)) == 1


def test_a_retried_save_call_does_not_save_twice(action_server, action_headers, store):
    sender = _sender("retry")
    cid, _ = _client(store, sender)
    ts = time.time()
    body = {
        "next_action": "action_save_homework_entry", "sender_id": sender, "version": "3.6.21",
        "domain": {}, "tracker": {
            "sender_id": sender, "paused": False, "followup_action": None,
            "latest_message": {"text": "yes", "intent": {"name": "affirm"}},
            "latest_action_name": "homework_form", "active_loop": {},
            "events": [{"event": "user", "timestamp": ts, "text": "yes",
                        "parse_data": {"intent": {"name": "affirm"}}}],
            "slots": {"hw_what_done": "Went for a walk with Jo", "hw_how_it_went": "nice",
                      "hw_feeling": 8, "hw_obstacles": "skipped", "hw_confirmed": True,
                      "hw_assignment": None, "hw_correcting_id": None},
        },
    }
    for _ in range(3):
        r = requests.post(action_server, json=body, headers=action_headers, timeout=30)
        assert r.status_code == 200, r.text
    [entry] = _entries(store, cid)
    assert entry.what_done == "Went for a walk with Jo" and entry.obstacles is None


def test_listing_shows_recent_entries(rasa_server, store):
    sender = _sender("list")
    cid, _ = _client(store, sender)
    now = datetime.now(timezone.utc)
    with db.unit_of_work(store) as s:
        bs.save_homework_entry(s, sender, bs.HomeworkDraft("Called Dad"), now - timedelta(days=1))
        bs.save_homework_entry(s, sender, bs.HomeworkDraft("Joined the choir"), now)
    said = _said(rasa_server.send(sender, "show my homework log"))
    assert said.index("Joined the choir") < said.index("Called Dad")
    assert len(_entries(store, cid)) == 2


def test_correcting_replaces_the_last_entry(rasa_server, store):
    sender = _sender("fix")
    cid, _ = _client(store, sender)
    with db.unit_of_work(store) as s:
        bs.save_homework_entry(s, sender, bs.HomeworkDraft("Caled my firend"),
                               datetime.now(timezone.utc))
    intro = _said(rasa_server.send(sender, "I made a mistake in my last entry"))
    assert "Caled my firend" in intro and _response("utter_ask_hw_what_done") in intro
    rasa_server.send(sender, "Called my friend Ana")
    rasa_server.send(sender, "It went well")
    rasa_server.send(sender, "8")
    rasa_server.send(sender, "nothing")
    assert _response("utter_homework_corrected") in _said(rasa_server.send(sender, "yes"))
    [entry] = _entries(store, cid)
    assert (entry.what_done, entry.how_it_went, entry.feeling, entry.obstacles) == (
        "Called my friend Ana", "It went well", 8, None)


@pytest.mark.parametrize("stop", ["cancel", "never mind", "stop"])
def test_stopping_mid_form_saves_nothing(rasa_server, store, stop):
    sender = _sender("stop")
    cid, _ = _client(store, sender)
    rasa_server.send(sender, "I did my homework")
    rasa_server.send(sender, "I went to the running club")
    said = _said(rasa_server.send(sender, stop))
    assert _response("utter_form_stopped") in said
    # The form is over: the next message is not taken as an answer.
    rasa_server.send(sender, "yes")
    assert _entries(store, cid) == []


def test_too_long_text_is_refused_not_cut(rasa_server, store):
    sender = _sender("long")
    cid, _ = _client(store, sender)
    rasa_server.send(sender, "log my homework")
    said = _said(rasa_server.send(sender, "a" * (bs.MAX_TEXT + 1)))
    assert str(bs.MAX_TEXT) in said and _response("utter_ask_hw_what_done") in said
    rasa_server.send(sender, "stop")
    assert _entries(store, cid) == []


def test_an_ipt_question_mid_form_is_answered_and_the_form_resumes(rasa_server, store):
    sender = _sender("question")
    cid, _ = _client(store, sender)
    rasa_server.send(sender, "I want to log my homework")
    replies = rasa_server.send(sender, "what are the phases of IPT?")
    said = _said(replies)
    assert _response("utter_ask_phases") in said
    assert _response("utter_ask_hw_what_done") in said
    assert said.index(_response("utter_ask_phases")) < said.index(
        _response("utter_ask_hw_what_done"))  # answered, then asked again
    # Tapping a button under that answer is another question, not what the client did.
    first_phase = next(b["payload"] for r in replies for b in r.get("buttons", [])
                       if b["payload"] == "/ask_initial_phase")
    said = _said(rasa_server.send(sender, first_phase))
    assert _response("utter_ask_initial_phase") in said
    assert _response("utter_ask_hw_what_done") in said
    rasa_server.send(sender, "I asked my partner for help with the kids")
    rasa_server.send(sender, "ok")
    rasa_server.send(sender, "5")
    rasa_server.send(sender, "skip")
    # At the confirmation too: answered, the summary shown again, nothing saved yet.
    said = _said(rasa_server.send(sender, "what is a role dispute?"))
    assert _response("utter_ask_role_disputes") in said
    assert "I asked my partner for help with the kids" in said
    assert _entries(store, cid) == []
    rasa_server.send(sender, "yes")
    [entry] = _entries(store, cid)
    assert entry.what_done == "I asked my partner for help with the kids"
    assert entry.how_it_went == "ok"


def test_ipt_questions_at_each_checkin_question_are_answered_and_never_stored(rasa_server, store):
    sender = _sender("ci-question")
    cid, _ = _client(store, sender, "Phone my brother")  # open homework: all three questions
    assert _response("utter_ask_ci_mood") in _said(rasa_server.send(sender, "check in"))
    for question, answer, asked_again, reply in [
        ("what is a role dispute?", "utter_ask_role_disputes", "utter_ask_ci_mood", "6"),
        ("how long does IPT last?", "utter_ask_duration", "utter_ask_ci_note", "A calm week"),
        ("what are the phases of IPT?", "utter_ask_phases", "utter_ask_ci_worked_on_homework",
         "yes"),
    ]:
        said = _said(rasa_server.send(sender, question))
        assert _response(answer) in said, (question, said)
        assert said.index(_response(answer)) < said.index(_response(asked_again)), said
        assert _checkins(store, cid) == []
        done = _said(rasa_server.send(sender, reply))
    assert _response("utter_checkin_saved") in done
    [checkin] = _checkins(store, cid)
    assert (checkin.mood, checkin.note, checkin.worked_on_homework) == (6, "A calm week", True)
    # Answered by the form itself: it never rejected a message, so no rule had to step in.
    events = requests.get(f"{rasa_server.url}/conversations/{sender}/tracker",
                          params={"token": rasa_server.token}, timeout=30).json()["events"]
    assert not [e for e in events if e["event"] == "action_execution_rejected"]
    assert [e["value"] for e in events if e.get("name") == "form_topic_answered"] == [
        "ask_role_disputes", "ask_duration", "ask_phases"]


@pytest.mark.xfail(not _model_has_crisis_policy(), strict=True,
                   reason="the safety layer (CrisisDetector, CrisisPolicy) is not in the model")
def test_a_crisis_mid_form_gets_the_crisis_response_and_is_never_saved(rasa_server, store):
    sender = _sender("crisis")
    cid, _ = _client(store, sender)
    rasa_server.send(sender, "I want to log my homework")
    said = _said(rasa_server.send(sender, "honestly I want to kill myself"))
    assert _response("utter_crisis_suicide") in said
    assert _response("utter_ask_hw_how_it_went") not in said
    rasa_server.send(sender, "yes")
    rasa_server.send(sender, "check in")
    said = _said(rasa_server.send(sender, "0"))
    said = _said(rasa_server.send(sender, "i took all my pills"))
    assert _response("utter_crisis_overdose") in said
    assert _entries(store, cid) == [] and _checkins(store, cid) == []


@pytest.mark.parametrize("text", [
    "I want to log my homework", "check in", "/start_checkin", "what's my homework?",
    "show my homework log", "correct my last entry", '/log_homework{"is_linked": true}',
])
def test_an_unlinked_conversation_is_told_to_ask_for_a_code(rasa_server, store, text):
    sender = _sender("unlinked")
    said = _said(rasa_server.send(sender, text))
    if "{" in text:
        # A typed shortcut with a forged slot is read as plain words (bot/payloads.py):
        # whatever it is taken for, it never opens the homework form.
        assert _response("utter_ask_hw_what_done") not in said
    else:
        assert _response("utter_not_linked") in said
    follow = _said(rasa_server.send(sender, "I called my sister"))
    assert _response("utter_ask_hw_how_it_went") not in follow
    with db.unit_of_work(store) as s:
        for model in (HomeworkEntry, CheckIn):
            count = sa.select(sa.func.count()).select_from(model).where(model.sender_id == sender)
            assert s.scalar(count) == 0, model.__name__


def test_after_linking_with_a_code_the_client_can_check_in(rasa_server, store):
    sender = _sender("code")
    with db.unit_of_work(store) as s:
        client, code = services.create_client(s, "Robin", "Europe/London")
        cid = client.id
        services.assign_homework(s, client, "Go to the book club")
    assert _response("utter_not_linked") in _said(rasa_server.send(sender, "check in"))
    assert "Do you agree?" in _said(rasa_server.send(sender, f"my code is {code}"))
    assert "Robin" in _said(rasa_server.send(sender, "yes"))
    mood_q = rasa_server.send(sender, "check in")
    assert [b["title"] for r in mood_q for b in r.get("buttons", [])] == [str(i) for i in range(11)]
    assert _response("utter_invalid_mood") in _said(rasa_server.send(sender, "eleven"))
    three = next(b["payload"] for r in mood_q for b in r.get("buttons", []) if b["title"] == "3")
    rasa_server.send(sender, three)
    asked = _said(rasa_server.send(sender, "A tough week at work, {braces} kept"))
    assert _response("utter_ask_ci_worked_on_homework") in asked
    saved = _said(rasa_server.send(sender, "/affirm"))
    assert _response("utter_checkin_saved") in saved
    [checkin] = _checkins(store, cid)
    assert (checkin.mood, checkin.note, checkin.worked_on_homework) == (
        3, "A tough week at work, {braces} kept", True)
    with db.unit_of_work(store) as s:
        client = s.get(Client, cid)
        public_id = client.public_id
        [row] = services.list_checkins(s, client)
        assert row.mood == 3 and client.display_name == "Robin"
    # The clinic sees it through its own tool.
    cli = subprocess.run([str(VENV_BIN / "ipt-admin"), "--database-url", store, "--json",
                          "checkins", "list", "--client", public_id],
                         check=False, capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    listed = json.loads(cli.stdout)
    assert [(c["mood"], c["note"]) for c in listed] == [(3, "A tough week at work, {braces} kept")]


def test_the_checkin_reply_is_the_same_for_any_score(rasa_server, store):
    replies = []
    for mood in ("0", "10"):
        sender = _sender("mood")
        cid, _ = _client(store, sender)  # no open homework: no third question
        rasa_server.send(sender, "check in")
        rasa_server.send(sender, mood)
        replies.append(bot_texts(rasa_server.send(sender, "/skip")))
        [checkin] = _checkins(store, cid)
        assert checkin.mood == int(mood) and checkin.note is None
        assert checkin.worked_on_homework is None
    assert replies[0] == replies[1]


def test_the_assigned_homework_is_shown_with_its_session(rasa_server, store):
    sender = _sender("show")
    due = datetime(datetime.now(timezone.utc).year + 4, 3, 4, 17, 30, tzinfo=timezone.utc)
    _client(store, sender, "Invite a colleague for lunch", due)
    said = _said(rasa_server.send(sender, "what's my homework?"))
    assert "Invite a colleague for lunch" in said and "4 Mar" in said and "17:30" in said
