"""The widget in a real browser: one conversation across tabs, a message typed while the
server is away kept and answered once, and "Forget this chat" wiping it in every tab."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.web.test_widget_e2e import FALLBACK, HOST, ask, bot_messages, open_widget

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture(scope="module", autouse=True)
def warm(database_url, rasa_server):
    """Migrate and warm Rasa up first: on a busy machine the first answer (a migration, the
    first NLU call) takes longer than the widget tests wait for a greeting."""
    from bot.clinic.store import db

    db.migrate(database_url)
    db.dispose_all()
    rasa_server.send("rest-warm-up", "/greet")


def _user_texts(page: Page) -> list[str]:
    return [t.split("\n")[-1].replace("You:", "").strip()
            for t in page.locator(f"{HOST} li.msg.user").all_inner_texts()]


def _session(page: Page) -> dict | None:
    return page.evaluate("JSON.parse(localStorage.getItem('ipt-chat.session'))")


def _times_rasa_heard(rasa_server, conversation_id: str, text: str) -> int:
    tracker = requests.get(f"{rasa_server.url}/conversations/{conversation_id}/tracker",
                           params={"token": rasa_server.token}, timeout=10).json()
    return sum(1 for e in tracker["events"] if e.get("event") == "user" and e.get("text") == text)


def test_two_tabs_share_one_conversation_and_forget_clears_both(browser, web_server, rasa_server):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    errors: list[str] = []
    try:
        first = context.new_page()
        first.on("pageerror", lambda e: errors.append(str(e)))
        open_widget(first, web_server.url)
        ask(first, "what is IPT")
        second = context.new_page()
        second.on("pageerror", lambda e: errors.append(str(e)))
        second.goto(web_server.url)
        # the open panel is remembered for the browser: the second tab opens with it open
        expect(second.locator(f"{HOST} .panel")).to_be_visible()
        # the same conversation, with what was said in the first tab
        assert _session(second)["conversation_id"] == _session(first)["conversation_id"]
        expect(second.locator(f"{HOST} li.msg.user").first).to_have_text(re.compile("what is IPT"))
        ask(second, "what are the phases of IPT")
        # ...and the first tab shows what was said in the second
        expect(first.locator(f"{HOST} li.msg.user").last).to_have_text(
            re.compile("what are the phases of IPT"))
        assert _user_texts(first) == _user_texts(second)

        # Forget, in the second tab: both tabs let go of it; a new conversation starts
        old = _session(first)["conversation_id"]
        second.on("dialog", lambda d: d.accept())
        second.get_by_role("button", name="Forget this chat").click()
        expect(first.locator(f"{HOST} li.msg.user")).to_have_count(0)
        expect(second.locator(f"{HOST} li.msg.user")).to_have_count(0)
        assert first.evaluate(f"localStorage.getItem('ipt-chat.log.{old}')") is None
        expect(bot_messages(second)).not_to_have_count(0)  # greeted anew
        assert _session(second)["conversation_id"] != old
    finally:
        context.close()
    assert errors == []


def test_a_message_typed_while_the_server_is_away_is_kept_and_answered_once(
        page, web_server, rasa_server):
    open_widget(page, web_server.url)
    ask(page, "what is IPT")
    conversation = _session(page)["conversation_id"]
    web_server.stop()  # the way to Rasa is gone (as while Rasa restarts)
    try:
        box = page.locator(f"{HOST} textarea")
        box.fill("how long does IPT take")
        box.press("Enter")
        page.wait_for_timeout(1500)
        assert page.evaluate("JSON.parse(localStorage.getItem('ipt-chat.unacked'))")[0][
            "payload"] == "how long does IPT take"
    finally:
        web_server.start()
    # resent once the connection is back, answered, acknowledged
    page.wait_for_function(
        "() => (JSON.parse(localStorage.getItem('ipt-chat.unacked')) || []).length === 0",
        timeout=30_000)
    last = bot_messages(page).last.locator(".bubble").inner_text()
    assert not FALLBACK.search(last), last
    assert _user_texts(page).count("how long does IPT take") == 1
    assert _times_rasa_heard(rasa_server, conversation, "how long does IPT take") == 1
