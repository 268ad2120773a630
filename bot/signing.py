"""Web conversation ids: issued and HMAC-signed by our web server, checked by the Rasa channel.

A token looks like ``web-<id>.<issued>.<signature>``:

- ``web-<id>`` is the conversation id Rasa sees (the tracker's sender id). The ``web-``
  namespace can never equal a Telegram conversation id (``tg-<chat_id>``), and ``<id>`` is
  128 random bits, so nobody can guess another visitor's id.
- ``<issued>`` is the issue time (unix seconds, base 36), so old tokens can be refused.
- ``<signature>`` is HMAC-SHA256 over ``web-<id>.<issued>`` with the web secret, so only our
  server can mint a token: a browser that makes up (or copies) an id without the signature
  is refused by the channel.

The secret comes from ``IPT_WEB_SECRET``; without it (development) a random secret is made
once and kept in ``var/secrets/web_secret`` (0600), shared by the web server and Rasa.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from bot import settings

PREFIX = "web-"
DEFAULT_MAX_AGE = 90 * 24 * 3600  # matches the retention period for unlinked conversations
_TOKEN = re.compile(r"^(web-[A-Za-z0-9_-]{22})\.([0-9a-z]{1,10})\.([A-Za-z0-9_-]{43})$")
SECRET_FILE = "web_secret"


def secret_path() -> Path:
    """Where the development secret is kept when ``IPT_WEB_SECRET`` is not set."""
    return settings.var_dir() / "secrets" / SECRET_FILE


def load_secret() -> bytes:
    """The signing secret: ``IPT_WEB_SECRET``, else the development file (made once)."""
    return settings.secret("IPT_WEB_SECRET", SECRET_FILE).encode()


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _sign(secret: bytes, body: str) -> str:
    mac = hmac.new(secret, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


@dataclass(frozen=True)
class WebSession:
    """A verified web session: the token the browser holds and the conversation id."""

    token: str
    conversation_id: str
    issued: int


def issue(secret: bytes, now: float | None = None) -> WebSession:
    """Mint a new signed web session."""
    conversation_id = PREFIX + secrets.token_urlsafe(16)
    issued = int(time.time() if now is None else now)
    body = f"{conversation_id}.{_b36(issued)}"
    return WebSession(f"{body}.{_sign(secret, body)}", conversation_id, issued)


def verify(
    secret: bytes, token: object, max_age: int = DEFAULT_MAX_AGE, now: float | None = None
) -> WebSession | None:
    """The session ``token`` stands for, or None if it is not one we issued (or too old)."""
    if not isinstance(token, str) or len(token) > 100:
        return None
    match = _TOKEN.match(token)
    if match is None:
        return None
    conversation_id, issued36, signature = match.groups()
    body = f"{conversation_id}.{issued36}"
    if not hmac.compare_digest(signature, _sign(secret, body)):
        return None
    issued = int(issued36, 36)
    current = time.time() if now is None else now
    # a small allowance for clocks: the web server and Rasa may run on different hosts
    if issued > current + 300 or current - issued > max_age:
        return None
    return WebSession(token, conversation_id, issued)


def max_age_from_env() -> int:
    """Token lifetime in seconds (``IPT_WEB_SESSION_MAX_AGE``, default 90 days)."""
    return int(os.environ.get("IPT_WEB_SESSION_MAX_AGE", DEFAULT_MAX_AGE))
