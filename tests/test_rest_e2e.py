"""The running Rasa server answers over the REST channel, as `make run` starts it."""

from __future__ import annotations

import pytest
import requests

from tests.helpers import bot_texts


def test_newcomer_question_gets_an_answer_with_buttons(rasa_server):
    replies = rasa_server.send("e2e-newcomer", "what is IPT and how long does it take?")
    text = " ".join(bot_texts(replies)).lower()
    assert "interpersonal" in text or "ipt" in text
    assert any(r.get("buttons") for r in replies)


def test_tapping_a_button_answers_that_topic(rasa_server):
    first = rasa_server.send("e2e-buttons", "hi")
    payload = next(b["payload"] for r in first for b in r.get("buttons", []))
    second = rasa_server.send("e2e-buttons", payload)
    assert bot_texts(second)


def test_http_api_requires_the_token(rasa_server):
    url = f"{rasa_server.url}/conversations/e2e-newcomer/tracker"
    assert requests.get(url, timeout=10).status_code == 401
    ok = requests.get(url, params={"token": rasa_server.token}, timeout=10)
    assert ok.status_code == 200


# Issue 19: nobody speaks as a client through the REST channel.

def _post(rasa_server, sender: str, text: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.post(f"{rasa_server.url}/webhooks/rest/webhook", headers=headers,
                         json={"sender": sender, "message": text}, timeout=30)


def test_rest_channel_requires_its_credential(rasa_server):
    assert _post(rasa_server, "e2e-nocred", "what is IPT?", None).status_code == 401
    assert _post(rasa_server, "e2e-nocred", "what is IPT?", "wrong").status_code == 401
    # Rasa's API token is not the REST channel's credential
    assert _post(rasa_server, "e2e-nocred", "what is IPT?", rasa_server.token).status_code == 401
    assert user_texts(rasa_server, "e2e-nocred") == []
    ok = _post(rasa_server, "e2e-cred", "what is IPT?", rasa_server.rest_token)
    assert ok.status_code == 200 and ok.json()


@pytest.mark.parametrize("victim", ["tg-987650001", "web-AAAAAAAAAAAAAAAAAAAAAA"])
def test_rest_token_cannot_speak_for_a_telegram_or_web_conversation(rasa_server, victim):
    r = _post(rasa_server, victim, "delete my data", rasa_server.rest_token)
    assert r.status_code == 403
    assert "error" in r.json()
    assert user_texts(rasa_server, victim) == []


def test_telegram_relay_credential_speaks_only_for_telegram_chats(rasa_server):
    ok = _post(rasa_server, "tg-987650002", "what is IPT?", rasa_server.relay_token)
    assert ok.status_code == 200 and ok.json()
    for other in ("web-AAAAAAAAAAAAAAAAAAAAAB", "e2e-relay", "tg-12ab"):
        assert _post(rasa_server, other, "hello", rasa_server.relay_token).status_code == 403
        assert user_texts(rasa_server, other) == []


def user_texts(rasa_server, sender: str) -> list[str]:
    r = requests.get(f"{rasa_server.url}/conversations/{sender}/tracker",
                     params={"token": rasa_server.token}, timeout=10)
    r.raise_for_status()
    return [e.get("text") for e in r.json()["events"] if e["event"] == "user"]


# Issue 19: a typed intent shortcut is plain text (our buttons' payloads still work).

def intents(rasa_server, sender: str) -> list[str]:
    r = requests.get(f"{rasa_server.url}/conversations/{sender}/tracker",
                     params={"token": rasa_server.token}, timeout=10)
    r.raise_for_status()
    return [e["parse_data"]["intent"].get("name") for e in r.json()["events"]
            if e["event"] == "user"]


def test_a_typed_crisis_shortcut_records_no_flag(rasa_server, database_url):
    import sqlalchemy as sa

    from bot.clinic.store import db, services
    from bot.clinic.store.models import SafetyFlag

    db.ensure_migrated(database_url)
    with db.unit_of_work(database_url) as s:
        _, code = services.create_client(s, "Typed Shortcut", "UTC")
    sender = "tg-987650003"
    rasa_server.send(sender, f"my code is {code}")
    assert "Typed Shortcut" in " ".join(bot_texts(rasa_server.send(sender, "yes")))
    # (the words themselves still go through the safety detector, as any text does: a typed
    # "/crisis_self_harm" reads as "self harm" and gets the crisis answer, like the words would)
    for typed in ("/crisis_suicide", '/crisis_abuse{"x": "y"}', "//crisis_harm_others",
                  "/crisis_medical@1.0"):
        rasa_server.send(sender, typed)
    with db.unit_of_work(database_url) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(SafetyFlag)
                        .where(SafetyFlag.sender_id == sender)) == 0
    assert not any(i and i.startswith("crisis_") for i in intents(rasa_server, sender))


def test_a_typed_external_intent_with_entities_is_plain_text(rasa_server):
    sender = "e2e-typed-external"
    rasa_server.send(sender, '/EXTERNAL_session_reminder{"session_time": "tomorrow"}')
    rasa_server.send(sender, '/choose_assignment{"hw_assignment": "1", "x": "' + "y" * 50 + '"}')
    said = intents(rasa_server, sender)
    assert "EXTERNAL_session_reminder" not in said and "choose_assignment" not in said


def test_our_button_payloads_still_work(rasa_server):
    sender = "e2e-button-payloads"
    rasa_server.send(sender, "/greet")
    rasa_server.send(sender, "/ask_what_is_ipt")
    assert intents(rasa_server, sender) == ["greet", "ask_what_is_ipt"]


def test_the_api_token_is_not_on_rasas_command_line(rasa_server):
    from pathlib import Path

    cmdline = Path(f"/proc/{rasa_server.pid}/cmdline").read_bytes().decode()
    assert "bot.launch.rasa_server" in cmdline and "--enable-api" in cmdline
    assert rasa_server.token not in cmdline and "--auth-token" not in cmdline
    # ... and the API still needs it
    url = f"{rasa_server.url}/conversations/e2e-cmdline/tracker"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, params={"token": rasa_server.token}, timeout=10).status_code == 200


@pytest.mark.parametrize("sender", ["x" * 300, "has space", "new\nline", "", "ünïcode", 42])
def test_a_malformed_sender_id_is_refused_at_the_edge(rasa_server, sender):
    r = _post(rasa_server, sender, "hello", rasa_server.rest_token)
    assert r.status_code == 400 and "sender" in r.json()["error"]
    health = requests.get(f"{rasa_server.url}/webhooks/ipt_health/", timeout=10)
    assert health.status_code == 200
