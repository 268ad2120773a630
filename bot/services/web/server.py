"""Our web server: the demo page, the widget, signed session ids, and the way in to Rasa.

usage: python -m bot.services.web [--host 127.0.0.1] [--port 8080]

Routes:
  GET  /            the demo page of a fictional clinic, with the one-line widget snippet
  GET  /widget.js   the widget bundle (built by scripts/build-widget.sh)
  POST /api/session a new signed web session id, or the stored one re-validated, with the
                    clinic's crisis resources (emergency number, lines) for the widget's banner
  POST /api/help    the edge's answer when Rasa is down or slow: a crisis message gets the
                    resources first, any other a "trouble" reply that still carries them
  GET  /privacy     the full privacy notice (docs/privacy.md as HTML)
  GET  /health      200 when Rasa, its socket.io channel and its database answer, else 503
  *    /socket.io/  reverse proxy to Rasa's socket.io (HTTP long-polling and websocket)

Rasa listens on loopback only; this server is the only public entry for the widget, so
it is here that cross-origin requests are limited to the clinic sites in IPT_WEB_ORIGINS.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from aiohttp import WSMsgType, web
from aiohttp.typedefs import Handler

from bot import limits, signing
from bot.clinic import edge_help

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
PRIVACY_DOC = Path(__file__).resolve().parents[3] / "docs" / "privacy.md"
_PAGE_CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SOCKETIO_PATH = "/socket.io/"
# Hop-by-hop and host headers are the proxy's own business, never forwarded.
_REQUEST_HEADERS = ("Content-Type", "Accept", "User-Agent")
_RESPONSE_HEADERS = ("Content-Type", "Cache-Control")
_WS = web.WebSocketResponse | aiohttp.ClientWebSocketResponse


@dataclass
class Settings:
    """Where we listen, where Rasa is, who may embed us; from the environment by default."""

    host: str = "127.0.0.1"
    port: int = 8080
    rasa_url: str = "http://127.0.0.1:5005"
    origins: frozenset[str] = field(default_factory=frozenset)
    secret: bytes | None = None
    max_age: int = signing.DEFAULT_MAX_AGE

    @classmethod
    def from_env(cls) -> Settings:
        """Read IPT_WEB_HOST, IPT_WEB_PORT, RASA_URL, IPT_WEB_ORIGINS (comma-separated)."""
        origins = os.environ.get("IPT_WEB_ORIGINS", "")
        return cls(
            host=os.environ.get("IPT_WEB_HOST", "127.0.0.1"),
            port=int(os.environ.get("IPT_WEB_PORT", "8080")),
            rasa_url=os.environ.get("RASA_URL", "http://127.0.0.1:5005").rstrip("/"),
            origins=frozenset(o.strip().rstrip("/") for o in origins.split(",") if o.strip()),
            max_age=signing.max_age_from_env(),
        )


SETTINGS = web.AppKey("settings", Settings)
CLIENT = web.AppKey("client", aiohttp.ClientSession)
LIMITERS = web.AppKey("limiters", dict)
USER_EVENT = "user_uttered"
# A message costs 1, and 1 more per 250 characters: long ones are what cost Rasa most.
CHARS_PER_TOKEN = 250


def _limiters() -> dict[str, limits.RateLimiter]:
    return {name: limits.RateLimiter.from_env(name)
            for name in ("sessions_per_address", "messages_per_address")}


def _address(request: web.Request) -> str:
    """The visitor's address as our socket saw it (X-Forwarded-For can be forged)."""
    return request.remote or "unknown"


def _message_cost(packet: str) -> float:
    """What a socket.io packet costs the address's message bucket (0: not a message)."""
    if not packet.startswith("42"):
        return 0.0
    try:
        event = json.loads(packet[2:])
    except ValueError:
        return 0.0
    if not (isinstance(event, list) and event and event[0] == USER_EVENT):
        return 0.0
    data = event[1] if len(event) > 1 else None
    text = data.get("message") if isinstance(data, dict) else None
    return 1.0 + (len(text) // CHARS_PER_TOKEN if isinstance(text, str) else 0)


def _slow_down_frame() -> str:
    return "42" + json.dumps(["bot_uttered", {"text": limits.SLOW_DOWN}])


def _origin_allowed(request: web.Request) -> bool:
    """Same-origin, no Origin header (not a browser's cross-site call), or a configured one."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    if origin.rstrip("/") in request.app[SETTINGS].origins:
        return True
    # Same origin: compare host:port only, as TLS may end at a proxy in front of us.
    return urlsplit(origin).netloc == request.host


def _is_cross_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    return origin is not None and urlsplit(origin).netloc != request.host


@web.middleware
async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse other sites on the API and the socket; answer preflights for the allowed ones."""
    guarded = request.path.startswith(("/api/", SOCKETIO_PATH))
    if guarded and not _origin_allowed(request):
        return web.json_response({"error": "origin not allowed"}, status=403)
    if guarded and request.method == "OPTIONS":
        response: web.StreamResponse = web.Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
    else:
        response = await handler(request)
    if guarded and _is_cross_origin(request) and not response.prepared:
        response.headers["Access-Control-Allow-Origin"] = request.headers["Origin"]
        response.headers["Vary"] = "Origin"
    return response


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Headers that cost nothing: no sniffing, no referrer leaking the page a visitor was on."""
    response = await handler(request)
    if not response.prepared:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


async def demo_page(request: web.Request) -> web.Response:
    """The fictional clinic's page with the widget snippet."""
    html = (STATIC / "demo.html").read_text(encoding="utf-8")
    response = web.Response(text=html, content_type="text/html")
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'"
    )
    return response


