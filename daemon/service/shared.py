"""Following a PostgreSQL state that other daemons share: what they publish (feeds) and
change (tokens, through ``icsbridge feeds --rotate`` too) is served here at once, without
a sync or a reload of this daemon.

A task listens on a connection of its own (``daemon.store.postgres.notify.listen``);
each notice from another process, and each (re)connect, schedules one catch-up on the
loop (notices arriving together are caught up once): the feed store reads what differs
from what it serves (``FeedStore.refresh``), the tokens are read again when they may
have changed, metrics follow, and systemd's STATUS says what changed. A SQLite state
has one daemon: nothing is followed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Protocol, TypeVar

from icsbridge.config.daemon.state import PostgresState
from icsbridge.config.errors import IcsbridgeError
from icsbridge.config.settings import Settings
from icsbridge.daemon.feeds.store import FeedStore
from icsbridge.daemon.feeds.tokens import FeedTokens
from icsbridge.daemon.service.systemd import Notifier
from icsbridge.daemon.store.backend import process_name
from icsbridge.daemon.store.postgres.notify import Notice, listen
from icsbridge.daemon.web.metrics import Metrics

log = logging.getLogger("icsbridge.daemon")

T = TypeVar("T")


class Serving(Protocol):
    """What is followed: the running daemon's parts (``service.daemon.Daemon``)."""

    settings: Settings
    feeds: FeedStore
    tokens: FeedTokens
    metrics: Metrics
    notifier: Notifier


async def following(daemon: Serving, main: Awaitable[T]) -> T:
    """Await ``main`` while following the shared state for ``daemon`` (nothing is
    followed on SQLite); the listening stops with it."""
    location = daemon.settings.daemon.state
    if not isinstance(location, PostgresState):
        return await main
    follower = Follower(daemon)
    task = asyncio.create_task(listen(location, follower.heard))
    try:
        return await main
    finally:
        follower.stopped = True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Follower:
    """Turns notices into catch-ups on the loop (see the module doc)."""

    def __init__(self, daemon: Serving) -> None:
        self._daemon = daemon
        self._me = process_name()
        self._scheduled = False
        self._tokens = False
        self.stopped = False

    def heard(self, notice: Notice) -> None:
        """A notice (or a (re)connect): catch up soon, once for all heard meanwhile."""
        if notice.sender == self._me:  # published here: served already
            return
        self._tokens = self._tokens or notice.tokens
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.catch_up)

    def catch_up(self) -> None:
        self._scheduled = False
        tokens, self._tokens = self._tokens, False
        if self.stopped:
            return
        daemon = self._daemon
        try:
            changed = daemon.feeds.refresh()
            tokens = tokens and daemon.tokens.reload()
        except IcsbridgeError as exc:  # the state is unavailable: the next notice retries
            log.warning("feeds published by other daemons are not caught up: %s", exc)
            return
        daemon.metrics.follow_feeds(daemon.feeds)
        if changed:
            shown = ", ".join(changed[:3]) + (", ..." if len(changed) > 3 else "")
            log.info("%d feeds changed by other daemons: %s", len(changed), shown)
            daemon.notifier.status(f"feeds from the shared state: {len(changed)} changed")
        if tokens:
            log.info("feed tokens changed by another process: read again")
            daemon.notifier.status("feed tokens changed in the shared state: read again")
