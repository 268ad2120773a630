"""Privacy and security end to end: `rasa run` (REST), the action server and the database.

Erasure from the conversation (records and tracker rows gone), the notice, "what do you
store?", shortcuts that try to skip a confirmation, one client reaching for another's data,
authentication of Rasa's HTTP API and of the action server, and the REST input limits.
"""

from __future__ import annotations

import json
import secrets

import pytest
import requests
import sqlalchemy as sa

from bot.clinic import privacy
from bot.clinic.store import db, services
from bot.clinic.store.models import CheckIn, HomeworkEntry
from tests import store_api as api
from tests.domain_utils import domain
from tests.helpers import bot_texts


def said(replies: list[dict]) -> str:
    return " \n".join(bot_texts(replies))


def response(name: str) -> str:
    """The start of a response's text, to recognise it in the replies."""
    return domain()["responses"][name][0]["text"].strip()[:40]


def new_sender(prefix: str = "tg") -> str:
    """A new conversation id: a Telegram chat (sent with the relay's credential), or, for
    "web", one standing for a second channel (the REST token may not use real ``web-`` ids)."""
    if prefix == "tg":
        return f"tg-{secrets.randbelow(10**12)}"
    return f"{prefix}test-{secrets.token_hex(6)}"


@pytest.fixture
def store(database_url):
    db.ensure_migrated(database_url)
    return database_url


def stored_events(url: str, sender: str) -> list[dict]:
    with db.unit_of_work(url) as s:
        rows = s.execute(sa.text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"),
                         {"s": sender}).scalars().all()
    return [json.loads(r) for r in rows]


def user_texts(url: str, sender: str) -> list[str]:
    return [e.get("text") for e in stored_events(url, sender) if e.get("event") == "user"]


def enrol(url: str, name: str) -> tuple[str, str]:
    """A new client; (public id, code)."""
    with db.unit_of_work(url) as s:
        client, code = services.create_client(s, name, "UTC")
        return client.public_id, code


def link(rasa_server, sender: str, code: str) -> None:
    """Link through the conversation: the code, the privacy question, "yes"."""
    assert response("utter_ask_consent")[:20] in said(rasa_server.send(sender, f"my code is {code}"))
    assert "Welcome" in said(rasa_server.send(sender, "yes"))


# --- the notice and "what do you store?" ----------------------------------------------------


def test_first_contact_gives_the_short_notice_once_with_a_link(rasa_server, store):
    sender = new_sender("web")
    first = said(rasa_server.send(sender, "/greet"))
    assert response("utter_greet") in first
    assert "About your privacy" in first and "/privacy" in first and "90 days" in first
    assert "About your privacy" not in said(rasa_server.send(sender, "hello"))


def test_what_is_stored_is_answered_truthfully_for_unlinked_and_linked(rasa_server, store):
    stranger = new_sender()
    assert "not linked to a clinic record" in said(
        rasa_server.send(stranger, "what do you store about me?"))
    sender = new_sender()
    _, code = enrol(store, "Robin")
    link(rasa_server, sender, code)
    api.record_checkin(sender, 5, "ok", url=store)
    answer = said(rasa_server.send(sender, "/ask_privacy"))
    assert "linked to your clinic record" in answer
    assert "1 check-in(s)" in answer and "0 homework log entr(ies)" in answer
    assert "You agreed to the privacy notice: " in answer and "not yet" not in answer


# --- erasure --------------------------------------------------------------------------------


def test_an_unlinked_user_erases_their_conversation_after_confirming(rasa_server, store):
    sender = new_sender("web")
    other = new_sender("web")
    rasa_server.send(sender, "my sister and I argue all the time")
    rasa_server.send(other, "what is IPT?")
    asked = said(rasa_server.send(sender, "delete my data"))
    assert response("utter_confirm_erase_conversation") in asked
    assert response("utter_data_erased") in said(rasa_server.send(sender, "yes"))
    kept = json.dumps(stored_events(store, sender))
    assert "sister" not in kept and "delete my data" not in kept
    assert user_texts(store, sender) == []
    assert user_texts(store, other) == ["what is IPT?"]
    # The conversation goes on afresh, and Rasa's own view of it holds nothing old either.
    rasa_server.send(sender, "what is IPT?")
    tracker = requests.get(f"{rasa_server.url}/conversations/{sender}/tracker",
                           params={"token": rasa_server.token}, timeout=10).json()
    assert "sister" not in json.dumps(tracker)
    assert user_texts(store, sender) == ["what is IPT?"]


