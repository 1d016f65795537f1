"""The daemon's side of edits from calendar apps: from an edit request to a push and new feeds.

The web layer reads a request (HTTP PUT/DELETE today) into an :class:`EditRequest` and
turns the :class:`EditAnswer` back into its protocol; nothing here knows HTTP.

A push and a sync of the same source never run at once (:meth:`PushService.lock`): the
sync job takes the same lock. An edit waits for it at most the source's ``write_wait``
(then 503 with Retry-After, nothing applied), and its preconditions are checked once it
holds the lock, against the feed as it is then: a whole-calendar upload is refused (412
with If-Match, 409 without) when a push or sync changed the feed while it waited, and
first synced when the state's rows moved on without it (``icsbridge push`` beside the
daemon, a push whose re-read failed); a one-event edit is refused (409) when that event
changed in the store meanwhile. After a push the source's feeds are updated from the
re-read, so the answer carries the feed's new ETag and the next GET serves the edit.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from icsbridge.config.durations import format_duration
from icsbridge.config.errors import IcsbridgeError
from icsbridge.config.settings import Settings, SourceSettings
from icsbridge.config.wording import quote
from icsbridge.converters.ical.upload.errors import UploadError
from icsbridge.converters.ical.upload.read import UploadedEvent, parse_upload
from icsbridge.daemon.feeds.store import FeedStore
from icsbridge.daemon.push.engine import PushOutcome, outcome_json, push
from icsbridge.daemon.push.journal import recover_pending
from icsbridge.daemon.push.plan import PushRefused, PushRequest, Scope
from icsbridge.daemon.sources.kinds import source_for
from icsbridge.daemon.sources.pool import SourceClients
from icsbridge.daemon.store.errors import StateUnavailable
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.pull import RenderedCalendar, pull_source, source_error_line
from icsbridge.daemon.sync.turn import reconnected

log = logging.getLogger("icsbridge.push")


@dataclass(frozen=True)
class EditRequest:
    """One edit of a published calendar, as the web layer read it.

    ``uid`` None: the whole calendar (``body``); else that one event, or its deletion
    (``delete``). ``precondition``, when given, says whether the client's expectation
    (an If-Match) holds for the feed's current ETag; a whole-calendar edit whose
    precondition fails is refused with 412, applying nothing.
    """

    feed: str
    uid: str | None
    delete: bool
    body: bytes
    dry_run: bool
    precondition: Callable[[str], bool] | None = None
    caldav: bool = False
    """From a CalDAV client: ``[[caldav.users]]`` grant writes, not ``feed_writes``."""


@dataclass(frozen=True)
class EditAnswer:
    """What became of an edit: ``status`` in the push engine's terms (HTTP status codes,
    which the CLI maps to exit statuses), ``payload`` the plan, notes or refusal, the
    feed's ETag after an applied push, and when to try again after a 503."""

    status: int
    payload: dict[str, Any]
    etag: str | None = None
    retry_after: int | None = None
    """Seconds after which a refused edit (503) may be sent again."""


def refusal(status: int, message: str, details: list[str] | None = None) -> EditAnswer:
    return EditAnswer(status, {"error": message, "details": details or []})


def _busy(src: SourceSettings, wait: float) -> EditAnswer:
    """503: the source stayed locked (a slow sync or push) for longer than ``write_wait``;
    the client is told to come back after about as long."""
    answer = refusal(
        503,
        f'source "{src.name}": a sync or push of it has been running for longer than '
        f"write_wait = {quote(format_duration(int(wait)))}; nothing was applied, try again "
        "shortly",
    )
    return replace(answer, retry_after=max(1, math.ceil(wait)))


