"""What the feed store's empty guards hold back, and the line health shows for each.

A source that answers with nothing where it had events keeps its feeds (:class:`HeldSource`);
so does one calendar that answers with no events while other calendars of its source still
have some (:class:`HeldCalendar`): a malformed or truncated answer never empties a feed.
"""

from __future__ import annotations

from dataclasses import dataclass

from icsbridge.daemon.sync.pull import RenderedCalendar


@dataclass(frozen=True)
class HeldSource:
    """A source kept at its last good content by the empty guard."""

    events: int
    calendars: int

    def line(self, source: str) -> str:
        return (
            f'source "{source}" answered with nothing where it had {self.calendars} calendars '
            f"with {self.events} events; its feeds keep their last good content (run with "
            "--accept-empty if the schedules really were emptied)"
        )


@dataclass(frozen=True)
class HeldCalendar:
    """A calendar kept at its last good content by the per-calendar empty guard;
    ``kept`` is that content for the merged feeds (None after a restart: they wait)."""

    source: str
    events: int
    kept: RenderedCalendar | None

    def line(self, key: str) -> str:
        return (
            f'calendar "{key}" answered with no events where it had {self.events}, while '
            f'other calendars of source "{self.source}" have events; its feed keeps its last '
            "good content (run with --accept-empty if it really was emptied)"
        )