def test_a_linked_client_erases_records_and_every_linked_conversation(rasa_server, store):
    telegram, web = new_sender("tg"), new_sender("web")
    pid, code = enrol(store, "Sam")
    link(rasa_server, telegram, code)
    with db.unit_of_work(store) as s:
        second = services.new_code(s, services.get_client(s, pid))
    assert "Welcome" in said(rasa_server.send(web, f"my code is {second}"))  # agreed already
    api.log_homework(web, "called my sister", url=store)
    rasa_server.send(web, "what is IPT?")
    bystander_pid, bystander_code = enrol(store, "Bystander")
    bystander = new_sender()
    link(rasa_server, bystander, bystander_code)

    assert response("utter_confirm_erase_client") in said(
        rasa_server.send(telegram, "/request_data_deletion"))
    assert response("utter_data_erased") in said(rasa_server.send(telegram, "/affirm"))

    with db.unit_of_work(store) as s:
        with pytest.raises(services.NotFound):
            services.get_client(s, pid)
        assert services.client_for_sender(s, web) is None
        assert services.get_client(s, bystander_pid).display_name == "Bystander"
    assert stored_events(store, web) == []
    assert user_texts(store, telegram) == []
    assert "Welcome" in " ".join(e.get("text") or "" for e in stored_events(store, bystander))
    # Afterwards the chat is an unlinked one.
    assert response("utter_not_linked") in said(rasa_server.send(telegram, "show my homework"))


def test_no_keeps_everything(rasa_server, store):
    sender = new_sender()
    rasa_server.send(sender, "hello")
    rasa_server.send(sender, "/request_data_deletion")
    assert response("utter_deletion_cancelled") in said(rasa_server.send(sender, "no"))
    assert "hello" in user_texts(store, sender)


# --- shortcuts cannot skip confirmation -----------------------------------------------------


@pytest.mark.parametrize("attempt", [
    ["/affirm"],
    ['/affirm{"confirmed": true}'],
    ["/request_data_deletion", "what is IPT?", "/affirm"],
    ["/request_data_deletion", "/greet", "yes"],
    ["/action_erase_data"],
])
def test_shortcuts_cannot_erase_without_the_question_right_before(rasa_server, store, attempt):
    sender = new_sender()
    pid, code = enrol(store, "Kim")
    link(rasa_server, sender, code)
    for text in attempt:
        rasa_server.send(sender, text)
    assert api.client_for_sender(sender, url=store).public_id == pid
    assert "yes" in user_texts(store, sender)  # the linking "yes": the conversation is kept


@pytest.mark.parametrize("attempt", [
    lambda code: ["/affirm"],
    lambda code: [f'/link_account{{"enrolment_code": "{code}"}}', "/greet", "/affirm"],
    lambda code: [f"my code is {code}", "what is IPT?", "yes"],
])
def test_shortcuts_cannot_link_without_consent_right_after_the_code(rasa_server, store, attempt):
    sender = new_sender()
    pid, code = enrol(store, "Lee")
    for text in attempt(code):
        rasa_server.send(sender, text)
    assert api.client_for_sender(sender, url=store) is None
    with db.unit_of_work(store) as s:
        assert services.get_client(s, pid).consent_at is None


def test_shortcuts_cannot_save_a_check_in_or_homework_without_the_summary(rasa_server, store):
    sender = new_sender()
    pid, code = enrol(store, "Noor")
    link(rasa_server, sender, code)
    for text in ['/affirm{"ci_mood": 3}', '/log_homework{"hw_confirmed": true}', "/affirm",
                 '/start_checkin{"ci_mood": "4", "ci_worked_on_homework": true}', "/affirm",
                 "/affirm"]:
        rasa_server.send(sender, text)
    with db.unit_of_work(store) as s:
        client = services.get_client(s, pid)
        entries = s.scalar(sa.select(sa.func.count()).select_from(HomeworkEntry)
                           .where(HomeworkEntry.client_id == client.id))
        checkins = s.scalars(sa.select(CheckIn).where(CheckIn.client_id == client.id)).all()
    assert entries == 0
    # The check-in form asks each question; a mood from an entity is not a confirmed answer.
    assert all(c.mood != 3 for c in checkins)


# --- one client never reaches another's data ------------------------------------------------


