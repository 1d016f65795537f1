"""CalDAV's place in the daemon's ASGI app, without importing xandikos until it is used:
the feed server is built the same whether or not the CalDAV extra is installed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import Receive, Scope, Send

from icsbridge.config.settings import Settings
from icsbridge.daemon.caldav.library import caldav_problem
from icsbridge.daemon.caldav.names import WELL_KNOWN
from icsbridge.daemon.feeds.store import FeedStore
from icsbridge.daemon.push.service import EditAnswer, EditRequest
from icsbridge.daemon.store.state import StateStore

_ROOT_METHODS = ("PROPFIND", "OPTIONS")


class CaldavMount:
    """Answers ``[caldav].path`` and below, ``/.well-known/caldav`` (RFC 6764), and a
    PROPFIND of ``/`` (apps given only the host start there)."""

    def __init__(
        self,
        *,
        settings: Callable[[], Settings],
        feeds: FeedStore,
        state: StateStore,
        writer: Callable[[EditRequest], Awaitable[EditAnswer]],
    ) -> None:
        self._settings = settings
        self._parts = (feeds, state, writer)
        self._app: Any = None

    def handles(self, scope: Scope) -> bool:
        caldav = self._settings().caldav
        if caldav is None:
            return False
        path: str = scope["path"]
        if path == "/":
            return scope["method"] in _ROOT_METHODS
        return path == WELL_KNOWN or path.startswith(caldav.path) or path + "/" == caldav.path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            problem = caldav_problem(self._settings())  # [caldav] added by a reload
            if problem is not None:
                body = str(problem).encode() + b"\n"
                headers = [(b"content-type", b"text/plain; charset=utf-8")]
                await send({"type": "http.response.start", "status": 503, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            from icsbridge.daemon.caldav.app import DavApp

            feeds, state, writer = self._parts
            self._app = DavApp(settings=self._settings, feeds=feeds, state=state, writer=writer)
        await self._app(scope, receive, send)


def caldav_mount(
    settings: Callable[[], Settings],
    feeds: FeedStore,
    state: StateStore,
    writer: Callable[[EditRequest], Awaitable[EditAnswer]],
) -> CaldavMount:
    """The mount; it answers while ``[caldav]`` is set, so a reload can turn CalDAV on or
    off. Set at the start without its extra installed: one line (CaldavUnavailable)."""
    problem = caldav_problem(settings())
    if problem is not None:
        raise problem
    return CaldavMount(settings=settings, feeds=feeds, state=state, writer=writer)