class PushService:
    """Answers :class:`EditRequest` s (the web layer's write URLs send them)."""

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
        timeout: Callable[[float], AbstractAsyncContextManager[object]] = asyncio.timeout,
    ) -> None:
        """``timeout(seconds)`` bounds the wait for the source's lock (tests expire it
        without waiting)."""
        self._settings = settings
        self._state = state
        self._feeds = feeds
        self._clients = clients
        self._clock = clock
        self._sleep = sleep or asyncio.sleep
        self._published = published
        self._timeout = timeout
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, source: str) -> asyncio.Lock:
        """The lock a sync or a push of ``source`` holds while it runs."""
        return self._locks.setdefault(source, asyncio.Lock())

    async def __call__(self, request: EditRequest) -> EditAnswer:
        """Read the upload (off the loop), wait for the source's lock (at most its
        ``write_wait``: 503), check the request against the feed as it is then (412/409,
        see :meth:`_stale`) and push, all while holding the lock."""
        src = self._settings().source_of_calendar(request.feed)
        if src is None or not (src.feed_writes or request.caldav):
            return refusal(
                403,
                f'feed "{request.feed}": its source takes no edits over HTTP '
                "(feed_writes = true on the source turns them on)",
            )
        await reconnected(self._state)  # a lost PostgreSQL connection; else the 503 below
        content = self._feeds.get(request.feed)
        if content is None:
            return refusal(404, f'feed "{request.feed}" is not published (yet)')
        # The newest feed the client can have based its upload on: anything published
        # while the edit waits (for the parse, then the lock) is news to it.
        seen = content.etag
        known = self._version(request)  # the one event as the client last saw it
        stale = self._stale(request, seen, seen)  # refused early, before the parse
        if stale is not None:
            return stale
        try:
            # Off the loop: a large upload takes seconds to read, feeds are served meanwhile.
            scope, events = await asyncio.to_thread(self._read, request)
        except UploadError as exc:
            return refusal(400, str(exc))
        push_request = PushRequest(request.feed, events, scope, request.uid, request.dry_run)
        lock = self.lock(src.name)
        wait = src.write_wait.total_seconds()
        try:
            async with self._timeout(wait):
                await lock.acquire()
        except TimeoutError:
            return _busy(src, wait)
        try:
            # Checked again under the lock: a push or sync that ran meanwhile changed the
            # feed the upload would be planned against.
            if request.uid is None and self._feeds.rows_moved(src.name, request.feed):
                # Served as it is, the feed the client saw is not what the plan would
                # diff against: an edit made beside the daemon would read as undone.
                failed = await self._refresh(src)
                if failed is not None:
                    return failed
            current = self._feeds.get(request.feed)
            if current is None:
                return refusal(404, f'feed "{request.feed}" is not published (any more)')
            stale = self._stale(request, seen, current.etag)
            if stale is not None:
                return stale
            if self._version(request) != known:
                # A sync that ran meanwhile stored the API's change to this event: planned
                # against its rows, the change would read as old and the edit overwrite it.
                return refusal(
                    409,
                    f'feed "{request.feed}": the event changed in the API while this edit '
                    "waited; nothing was applied: fetch it again, re-apply the edit and send it "
                    "again",
                    [
                        f"{request.uid}: changed in the API while this edit waited for a sync or "
                        "push of its source"
                    ],
                )
            return await self._push(src, push_request)
        finally:
            lock.release()

    def _version(self, request: EditRequest) -> str | None:
        """The stored content hash of the one event ``request`` edits (None: a whole
        calendar, or an event the store does not have)."""
        row = None if request.uid is None else self._state.item_by_uid(request.uid)
        return None if row is None else row.content_hash

    @staticmethod
    def _stale(request: EditRequest, seen: str, current: str) -> EditAnswer | None:
        """The refusal of a whole-calendar edit made against another feed than ``current``
        (``seen``: the feed when the request arrived), or None when it may go ahead."""
        if request.uid is not None:
            return None  # one event: checked by its own row (:meth:`_version`), then planned
        if request.precondition is not None:
            if request.precondition(current):
                return None
            return refusal(
                412,
                f'feed "{request.feed}" changed since the ETag in If-Match; fetch it again, '
                "re-apply the edits and upload again",
            )
        if current == seen:
            return None
        # Without If-Match the upload stands for the feed it arrived at: planned against
        # the newer one, an event published meanwhile would read as deleted by it, and one
        # changed meanwhile as edited back.
        return refusal(
            409,
            f'feed "{request.feed}" changed while this upload waited for a sync or push of '
            "its source, and the upload would undo those changes; nothing was applied: "
            "fetch it again, re-apply the edits and upload again",
        )

    def _read(self, request: EditRequest) -> tuple[Scope, dict[str, UploadedEvent]]:
        if request.delete:
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

    async def _push(self, src: SourceSettings, request: PushRequest) -> EditAnswer:
        now = self._clock()
        client = self._clients.client(src)
        source = source_for(src, client, tokens=self._state, sleep=self._sleep)
        try:
            outcome = await push(source, self._state, request, now=now)
        except StateUnavailable:
            raise  # not the API's doing: the web layer answers it 507 or 503
        except PushRefused as exc:
            if exc.rendered:
                self._publish(src.name, exc.rendered, now)
            log.warning("%s", source_error_line(src.name, exc.message))
            return refusal(exc.status, exc.message, exc.lines)
        except IcsbridgeError as exc:
            line = source_error_line(src.name, str(exc))
            log.warning("push: %s", line)
            return refusal(502, line)
        # The push's last state writes and the publish are two runs of synchronous state
        # calls (on PostgreSQL each waits for the server): a turn of the loop between them,
        # still under the source's lock, lets the feeds be served meanwhile.
        await asyncio.sleep(0)
        return self._answer(src.name, request.calendar, outcome, now)

    async def _refresh(self, src: SourceSettings) -> EditAnswer | None:
        """Sync ``src`` (the caller holds its lock) and publish it; a 502 when it fails."""
        now = self._clock()
        try:
            rendered = await pull_source(
                src,
                self._state,
                now=now,
                settle=recover_pending,
                sleep=self._sleep,
                clients=self._clients,
            )
        except IcsbridgeError as exc:
            line = source_error_line(src.name, str(exc))
            log.warning("push: %s", line)
            return refusal(502, line)
        self._publish(src.name, rendered, now)
        return None

    def _answer(self, source: str, feed: str, outcome: PushOutcome, now: datetime) -> EditAnswer:
        if outcome.rendered:
            self._publish(source, outcome.rendered, now)
        content = self._feeds.get(feed)
        etag = content.etag if content is not None else None
        return EditAnswer(200, outcome_json(outcome, etag), etag)

    def _publish(self, source: str, rendered: list[RenderedCalendar], now: datetime) -> None:
        self._feeds.update_source(source, rendered, now=now)
        if self._published is not None:
            self._published(source, rendered, now)
