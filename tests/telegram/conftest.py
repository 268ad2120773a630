"""Fixtures: the fake Bot API, a fake Rasa, and settings that point the service at them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.services.telegram.config import TelegramConfig
from tests.telegram.fakes import TOKEN, FakeBotAPI, FakeRasa


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def telegram() -> AsyncIterator[FakeBotAPI]:
    """The fake Bot API server on loopback."""
    api = FakeBotAPI()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
async def rasa() -> AsyncIterator[FakeRasa]:
    """The fake Rasa REST channel on loopback (echoes unless a test sets ``script``)."""
    server = FakeRasa()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def journal_url(tmp_path) -> str:
    """A fresh SQLite database for the service's update journal."""
    return f"sqlite:///{tmp_path / 'telegram.db'}"


@pytest.fixture
def config(telegram: FakeBotAPI, rasa: FakeRasa, journal_url: str) -> TelegramConfig:
    """Settings that point the service at the fakes (long polling)."""
    return TelegramConfig(token=TOKEN, rasa_url=rasa.url, api_base_url=telegram.url,
                          rasa_timeout=5, database_url=journal_url)
