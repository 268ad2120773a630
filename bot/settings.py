"""Settings read from the environment, with zero-setup defaults for a first run."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("IPT_VAR_DIR", REPO / "var"))


def secret(env_name: str, file_name: str) -> str:
    """A secret from ``env_name``, else one generated once and kept in var/secrets (0600).

    Production sets the environment variable (or a file outside the repository);
    a first run on a laptop gets a random one that survives restarts.
    """
    value = os.environ.get(env_name)
    if value:
        return value
    path = VAR / "secrets" / file_name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value)
    return value


def rasa_url() -> str:
    return os.environ.get("RASA_URL", "http://127.0.0.1:5005")


def rasa_token() -> str:
    """Token that protects Rasa's HTTP API (``--auth-token``)."""
    return secret("RASA_TOKEN", "rasa_token")