def render_privacy(markdown_text: str) -> str:
    """docs/privacy.md as a small standalone HTML page (our own text: no user input)."""
    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables"], output_format="html")
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>Privacy - IPT Companion</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;"
        "line-height:1.5;color:#1d2630}table{border-collapse:collapse;font-size:.9rem}"
        "td,th{border:1px solid #ccd;padding:.3rem .5rem;vertical-align:top}"
        "code{background:#f2f4f7;padding:0 .2rem}</style></head><body>"
        f"{body}</body></html>"
    )


async def privacy_page(request: web.Request) -> web.Response:
    """The full privacy notice the bot links to."""
    try:
        text = PRIVACY_DOC.read_text(encoding="utf-8")
    except OSError:
        return web.Response(status=404, text="privacy notice not found\n")
    response = web.Response(text=render_privacy(text), content_type="text/html")
    response.headers["Content-Security-Policy"] = _PAGE_CSP
    response.headers["Cache-Control"] = "no-cache"
    return response


async def widget_js(request: web.Request) -> web.StreamResponse:
    """The built widget bundle; revalidated on every load so clinics get updates."""
    path = STATIC / "widget.js"
    if not path.exists():
        return web.Response(status=503, text="// widget not built: run scripts/build-widget.sh\n",
                            content_type="application/javascript")
    response = web.FileResponse(path, headers={
        "Content-Type": "application/javascript; charset=utf-8",
        "Cache-Control": "no-cache",
        # the clinic's page loads this from our origin
        "Cross-Origin-Resource-Policy": "cross-origin",
    })
    return response


async def session(request: web.Request) -> web.Response:
    """Re-validate the session id the widget stored, or issue a new signed one."""
    settings = request.app[SETTINGS]
    assert settings.secret is not None
    stored = None
    if request.can_read_body:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "body must be JSON"}, status=400)
        stored = body.get("session_id") if isinstance(body, dict) else None
    current = signing.verify(settings.secret, stored, max_age=settings.max_age)
    renewed = current is None
    if current is None:
        # a new conversation costs one POST: limited per address (issue 19)
        limiter = request.app[LIMITERS]["sessions_per_address"]
        if not limiter.allow(_address(request)):
            retry = max(1, int(1 / limiter.per_second))
            return web.json_response({"error": limits.TOO_MANY_SESSIONS}, status=429,
                                     headers={"Retry-After": str(retry),
                                              "Cache-Control": "no-store"})
        current = signing.issue(settings.secret)
    return web.json_response(
        {"session_id": current.token, "conversation_id": current.conversation_id,
         "renewed": renewed, "resources": edge_help.resources_json(edge_help.load_clinic())},
        headers={"Cache-Control": "no-store"},
    )


async def edge_answer(request: web.Request) -> web.Response:
    """Answer a message Rasa could not answer in time, always with the crisis resources.

    The widget calls this when Rasa cannot be reached, or has not answered a message within
    a few seconds (docs/widget.md, "When the assistant is down or slow"). Only a signed
    session may ask, and the message is never logged or stored.
    """
    settings = request.app[SETTINGS]
    assert settings.secret is not None
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": "body must be JSON"}, status=400)
    if not isinstance(body, dict):
        return web.json_response({"error": "body must be a JSON object"}, status=400)
    if signing.verify(settings.secret, body.get("session_id"), max_age=settings.max_age) is None:
        return web.json_response({"error": "session not valid"}, status=403)
    message = body.get("message")
    text = message[:4000] if isinstance(message, str) else ""
    config = edge_help.load_clinic()
    crisis = edge_help.looks_like_crisis(text)
    texts = edge_help.crisis_reply(config) if crisis else edge_help.trouble_reply(config)
    return web.json_response(
        {"crisis": crisis,
         "messages": [{"text": t, "crisis": crisis, "help": True} for t in texts],
         "resources": edge_help.resources_json(config)},
        headers={"Cache-Control": "no-store"},
    )


async def health(request: web.Request) -> web.Response:
    """Whether Rasa and its socket.io channel answer on loopback."""
    settings = request.app[SETTINGS]
    client = request.app[CLIENT]
    checks = {"rasa": f"{settings.rasa_url}/", "socketio": f"{settings.rasa_url}/webhooks/socketio/",
              # the conversation database behind Rasa (bot/rasa_ext/health.py): 503 while it is down
              "conversations": f"{settings.rasa_url}/webhooks/ipt_health/"}
    result: dict[str, str] = {}
    for name, url in checks.items():
        try:
            async with client.get(url, timeout=aiohttp.ClientTimeout(total=3)) as r:
                result[name] = "ok" if r.status == 200 else f"http {r.status}"
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            result[name] = f"unreachable ({type(exc).__name__})"
    ok = all(v == "ok" for v in result.values())
    return web.json_response({"status": "ok" if ok else "unavailable", **result},
                             status=200 if ok else 503)


