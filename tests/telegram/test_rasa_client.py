"""The Rasa REST client: replies on success, a typed error whenever Rasa cannot answer."""

from __future__ import annotations

import pytest
from aiohttp import web

from bot.services.telegram.rasa_client import RasaClient, RasaUnavailable
from tests.helpers import free_port

pytestmark = pytest.mark.anyio


async def test_replies_come_back_as_a_list(rasa):
    async with RasaClient(rasa.url) as client:
        replies = await client.send("tg-1", "hi", {"channel": "telegram"})
    assert replies == [{"recipient_id": "tg-1", "text": "You said: hi"}]
    assert rasa.requests == [
        {"sender": "tg-1", "message": "hi", "metadata": {"channel": "telegram"}}
    ]


async def test_a_server_that_is_not_there_is_unavailable():
    async with RasaClient(f"http://127.0.0.1:{free_port()}") as client:
        with pytest.raises(RasaUnavailable):
            await client.send("tg-1", "hi")


@pytest.mark.parametrize("status, body", [(500, "[]"), (200, "<html>"), (200, '{"a": 1}')])
async def test_a_bad_answer_is_unavailable(status, body):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, text=body)

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with RasaClient(f"http://127.0.0.1:{port}") as client:
            with pytest.raises(RasaUnavailable):
                await client.send("tg-1", "hi")
    finally:
        await runner.cleanup()


async def test_a_slow_server_times_out(rasa):
    rasa.delays["hi"] = 2
    async with RasaClient(rasa.url, timeout=0.3) as client:
        with pytest.raises(RasaUnavailable, match="timed out"):
            await client.send("tg-1", "hi")


async def test_the_relay_credential_travels_in_a_header_not_the_url():
    seen: list[tuple[str | None, str]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((request.headers.get("Authorization"), str(request.rel_url)))
        return web.json_response([])

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with RasaClient(f"http://127.0.0.1:{port}", token="relay-secret") as client:
            await client.send("tg-1", "hi")
    finally:
        await runner.cleanup()
    assert seen == [("Bearer relay-secret", "/webhooks/rest/webhook")]
