"""A base for fakes of outside services: an aiohttp app on a free loopback port."""

from __future__ import annotations

from aiohttp import web


class LoopbackServer:
    """Subclasses add their routes in ``routes``; ``start`` returns the base URL."""

    #: appended to ``http://127.0.0.1:<port>`` for the URL ``start`` returns
    path = ""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.url = ""

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> str:
        """Start on a free loopback port; return the server's base URL."""
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}{self.path}"
        return self.url

    async def stop(self) -> None:
        """Stop the server."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
