"""Our web server: session ids, CORS for configured origins only, health, page and widget."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot import signing
from bot.services.web.server import STATIC, Settings, create_app
from tests.helpers import REPO, free_port

SECRET = b"t" * 32
CLINIC = "https://clinic.example"


def run(test: Callable[[TestClient], Awaitable[None]], rasa_url: str | None = None) -> None:
    """Run ``test`` against the app on a loopback port (Rasa unreachable unless given)."""
    settings = Settings(rasa_url=rasa_url or f"http://127.0.0.1:{free_port()}",
                        origins=frozenset({CLINIC}), secret=SECRET)

    async def main() -> None:
        async with TestClient(TestServer(create_app(settings))) as client:
            await test(client)

    asyncio.run(main())


def test_a_new_visitor_gets_a_signed_web_session():
    async def check(client: TestClient) -> None:
        r = await client.post("/api/session", json={})
        assert r.status == 200
        body = await r.json()
        session = signing.verify(SECRET, body["session_id"])
        assert session is not None and session.conversation_id == body["conversation_id"]
        assert body["conversation_id"].startswith("web-") and body["renewed"] is True
        assert r.headers["Cache-Control"] == "no-store"

    run(check)


def test_a_stored_session_is_kept_and_a_forged_one_replaced():
    async def check(client: TestClient) -> None:
        first = await (await client.post("/api/session")).json()
        again = await (await client.post("/api/session",
                                         json={"session_id": first["session_id"]})).json()
        assert again == {**first, "renewed": False}
        for forged in ["tg-4242", "web-AAAAAAAAAAAAAAAAAAAAAA", first["session_id"][:-2] + "xx"]:
            new = await (await client.post("/api/session", json={"session_id": forged})).json()
            assert new["renewed"] is True
            assert new["conversation_id"] not in (first["conversation_id"], forged)
            assert new["conversation_id"].startswith("web-")
        r = await client.post("/api/session", data=b"not json",
                              headers={"Content-Type": "application/json"})
        assert r.status == 400

    run(check)


def test_cors_allows_only_configured_origins_and_never_star():
    async def check(client: TestClient) -> None:
        ok = await client.post("/api/session", headers={"Origin": CLINIC})
        assert ok.status == 200
        assert ok.headers["Access-Control-Allow-Origin"] == CLINIC
        assert "Origin" in ok.headers["Vary"]

        preflight = await client.options("/api/session", headers={
            "Origin": CLINIC, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        assert preflight.status == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == CLINIC

        for path, method in [("/api/session", "POST"), ("/api/session", "OPTIONS"),
                             ("/socket.io/?EIO=4&transport=polling", "GET")]:
            r = await client.request(method, path, headers={"Origin": "https://evil.example"})
            assert r.status == 403, (path, method)
            assert "Access-Control-Allow-Origin" not in r.headers

        same = await client.post("/api/session",
                                 headers={"Origin": f"http://{client.host}:{client.port}"})
        assert same.status == 200 and "Access-Control-Allow-Origin" not in same.headers

    run(check)


def test_health_says_unavailable_when_rasa_is_down():
    async def check(client: TestClient) -> None:
        r = await client.get("/health")
        assert r.status == 503
        body = await r.json()
        assert body["status"] == "unavailable" and body["rasa"].startswith("unreachable")

    run(check)


def test_health_checks_rasa_and_its_socketio_channel():
    async def check_with(upstream_routes: list[str], expected: int) -> None:
        fake = web.Application()  # stands in for Rasa at the edge; the e2e tests use the real one
        for path in upstream_routes:
            fake.router.add_get(path, lambda _: web.json_response({"status": "ok"}))
        server = TestServer(fake)
        await server.start_server()
        try:
            settings = Settings(rasa_url=str(server.make_url("")).rstrip("/"), secret=SECRET)
            async with TestClient(TestServer(create_app(settings))) as client:
                r = await client.get("/health")
                assert r.status == expected, await r.text()
        finally:
            await server.close()

    everything = ["/", "/webhooks/socketio/", "/webhooks/ipt_health/"]
    asyncio.run(check_with(everything, 200))
    asyncio.run(check_with(["/"], 503))  # Rasa up, but without our socket.io channel
    # Rasa up, but without the health route that reports its conversation database
    asyncio.run(check_with(everything[:2], 503))


def test_the_demo_page_embeds_the_widget_with_one_script_tag():
    async def check(client: TestClient) -> None:
        r = await client.get("/")
        html = await r.text()
        assert r.status == 200 and "Harbour Lane" in html
        assert html.count('<script src="/widget.js"') == 1
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        js = await client.get("/widget.js")
        if (STATIC / "widget.js").exists():
            assert js.status == 200
            assert js.headers["Content-Type"].startswith("application/javascript")
            assert "ipt-companion-chat" in await js.text()
        else:
            assert js.status == 503

    run(check)


def test_the_full_privacy_notice_is_served_from_docs_privacy_md():
    async def check(client: TestClient) -> None:
        r = await client.get("/privacy")
        html = await r.text()
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
        assert "<h1>Privacy: what IPT Companion stores" in html
        assert "<table>" in html and "retention_days" in html  # tables and code rendered
        assert "script-src" not in r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]

    run(check)


def test_the_session_carries_the_clinic_s_crisis_resources(monkeypatch):
    from bot.clinic import config as clinic

    monkeypatch.setenv(clinic.ENV_VAR, str(REPO / "clinic.example.yml"))

    async def check(client: TestClient) -> None:
        body = await (await client.post("/api/session", json={})).json()
        resources = body["resources"]
        assert resources["emergency_number"] == "555 0100"
        assert [line["name"] for line in resources["lines"]] == [
            "Examplia Night Line", "Harbourside on-call nurse"]

    run(check)


def test_the_edge_answers_only_signed_sessions_and_logs_no_text(caplog):
    secret_words = "I want to kill myself, says Zelda"

    async def check(client: TestClient) -> None:
        sid = (await (await client.post("/api/session", json={})).json())["session_id"]
        r = await client.post("/api/help", json={"session_id": sid, "message": secret_words})
        assert r.status == 200 and r.headers["Cache-Control"] == "no-store"
        body = await r.json()
        assert body["crisis"] is True and body["messages"][0]["crisis"] is True
        assert body["messages"][0]["text"].startswith("In immediate danger, call ")
        for bad in ({"session_id": "web-AAAAAAAAAAAAAAAAAAAAAA.x.y", "message": "hi"},
                    {"message": "hi"}):
            assert (await client.post("/api/help", json=bad)).status == 403
        r = await client.post("/api/help", data=b"not json",
                              headers={"Content-Type": "application/json"})
        assert r.status == 400
        assert (await client.post("/api/help", json=["a list"])).status == 400
        # another site can't use it: the CORS guard covers /api/
        r = await client.post("/api/help", json={"session_id": sid, "message": "hi"},
                              headers={"Origin": "https://evil.example"})
        assert r.status == 403

    with caplog.at_level("DEBUG"):
        run(check)
    assert not any("Zelda" in record.getMessage() for record in caplog.records)
