"""An ASGI app (a simulator) served on a loopback port from a thread of the test."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

from starlette.types import ASGIApp

from icsbridge.daemon.cli.demo import serve_on_loopback
from icsbridge.daemon.web.binding import QuietServer, bind, feed_server, wait_started
from icsbridge.daemon.web.limits import ServerLimits

Serve = Callable[[ASGIApp], Awaitable[tuple[QuietServer, "asyncio.Task[None]", int]]]

WAIT = 60.0  # generous bound for a slow CI machine; tests never wait without cause


class ServedApp:
    """``app`` on 127.0.0.1:<port>, served by uvicorn on its own thread and loop
    (``serve``: how; a simulator's plain uvicorn unless told)."""

    def __init__(self, app: ASGIApp, serve: Serve = serve_on_loopback) -> None:
        self.app = app
        self.serve = serve
        self.loop = asyncio.new_event_loop()
        self._started: Future[int] = Future()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.port = self._started.result(timeout=WAIT)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.server, self.task, port = self.loop.run_until_complete(self.serve(self.app))
        except BaseException as exc:
            self._started.set_exception(exc)
            return
        self._started.set_result(port)
        self.loop.run_forever()

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the server's loop (no race with requests being served)."""

        async def wrapped() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(timeout=WAIT)

    def stop(self) -> None:
        async def shutdown() -> None:
            self.server.should_exit = True
            await self.task

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout=WAIT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=WAIT)


def as_feed_server(limits: ServerLimits) -> Serve:
    """Serve the way the daemon does (``binding.bind`` + ``binding.feed_server``), with
    ``limits``."""

    async def serve(app: ASGIApp) -> tuple[QuietServer, asyncio.Task[None], int]:
        sock = bind("127.0.0.1", 0)
        server = feed_server(app, limits)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        await wait_started(server, task)
        return server, task, int(sock.getsockname()[1])

    return serve
