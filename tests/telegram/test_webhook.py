"""Webhook mode: updates arrive by HTTP POST and must carry Telegram's secret token."""

from __future__ import annotations

import aiohttp
import pytest

from bot.services.telegram.webhook import SECRET_HEADER
from tests.helpers import free_port
from tests.telegram.fakes import message_update
from tests.telegram.harness import running

pytestmark = pytest.mark.anyio
CHAT = 777
SECRET = "s3cret_token-for-tests"


@pytest.fixture
def webhook(config):
    port = free_port()
    changes = {
        "mode": "webhook",
        "webhook_url": "https://clinic.example/telegram/hook",
        "webhook_secret": SECRET,
        "webhook_listen": "127.0.0.1",
        "webhook_port": port,
    }
    return changes, f"http://127.0.0.1:{port}/telegram/hook"


async def test_the_webhook_is_registered_with_its_secret(config, telegram, rasa, webhook):
    changes, _ = webhook
    async with running(config, telegram, **changes):
        pass
    (call,) = telegram.called("setWebhook")
    assert call.params["url"] == "https://clinic.example/telegram/hook"
    assert call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == ["message", "callback_query"]
    assert not telegram.called("getUpdates")


async def test_a_request_without_the_secret_is_rejected(config, telegram, rasa, webhook):
    changes, url = webhook
    async with running(config, telegram, **changes), aiohttp.ClientSession() as http:
        update = {"update_id": 1, **message_update(CHAT, "hello")}
        async with http.post(url, json=update) as response:
            assert response.status == 403
        async with http.post(url, json=update, headers={SECRET_HEADER: "wrong"}) as response:
            assert response.status == 403
    assert rasa.requests == []
    assert telegram.sent() == []


async def test_a_request_with_the_secret_is_answered(config, telegram, rasa, webhook):
    changes, url = webhook
    async with running(config, telegram, **changes), aiohttp.ClientSession() as http:
        update = {"update_id": 1, **message_update(CHAT, "hello")}
        async with http.post(url, json=update, headers={SECRET_HEADER: SECRET}) as response:
            assert response.status == 200
        async with http.post(url, data=b"not json", headers={SECRET_HEADER: SECRET}) as response:
            assert response.status == 400
        await telegram.wait_for(lambda: telegram.sent(CHAT))
    assert rasa.messages == ["hello"]
    assert telegram.texts(CHAT) == ["You said: hello"]
