"""Settings of the Telegram service, read from the environment (see docs/telegram.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_MAX_MESSAGE_CHARS = 2000


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class TelegramConfig:
    """Everything the service needs to run; build it with :meth:`from_env`."""

    token: str
    rasa_url: str = "http://127.0.0.1:5005"
    mode: str = "polling"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    api_base_url: str = DEFAULT_API_BASE_URL
    rasa_timeout: float = 30.0
    # A message the edge check reads as a crisis waits this long for Rasa before the
    # emergency number and lines are sent by this service itself (bot/clinic/edge_help.py).
    crisis_grace: float = 3.0
    max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS
    # The project's database, for the update journal (None: IPT_DATABASE_URL or the default).
    database_url: str | None = None
    # Redis shared by every process sending as this bot, for pacing (None: each paces alone;
    # bot/services/telegram/shared_pacing.py). The password, when the URL has none.
    redis_url: str | None = None
    redis_password: str | None = field(default=None, repr=False)

    @property
    def webhook_path(self) -> str:
        """The local path the webhook server answers on: the path of the public URL."""
        return urlsplit(self.webhook_url or "").path or "/"

    @property
    def api_base_file_url(self) -> str:
        """Where files are fetched from: the API base with ``/file`` before ``/bot``."""
        base = self.api_base_url.rstrip("/")
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base + "/file/bot"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TelegramConfig | None:
        """The settings from ``env`` (default ``os.environ``); None when no token is set."""
        env = os.environ if env is None else env
        token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
        if not token:
            return None
        mode = env.get("TELEGRAM_MODE", "polling").strip().lower() or "polling"
        if mode not in ("polling", "webhook"):
            raise ConfigError(f"TELEGRAM_MODE must be 'polling' or 'webhook', not {mode!r}")
        webhook_url = env.get("TELEGRAM_WEBHOOK_URL", "").strip() or None
        secret = env.get("TELEGRAM_WEBHOOK_SECRET", "").strip() or None
        if mode == "webhook":
            if not webhook_url or not webhook_url.startswith("https://"):
                raise ConfigError("webhook mode needs TELEGRAM_WEBHOOK_URL=https://...")
            if not secret:
                # Without the secret anyone who finds the URL could post fake updates.
                raise ConfigError(
                    "webhook mode needs TELEGRAM_WEBHOOK_SECRET (1-256 of A-Z a-z 0-9 _ -)"
                )
        default_rasa = f"http://127.0.0.1:{env.get('IPT_RASA_PORT', '5005')}"
        try:
            return cls(
                token=token,
                rasa_url=(env.get("RASA_URL") or default_rasa).rstrip("/"),
                mode=mode,
                webhook_url=webhook_url,
                webhook_secret=secret,
                webhook_listen=env.get("TELEGRAM_WEBHOOK_LISTEN", "127.0.0.1"),
                webhook_port=int(env.get("TELEGRAM_WEBHOOK_PORT", "8443")),
                api_base_url=env.get("TELEGRAM_API_BASE_URL") or DEFAULT_API_BASE_URL,
                rasa_timeout=float(env.get("RASA_TIMEOUT", "30")),
                crisis_grace=float(env.get("RASA_CRISIS_GRACE", "3")),
                database_url=env.get("IPT_DATABASE_URL") or None,
                redis_url=env.get("IPT_REDIS_URL", "").strip() or None,
                redis_password=env.get("IPT_REDIS_PASSWORD") or None,
                max_message_chars=int(
                    env.get("IPT_MAX_MESSAGE_CHARS", str(DEFAULT_MAX_MESSAGE_CHARS))
                ),
            )
        except ValueError as exc:
            raise ConfigError(f"a Telegram setting is not a number: {exc}") from None
