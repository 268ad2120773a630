"""Settings read from the environment, with zero-setup defaults for a first run."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("IPT_VAR_DIR", REPO / "var"))


def var_dir() -> Path:
    """var/ (or IPT_VAR_DIR), read when called so tests can point it elsewhere."""
    return Path(os.environ.get("IPT_VAR_DIR", REPO / "var"))


def secret(env_name: str, file_name: str) -> str:
    """A secret from ``env_name``, else one generated once and kept in var/secrets (0600).

    Production sets the environment variable (or a file outside the repository); a first
    run on a laptop gets a random one that survives restarts. Safe when several processes
    start at once: the first file written wins and everyone reads that one.
    """
    value = os.environ.get(env_name)
    if value:
        return value
    path = var_dir() / "secrets" / file_name
    for _ in range(50):
        try:
            text = path.read_text().strip()
        except FileNotFoundError:
            _create_secret_file(path)
            continue
        if text:
            return text
        time.sleep(0.02)  # another process created the file a moment ago and is writing it
    raise RuntimeError(f"could not read the secret in {path}")


def _create_secret_file(path: Path) -> None:
    """Write a new random secret atomically; the first of two racing processes wins."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(32))
    try:
        os.link(tmp, path)  # fails if another process got there first: keep theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def rasa_url() -> str:
    return os.environ.get("RASA_URL", "http://127.0.0.1:5005")


def rasa_token() -> str:
    """Token that protects Rasa's HTTP API (``--auth-token``)."""
    return secret("RASA_TOKEN", "rasa_token")


REST_TOKEN_ENV = "IPT_REST_TOKEN"
RELAY_TOKEN_ENV = "IPT_TELEGRAM_RELAY_TOKEN"


def rest_token() -> str:
    """Credential of the REST channel for tools and tests (never a ``tg-``/``web-`` id)."""
    return secret(REST_TOKEN_ENV, "rest_token")


def telegram_relay_token() -> str:
    """Credential of the Telegram service on the REST channel (``tg-`` ids only)."""
    return secret(RELAY_TOKEN_ENV, "telegram_relay_token")


ACTION_SECRET_ENV = "IPT_ACTION_SECRET"
ACTION_SECRET_HEADER = "X-IPT-Action-Secret"


def action_secret() -> str:
    """Shared secret the Rasa server sends to the action server on every call.

    endpoints.yml sends it as ``${IPT_ACTION_SECRET}`` (Rasa expands the variable when it
    reads the file), so whoever starts Rasa puts it in the environment: bot/launch/run.py does.
    """
    return secret(ACTION_SECRET_ENV, "action_secret")


def public_url() -> str:
    """Where people reach our web server (``IPT_PUBLIC_URL``), for links such as /privacy."""
    default = f"http://127.0.0.1:{os.environ.get('IPT_WEB_PORT', '8080')}"
    return os.environ.get("IPT_PUBLIC_URL", default).rstrip("/")
