"""Feeds over their ``max_bytes``: published anyway, named in health, metrics and
``icsbridge check --feeds`` with the window that would bring them under.

The window is worked out once per content (by ETag), from the bytes as published
(:func:`icsbridge.converters.ical.sharing.budget.fitting_window`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from icsbridge.config.settings import Settings
from icsbridge.config.sharing import DEFAULT_MAX_BYTES
from icsbridge.converters.ical.sharing.budget import Fit, fitting_window
from icsbridge.daemon.feeds.files import FeedContent, is_calendar_key


@dataclass(frozen=True)
class OverBudget:
    """A feed over its budget, and the window that would bring it under (None: none of
    the windows tried does; the feed must be split)."""

    feed: str
    size: int
    events: int
    limit: int
    fit: Fit | None

    @property
    def window(self) -> str:
        return self.fit.text() if self.fit is not None else "none"

    def line(self) -> str:
        limit = "" if self.limit == DEFAULT_MAX_BYTES else f" (its max_bytes is {self.limit:,})"
        head = (
            f'feed "{self.feed}" is {self.size:,} bytes ({self.events} events): Google stops '
            f"reading subscribed feeds near 1 MB{limit}; "
        )
        if self.fit is None:
            return head + "split it into smaller [[feeds]]"
        where = "a [[feeds]] entry of it with " if is_calendar_key(self.feed) else ""
        return head + f"{where}{self.fit.text()} would bring it to {self.fit.size:,} bytes"


def max_bytes(settings: Settings, name: str) -> int:
    """The budget of feed ``name``: its [[feeds]] entry's ``max_bytes``, else the default."""
    feed = next((f for f in settings.feeds if f.name == name), None)
    return feed.max_bytes if feed is not None else DEFAULT_MAX_BYTES


def over_budget(content: FeedContent, limit: int, now: datetime) -> OverBudget | None:
    """``content`` judged against ``limit`` (None when within it)."""
    size = len(content.data)
    if size <= limit:
        return None
    fit = fitting_window(content.data, limit, now)
    return OverBudget(content.name, size, content.events, limit, fit)


class Budgets:
    """The feeds over budget now, each judged once per content."""

    def __init__(self) -> None:
        self._found: dict[str, tuple[str, int, OverBudget]] = {}

    def check(
        self, content: FeedContent, limit: int, now: datetime, *, log: logging.Logger
    ) -> OverBudget | None:
        """``content`` against ``limit``; a feed newly over it, or over it with other
        bytes, is logged once."""
        known = self._found.get(content.name)
        if known is not None and known[:2] == (content.etag, limit):
            return known[2]
        found = over_budget(content, limit, now)
        if found is None:
            self._found.pop(content.name, None)
        else:
            self._found[content.name] = (content.etag, limit, found)
            log.warning("%s", found.line())
        return found

    def drop(self, name: str) -> None:
        self._found.pop(name, None)

    def over(self) -> dict[str, OverBudget]:
        return {name: found for name, (_, _, found) in sorted(self._found.items())}
