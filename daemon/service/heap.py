"""The daemon's garbage-collector policy: what a sync leaves alive is frozen out of scans.

CPython's generation-2 collection walks every tracked object of the process with the GIL
held: with a daemon's render caches, parsed calendars, settings and libraries that is tens
to hundreds of milliseconds, and a collection started by any thread (an upload's parse
worker, a client's pool) stalls the event loop that serves feeds just the same (issue 14:
the 1,000-event upload's worst loop lag was a 98 ms gen-2 pause). After a sync, what is
still alive is long-lived; :func:`gc.freeze` moves it to the permanent generation, which
collections skip, so later collections scan only what is new.

Frozen objects that later die in reference cycles are not collected until the next full
collection, so a :class:`HeapPolicy` runs one (unfreeze, collect, freeze) on its first
settle and then at most once per :data:`FULL_EVERY`: one bounded pause an hour in place
of one every few syncs. Garbage without cycles, nearly all of ours, is freed by reference
counting at once either way.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

FULL_EVERY = 3600.0  # seconds between full collections of the frozen heap


class HeapPolicy:
    """One per daemon; :meth:`settle` after each sync (on the loop: cheap but for the
    hourly full collection)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last_full: float | None = None

    def settle(self) -> bool:
        """Freeze what is alive now; True when a full collection ran first."""
        now = self._clock()
        full = self._last_full is None or now - self._last_full >= FULL_EVERY
        if full:
            gc.unfreeze()
            gc.collect()
            self._last_full = now
        gc.freeze()
        return full
