"""Run the real Telegram service inside a test, between the fakes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from bot.services.telegram.app import serve
from bot.services.telegram.config import TelegramConfig
from tests.telegram.fakes import FakeBotAPI


@contextlib.asynccontextmanager
async def running(
    config: TelegramConfig, telegram: FakeBotAPI, **changes: Any
) -> AsyncIterator[None]:
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
