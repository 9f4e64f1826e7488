"""Start and stop shared by the fake servers: :class:`LoopbackServer` serves one aiohttp app on
a loopback port, records ``base_url`` and works as an async context manager.
"""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Self

from aiohttp import web


class LoopbackServer(abc.ABC):
    """Serves the app from :meth:`_build_app` on ``_host:_port`` (port 0: any free port).

    Subclasses set the options below. ``start()`` returns ``base_url``, ``stop()`` frees the
    port, and ``async with`` does both.
    """

    _host: str = "127.0.0.1"
    _port: int = 0
    # Appended to ``http://host:port`` to make ``base_url`` (e.g. an API version prefix).
    _url_path: str = ""
    # aiohttp's defaults; a fake that needs otherwise overrides them.
    _handle_signals: bool = True
    _handler_cancellation: bool = False

    base_url: str = ""
    _runner: web.AppRunner | None = None

    @abc.abstractmethod
    def _build_app(self) -> web.Application:
        """The application to serve; called once per start."""

    @abc.abstractmethod
    async def _before_stop(self) -> None:
        """Release whatever would hold up the shutdown (open websockets, parked requests)."""

    async def start(self) -> str:
        """Start serving (once; a running server keeps its port) and return ``base_url``."""
        if self._runner is not None:
            return self.base_url
        runner = web.AppRunner(
            self._build_app(),
            handle_signals=self._handle_signals,
            handler_cancellation=self._handler_cancellation,
            access_log=None,
            shutdown_timeout=1.0,
        )
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        host, port = runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}{self._url_path}"
        self._runner = runner
        return self.base_url

    async def stop(self) -> None:
        """Stop serving; safe to call when not started."""
        await self._before_stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
