"""The daemon's side of edits over HTTP: from a write request to a push and new feeds.

A push and a sync of the same source never run at once (:meth:`PushService.lock`): the
sync job takes the same lock. After a push the source's feeds are updated from the
re-read, so the answer carries the feed's new ETag and the next GET serves the edit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from config.errors import IcsbridgeError
from config.settings import Settings, SourceSettings
from converters.upload import UploadedEvent, UploadError, parse_upload

from .clients import SourceClients
from .feeds import FeedStore
from .push import PushOutcome, outcome_json, push
from .push_plan import PushRefused, PushRequest, Scope
from .server_http import etag_matches
from .server_writes import WriteAnswer, WriteRequest, error
from .sources.base import source_for
from .state import StateStore
from .sync import RenderedCalendar, source_error_line

log = logging.getLogger("icsbridge.push")


class PushService:
    """Answers :class:`WriteRequest` s for the feed server (``daemon.server_writes``)."""

    def __init__(
        self,
        *,
        settings: Callable[[], Settings],
        state: StateStore,
        feeds: FeedStore,
        clients: SourceClients,
        clock: Callable[[], datetime],
        sleep: Callable[[float], Awaitable[None]] | None = None,
        published: Callable[[str, list[RenderedCalendar], datetime], None] | None = None,
    ) -> None:
        self._settings = settings
        self._state = state
        self._feeds = feeds
        self._clients = clients
        self._clock = clock
        self._sleep = sleep or asyncio.sleep
        self._published = published
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, source: str) -> asyncio.Lock:
        """The lock a sync or a push of ``source`` holds while it runs."""
        return self._locks.setdefault(source, asyncio.Lock())

    async def __call__(self, request: WriteRequest) -> WriteAnswer:
        src = self._settings().source_of_calendar(request.feed)
        if src is None or not src.feed_writes:
            return error(
                403,
                f'feed "{request.feed}": its source takes no edits over HTTP '
                "(feed_writes = true on the source turns them on)",
            )
        content = self._feeds.get(request.feed)
        if content is None:
            return error(404, f'feed "{request.feed}" is not published (yet)')
        if (
            request.uid is None
            and request.if_match is not None
            and not etag_matches(request.if_match.encode("latin-1"), content.etag.encode())
        ):
            return error(
                412,
                f'feed "{request.feed}" changed since the ETag in If-Match; fetch it again, '
                "re-apply the edits and upload again",
            )
        try:
            scope, events = self._read(request)
        except UploadError as exc:
            return error(400, str(exc))
        push_request = PushRequest(request.feed, events, scope, request.uid, request.dry_run)
        async with self.lock(src.name):
            return await self._push(src, push_request)

    def _read(self, request: WriteRequest) -> tuple[Scope, dict[str, UploadedEvent]]:
        if request.method == "DELETE":
            return "delete", {}
        events = parse_upload(request.body)
        if request.uid is None:
            return "calendar", dict(events)
        if set(events) != {request.uid}:
            found = ", ".join(sorted(events)) or "none"
            raise UploadError(
                f'the upload must hold exactly the event "{request.uid}" named in the URL '
                f"(found: {found})"
            )
        return "event", dict(events)

    async def _push(self, src: SourceSettings, request: PushRequest) -> WriteAnswer:
        now = self._clock()
        client = self._clients.client(src)
        source = source_for(src, client, tokens=self._state, sleep=self._sleep)
        try:
            outcome = await push(source, self._state, request, now=now)
        except PushRefused as exc:
            if exc.rendered:
                self._publish(src.name, exc.rendered, now)
            log.warning("%s", source_error_line(src.name, exc.message))
            return error(exc.status, exc.message, exc.lines)
        except IcsbridgeError as exc:
            line = source_error_line(src.name, str(exc))
            log.warning("push: %s", line)
            return error(502, line)
        return self._answer(src.name, request.calendar, outcome, now)

    def _answer(self, source: str, feed: str, outcome: PushOutcome, now: datetime) -> WriteAnswer:
        if outcome.rendered:
            self._publish(source, outcome.rendered, now)
        content = self._feeds.get(feed)
        etag = content.etag if content is not None else None
        return WriteAnswer(200, outcome_json(outcome, etag), etag)

    def _publish(self, source: str, rendered: list[RenderedCalendar], now: datetime) -> None:
        self._feeds.update_source(source, rendered, now=now)
        if self._published is not None:
            self._published(source, rendered, now)
