"""Fixtures: the fake Bot API and the fake trigger_intent endpoint, on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.telegram.fakes import FakeBotAPI
from tests.worker.fakes import FakeRasaTrigger


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def telegram() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
async def rasa_trigger() -> AsyncIterator[FakeRasaTrigger]:
    server = FakeRasaTrigger()
    await server.start()
    yield server
    await server.stop()
