"""Async client for Rasa's REST channel (``POST {RASA_URL}/webhooks/rest/webhook``)."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

import aiohttp
from typing_extensions import Self


class RasaUnavailable(Exception):
    """The Rasa server could not be reached or did not answer properly."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RasaClient:
    """Send one user message to Rasa and get its replies; use it as an async context manager."""

    def __init__(self, base_url: str, timeout: float = 30.0, token: str | None = None) -> None:
        self.url = base_url.rstrip("/") + "/webhooks/rest/webhook"
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        # The REST channel's credential for Telegram chats (bot/rasa_ext/rest_channel.py), in a header.
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post_json(
        self, url: str, body: dict[str, Any], params: dict[str, str] | None = None
    ) -> Any:
        """POST ``body`` to one of Rasa's endpoints; the decoded answer or RasaUnavailable."""
        if self._session is None:
            raise RuntimeError("RasaClient is not open: use `async with RasaClient(...)`")
        try:
            async with self._session.post(url, json=body, params=params) as response:
                if response.status != 200:
                    raise RasaUnavailable(f"HTTP {response.status}")
                return await response.json(content_type=None)
        except asyncio.TimeoutError:
            raise RasaUnavailable("timed out") from None
        except aiohttp.ClientError as exc:
            # The exception's class is enough to tell refused from reset; its text may hold URLs.
            raise RasaUnavailable(type(exc).__name__) from None
        except ValueError:
            raise RasaUnavailable("answer is not JSON") from None

    async def send(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Send ``message`` as ``sender``; return Rasa's replies or raise RasaUnavailable."""
        body = {"sender": sender, "message": message, "metadata": metadata or {}}
        replies = await self.post_json(self.url, body)
        if not isinstance(replies, list):
            raise RasaUnavailable("answer is not a list of replies")
        return [r for r in replies if isinstance(r, dict)]
