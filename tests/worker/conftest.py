"""Fixtures: the fake Bot API (shared with tests/telegram) and a fake trigger_intent endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.telegram.conftest import anyio_backend, telegram  # noqa: F401 - shared fixtures
from tests.worker.fakes import FakeRasaTrigger


@pytest.fixture
async def rasa_trigger() -> AsyncIterator[FakeRasaTrigger]:
    server = FakeRasaTrigger()
    await server.start()
    yield server
    await server.stop()