async def socketio_proxy(request: web.Request) -> web.StreamResponse:
    """Pass socket.io traffic to Rasa: websocket frames both ways, or one polling request."""
    settings = request.app[SETTINGS]
    upstream = f"{settings.rasa_url}{SOCKETIO_PATH}"
    if request.query_string:
        upstream += f"?{request.query_string}"
    headers = {h: request.headers[h] for h in _REQUEST_HEADERS if h in request.headers}
    # Appended to what a proxy in front of us saw: nginx hashes this header to keep each
    # visitor's socket.io session on one Rasa server (docs/scaling.md).
    forwarded = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")
                 if h.strip()]
    if request.remote:
        forwarded.append(request.remote)
    if forwarded:
        headers["X-Forwarded-For"] = ", ".join(forwarded)
    if (request.headers.get("Upgrade", "").lower() == "websocket"
            and request.method == "GET"):
        return await _proxy_websocket(request, upstream, headers)
    client = request.app[CLIENT]
    body = await request.read()
    if body:
        cost = sum(_message_cost(p) for p in body.decode(errors="replace").split("\x1e"))
        if cost and not request.app[LIMITERS]["messages_per_address"].allow(_address(request),
                                                                            cost):
            return web.json_response({"error": limits.SLOW_DOWN}, status=429)
    try:
        async with client.request(request.method, upstream, data=body or None, headers=headers,
                                  timeout=aiohttp.ClientTimeout(total=60)) as r:
            payload = await r.read()
            out = {h: r.headers[h] for h in _RESPONSE_HEADERS if h in r.headers}
            return web.Response(status=r.status, body=payload, headers=out)
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return web.json_response({"error": "assistant unavailable"}, status=502)


async def _proxy_websocket(request: web.Request, upstream: str,
                           headers: dict[str, str]) -> web.StreamResponse:
    """Relay a websocket to Rasa until either side closes."""
    client = request.app[CLIENT]
    try:
        upstream_ws = await client.ws_connect(upstream.replace("http", "ws", 1), headers=headers,
                                              max_msg_size=1 << 20)
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return web.json_response({"error": "assistant unavailable"}, status=502)
    # a frame from the browser is at most what the longest message needs (issue 19)
    browser_ws = web.WebSocketResponse(max_msg_size=limits.max_frame_bytes())
    await browser_ws.prepare(request)
    address, bucket = _address(request), request.app[LIMITERS]["messages_per_address"]

    async def pump(src: _WS, dst: _WS) -> None:
        from_browser = src is browser_ws
        async for msg in src:
            if msg.type == WSMsgType.TEXT:
                cost = _message_cost(msg.data) if from_browser else 0.0
                if cost and not bucket.allow(address, cost):
                    await browser_ws.send_str(_slow_down_frame())  # dropped, visitor told
                    continue
                await dst.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await dst.send_bytes(msg.data)
            else:
                break

    tasks = [asyncio.create_task(pump(browser_ws, upstream_ws)),
             asyncio.create_task(pump(upstream_ws, browser_ws))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await upstream_ws.close()
        await browser_ws.close()
    return browser_ws


async def _client_ctx(app: web.Application) -> AsyncIterator[None]:
    app[CLIENT] = aiohttp.ClientSession(auto_decompress=True)
    yield
    await app[CLIENT].close()


def create_app(settings: Settings | None = None) -> web.Application:
    """Build the aiohttp application (no network until it runs)."""
    settings = settings or Settings.from_env()
    if settings.secret is None:
        settings.secret = signing.load_secret()
    app = web.Application(middlewares=[security_headers, cors],
                          client_max_size=limits.max_frame_bytes())
    app[SETTINGS] = settings
    app[LIMITERS] = _limiters()
    app.cleanup_ctx.append(_client_ctx)
    app.router.add_get("/", demo_page)
    app.router.add_get("/widget.js", widget_js)
    app.router.add_route("*", "/api/session", session)
    app.router.add_post("/api/help", edge_answer)
    app.router.add_get("/privacy", privacy_page)
    app.router.add_get("/health", health)
    app.router.add_route("*", SOCKETIO_PATH, socketio_proxy)
    app.router.add_static("/static/", STATIC, show_index=False)
    return app


def main(argv: list[str] | None = None) -> int:
    """Run the web server until interrupted."""
    import argparse

    settings = Settings.from_env()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    args = parser.parse_args(argv)
    settings.host, settings.port = args.host, args.port

    logging.basicConfig(level=os.environ.get("IPT_LOG_LEVEL", "WARNING").upper(),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app(settings)
    logger.warning("web widget demo on http://%s:%s/ (Rasa at %s)",
                   settings.host, settings.port, settings.rasa_url)
    web.run_app(app, host=settings.host, port=settings.port, access_log=None, print=None)
    return 0
