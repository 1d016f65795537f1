"""A sliding-window call limiter: at most N calls in any hour, by deferring, never failing.

Wordbee counts calls per account ("1000 per 01:00:00") and answers 429 beyond that.
The source asks :meth:`SlidingWindowLimiter.acquire` before every call; when the last
hour already holds ``limit`` calls it sleeps until the oldest one leaves the window. The
clock and the sleep are injected, so tests run an hour of calls in no time.

Sources are rebuilt for every sync round, but the quota is the account's: limiters are
shared per (base_url, account_id) within the process through :func:`shared_limiter`.
After a restart the history is gone; a 429 then still makes the source wait.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

log = logging.getLogger("icsbridge.wordbee")

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]

WINDOW = timedelta(hours=1)


class SlidingWindowLimiter:
    """At most ``limit`` calls in any ``window`` (see the module docstring)."""

    def __init__(self, limit: int, clock: Clock, *, window: timedelta = WINDOW) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        self.limit = limit
        self.clock = clock
        self.window = window
        self._calls: deque[datetime] = deque()
        # A sleep that does not move the clock (a test's recorder) must not make us wait
        # for ever: time is taken to have passed at least as long as we slept.
        self._floor: datetime | None = None

    def __repr__(self) -> str:
        return f"SlidingWindowLimiter(limit={self.limit}, in_window={len(self._calls)})"

    def _now(self) -> datetime:
        now = self.clock()
        return now if self._floor is None or now >= self._floor else self._floor

    def used(self) -> int:
        """Calls made in the window ending now."""
        self._forget(self._now())
        return len(self._calls)

    def _forget(self, now: datetime) -> None:
        cutoff = now - self.window
        while self._calls and self._calls[0] <= cutoff:
            self._calls.popleft()

    async def acquire(self, sleep: Sleep, *, what: str = "") -> float:
        """Wait until a call fits in the window, count it; return the seconds waited.

        No lock is needed: nothing awaits between the check and the count, and after a
        sleep the check runs again.
        """
        waited = 0.0
        while True:
            now = self._now()
            self._forget(now)
            if len(self._calls) < self.limit:
                self._calls.append(now)
                return waited
            delay = max((self._calls[0] + self.window - now).total_seconds(), 0.001)
            log.info(
                "wordbee: %d calls in the last hour (quota %d); %s waits %.0f s",
                len(self._calls),
                self.limit,
                what or "the next call",
                delay,
            )
            await sleep(delay)
            waited += delay
            self._floor = now + timedelta(seconds=delay)


_SHARED: dict[tuple[str, str], SlidingWindowLimiter] = {}


def shared_limiter(
    base_url: str, account_id: str, limit: int, clock: Clock
) -> SlidingWindowLimiter:
    """The process-wide limiter of one Wordbee account.

    A new one replaces it when the limit or the clock differ (a changed config, or a
    test with its own clock), so a stale history never blocks a fresh setting.
    """
    key = (base_url.rstrip("/"), account_id)
    limiter = _SHARED.get(key)
    if limiter is None or limiter.limit != limit or limiter.clock is not clock:
        limiter = SlidingWindowLimiter(limit, clock)
        _SHARED[key] = limiter
    return limiter