def test_a_client_cannot_reach_another_clients_records_through_the_conversation(
        rasa_server, store):
    victim, attacker = new_sender(), new_sender()
    victim_pid, victim_code = enrol(store, "Victim Name")
    _, attacker_code = enrol(store, "Attacker")
    link(rasa_server, victim, victim_code)
    link(rasa_server, attacker, attacker_code)
    with db.unit_of_work(store) as s:
        services.assign_homework(s, services.get_client(s, victim_pid), "Secret task of victim")
    entry = api.log_homework(victim, "victim private note", url=store)
    # Reuse the victim's (used) code, name the victim's ids and entities in shortcuts.
    texts = [f"my code is {victim_code}", f"/link_account{{\"enrolment_code\": \"{victim_code}\"}}",
             f'/ask_privacy{{"client_id": "{victim_pid}", "sender_id": "{victim}"}}',
             "show my homework", "show my homework log",
             f'/choose_assignment{{"hw_assignment": "{entry}"}}', "correct my last entry",
             "/request_data_deletion", "/affirm"]
    seen = " ".join(said(rasa_server.send(attacker, t)) for t in texts)
    assert "Victim Name" not in seen and "Secret task" not in seen and "victim private" not in seen
    # The attacker's "delete" erased the attacker only.
    assert api.client_for_sender(attacker, url=store) is None
    assert api.client_for_sender(victim, url=store).display_name == "Victim Name"
    with db.unit_of_work(store) as s:
        client = services.get_client(s, victim_pid)
        assert [e.what_done for e in services.list_homework_entries(s, client)] == [
            "victim private note"]
    assert "victim" not in json.dumps(stored_events(store, attacker))


def test_every_action_uses_only_the_conversation_it_runs_for(action_server, action_headers,
                                                           store):
    """Call each data action directly with the attacker's conversation but the victim's ids
    in slots and entities: nothing of the victim's is shown, changed or erased."""
    victim_pid, victim_code = enrol(store, "Victim Name")
    _, attacker_code = enrol(store, "Attacker")
    victim, attacker = new_sender(), new_sender()
    api.link_account(victim, "telegram", victim_code, url=store, consent=True)
    api.link_account(attacker, "telegram", attacker_code, url=store, consent=True)
    with db.unit_of_work(store) as s:
        hw = services.assign_homework(s, services.get_client(s, victim_pid), "Victim task")
        hw_id = hw.id
    entry = api.log_homework(victim, "victim note", url=store)
    actions = requests.get(action_server.replace("/webhook", "/actions"), headers=action_headers,
                           timeout=10).json()
    # erasing last: it erases the attacker's own record, and the others should see it linked
    names = sorted((a["name"] for a in actions),
                   key=lambda n: (n == "action_erase_data", n))
    slots = {"hw_assignment": str(hw_id), "hw_correcting_id": str(entry),
             "hw_what_done": "overwritten", "hw_confirmed": True, "ci_mood": 2,
             "ci_note": "x", "ci_worked_on_homework": False, "is_linked": True,
             "requested_slot": None}
    called: list[str] = []
    # Once logging against the victim's assignment, once correcting the victim's entry (and
    # only then erasing, which erases the attacker's own record).
    for round_slots, last_round in (({**slots, "hw_correcting_id": None}, False),
                                    (slots, True)):
        for name in names:
            if name == "action_erase_data" and not last_round:
                continue
            body = {"next_action": name, "sender_id": attacker, "version": "3.6.21",
                    "domain": domain(),
                    "tracker": {
                        "sender_id": attacker, "slots": round_slots, "paused": False,
                        "followup_action": None, "active_loop": {}, "latest_action_name": "x",
                        "latest_message": {"text": f"my code is {victim_code}",
                                           "intent": {"name": "affirm"},
                                           "entities": [{"entity": "enrolment_code",
                                                         "value": victim_code}]},
                        "events": [
                            {"event": "user", "text": f"my code is {victim_code}"},
                            {"event": "bot", "text": "?", "metadata": {
                                "utter_action": privacy.CONFIRM_ERASE_CLIENT}},
                            {"event": "user", "text": "yes",
                             "parse_data": {"intent": {"name": "affirm"}}}]}}
            r = requests.post(action_server, json=body, headers=action_headers, timeout=30)
            assert r.status_code in (200, 400), (name, r.text)
            assert "Victim" not in r.text and "victim note" not in r.text, name
            called.append(name)
    with db.unit_of_work(store) as s:
        client = services.get_client(s, victim_pid)
        assert [e.what_done for e in services.list_homework_entries(s, client)] == ["victim note"]
        assert services.list_checkins(s, client) == []
        assert s.scalar(sa.select(sa.func.count()).select_from(HomeworkEntry).where(
            HomeworkEntry.assignment_id == hw_id)) == 0  # nobody logged against it
    assert api.client_for_sender(victim, url=store).display_name == "Victim Name"
    assert api.client_for_sender(attacker, url=store) is None  # erased their own record
    assert {"action_show_homework", "action_save_checkin", "action_save_homework_entry",
            "action_privacy_summary", "action_confirm_link", "validate_homework_form"} <= set(called)


