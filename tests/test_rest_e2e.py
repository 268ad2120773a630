"""The running Rasa server answers over the REST channel, as `make run` starts it."""

from __future__ import annotations

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
