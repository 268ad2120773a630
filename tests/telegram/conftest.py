"""Fixtures: the fake Bot API, a fake Rasa, and our real Telegram service between them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from bot.telegram.app import serve
from bot.telegram.config import TelegramConfig
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
def config(telegram: FakeBotAPI, rasa: FakeRasa) -> TelegramConfig:
    """Settings that point the service at the fakes (long polling)."""
    return TelegramConfig(token=TOKEN, rasa_url=rasa.url, api_base_url=telegram.url, rasa_timeout=5)


@contextlib.asynccontextmanager
async def running(config: TelegramConfig, telegram: FakeBotAPI, **changes) -> AsyncIterator[None]:
    """Run the real service until the block ends; wait until it is ready for updates."""
    config = replace(config, **changes)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, stop))
    ready = "getUpdates" if config.mode == "polling" else "setWebhook"
    try:
        await telegram.wait_for(lambda: bool(telegram.called(ready)) or task.done())
        if task.done():
            task.result()  # raise what made it stop
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