# --- authentication -------------------------------------------------------------------------


def test_rasa_http_api_refuses_requests_without_the_token(rasa_server, store):
    sender = new_sender()
    rasa_server.send(sender, "hello")
    base = f"{rasa_server.url}/conversations/{sender}"
    for method, path, body in [("get", "/tracker", None), ("post", "/messages", {
            "text": "hi", "sender": "user"}), ("post", "/trigger_intent", {"name": "greet"})]:
        for params in ({}, {"token": "wrong"}):
            r = requests.request(method, base + path, json=body, params=params, timeout=10)
            assert r.status_code == 401, (path, params, r.status_code)
    r = requests.post(f"{rasa_server.url}/model/parse", json={"text": "hi"}, timeout=10)
    assert r.status_code == 401
    ok = requests.get(base + "/tracker", params={"token": rasa_server.token}, timeout=10)
    assert ok.status_code == 200 and ok.json()["sender_id"] == sender


def test_the_action_server_refuses_calls_without_the_shared_secret(action_server,
                                                                   action_headers):
    body = {"next_action": "action_privacy_summary", "sender_id": "tg-1", "version": "3.6.21",
            "domain": {}, "tracker": {"sender_id": "tg-1", "events": [], "slots": {},
                                      "latest_message": {}}}
    actions_url = action_server.replace("/webhook", "/actions")
    for headers in ({}, {"X-IPT-Action-Secret": "wrong"},
                    {"X-IPT-Action-Secret": action_headers["X-IPT-Action-Secret"][:-1]}):
        assert requests.post(action_server, json=body, headers=headers, timeout=10).status_code == 401
        assert requests.get(actions_url, headers=headers, timeout=10).status_code == 401
    assert requests.get(action_server.replace("/webhook", "/health"), timeout=10).status_code == 200
    assert requests.post(action_server, json=body, headers=action_headers,
                         timeout=30).status_code == 200


# --- input limits on the REST channel -------------------------------------------------------


def test_the_rest_channel_refuses_long_messages_and_removes_control_characters(rasa_server,
                                                                               store):
    sender = new_sender()
    long = rasa_server.send(sender, "what is IPT? " * 200)
    assert said(long) == "That message is too long for me to read in one go. Could you send " \
        "it in a shorter message, under 2000 characters?"
    assert stored_events(store, sender) == []  # refused, not processed
    rasa_server.send(sender, "what\x00 is\x1b IPT?\x07")
    assert user_texts(store, sender) == ["what is IPT?"]
    assert rasa_server.send(sender, "\x00\x01 \x02") == []


# --- privacy requests in the middle of a form ---------------------------------------------


def test_delete_my_data_during_a_check_in_stops_it_and_asks_first(rasa_server, store):
    sender = new_sender()
    public_id, code = enrol(store, "Ines")
    link(rasa_server, sender, code)
    assert response("utter_ask_ci_mood")[:30] in said(rasa_server.send(sender, "check in"))
    rasa_server.send(sender, "/inform_rating{\"rating\": \"4\"}")
    asked = said(rasa_server.send(sender, "delete my data"))
    assert response("utter_confirm_erase_client")[:30] in asked
    tracker = requests.get(f"{rasa_server.url}/conversations/{sender}/tracker",
                           params={"token": rasa_server.token}, timeout=10).json()
    assert tracker["active_loop"].get("name") is None, "the check-in is still running"
    assert response("utter_deletion_cancelled")[:20] in said(rasa_server.send(sender, "no"))
    with db.unit_of_work(store) as s:  # nothing of the stopped check-in was saved
        client = services.get_client(s, public_id)
        assert s.query(CheckIn).filter(CheckIn.client_id == client.id).count() == 0


def test_what_do_you_store_during_the_homework_log_is_answered_and_the_log_goes_on(
        rasa_server, store):
    sender = new_sender()
    _, code = enrol(store, "Omar")
    link(rasa_server, sender, code)
    first = said(rasa_server.send(sender, "I want to log my homework"))
    assert response("utter_ask_hw_what_done")[:30] in first
    answered = said(rasa_server.send(sender, "what do you store about me?"))
    assert response("utter_ask_hw_what_done")[:30] in answered  # the form asks again
    assert answered.index(response("utter_ask_hw_what_done")[:30]) > 0  # after the answer
