"""Settings from the environment, and the service's behaviour without a token."""

from __future__ import annotations

import subprocess

import pytest

from bot.services.telegram.config import ConfigError, TelegramConfig
from tests.helpers import EDGE_PYTHON, REPO


def test_without_a_token_telegram_is_off():
    assert TelegramConfig.from_env({}) is None


def test_defaults_poll_and_find_rasa_on_loopback():
    config = TelegramConfig.from_env({"TELEGRAM_BOT_TOKEN": "1:x", "IPT_RASA_PORT": "5999"})
    assert config.mode == "polling"
    assert config.rasa_url == "http://127.0.0.1:5999"
    assert config.api_base_url == "https://api.telegram.org/bot"
    assert config.api_base_file_url == "https://api.telegram.org/file/bot"
    assert config.max_message_chars == 2000


def test_webhook_mode_needs_an_https_url_and_a_secret():
    env = {"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_MODE": "webhook"}
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_URL"):
        TelegramConfig.from_env(env)
    env["TELEGRAM_WEBHOOK_URL"] = "https://clinic.example/tg/hook"
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        TelegramConfig.from_env(env)
    config = TelegramConfig.from_env({**env, "TELEGRAM_WEBHOOK_SECRET": "abc"})
    assert config.webhook_path == "/tg/hook"


def test_an_unknown_mode_is_refused():
    with pytest.raises(ConfigError, match="TELEGRAM_MODE"):
        TelegramConfig.from_env({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_MODE": "push"})


def _run_service(env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run ``python -m bot.services.telegram`` from the repository with only ``env``, on the edge
    environment's interpreter as the launcher does (tests/helpers.py: EDGE_PYTHON)."""
    return subprocess.run(
        [EDGE_PYTHON, "-m", "bot.services.telegram"],
        cwd=REPO,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_service_without_a_token_says_so_and_exits_0():
    done = _run_service({"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 0
    assert "Telegram is off: TELEGRAM_BOT_TOKEN is not set" in done.stderr


def test_the_service_with_a_bad_setting_says_which_and_exits_2():
    done = _run_service(
        {"PATH": "/usr/bin:/bin", "TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_MODE": "webhook"}
    )
    assert done.returncode == 2
    assert "TELEGRAM_WEBHOOK_URL" in done.stderr
