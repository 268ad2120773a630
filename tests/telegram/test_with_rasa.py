"""End to end: the real service between the fake Bot API and a real Rasa server."""

from __future__ import annotations

from dataclasses import replace

import aiohttp
import pytest

from tests.telegram.fakes import callback_update, message_update
from tests.telegram.harness import running

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]
CHAT = 90210


async def test_start_and_a_button_tap_reach_the_real_assistant(config, telegram, rasa_server,
                                                               monkeypatch):
    config = replace(config, rasa_url=rasa_server.url, rasa_timeout=60)
    # the service's credential on the REST channel, as bot/launch/run.py passes it
    monkeypatch.setenv("IPT_TELEGRAM_RELAY_TOKEN", rasa_server.relay_token)
    async with running(config, telegram):
        telegram.push(message_update(CHAT, "/start"))
        # the greeting, then the short privacy notice (first contact)
        await telegram.wait_for(lambda: len(telegram.sent(CHAT)) >= 2, timeout=60)
        welcome, notice = telegram.sent(CHAT)
        assert "IPT Companion" in welcome.params["text"]
        assert "About your privacy" in notice.params["text"]
        rows = welcome.params["reply_markup"]["inline_keyboard"]
        tapped = next(b for row in rows for b in row if b["callback_data"] == "/ask_phases")

        telegram.push(callback_update(CHAT, welcome, tapped["callback_data"]))
        await telegram.wait_for(lambda: len(telegram.sent(CHAT)) >= 3, timeout=60)
    assert "three phases" in telegram.texts(CHAT)[2]
    async with aiohttp.ClientSession() as http:
        url = f"{rasa_server.url}/conversations/tg-{CHAT}/tracker"
        async with http.get(url, params={"token": rasa_server.token}) as response:
            tracker = await response.json()
    intents = [e["parse_data"]["intent"]["name"] for e in tracker["events"] if e["event"] == "user"]
    assert intents == ["greet", "ask_phases"]
