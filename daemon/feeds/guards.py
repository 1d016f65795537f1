"""What the feed store's empty guards hold back, and the line health shows for each.

A source that answers with nothing where it had events keeps its feeds (:class:`HeldSource`);
so does one calendar that answers with no events while other calendars of its source still
have some (:class:`HeldCalendar`): a malformed or truncated answer never empties a feed.
:func:`emptied_calendars` is the per-calendar question, asked by the feed store and by
``icsbridge export`` alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.pull import RenderedCalendar


def emptied_calendars(
    source: str, calendars: Iterable[RenderedCalendar], state: StateStore
) -> dict[str, int]:
    """The calendars of ``source`` that answered with no events whose events the state
    still knows, with how many it knows: the sync keeps an emptied calendar's items (so
    they come back with the same UIDs), and a push that deleted every event forgot them
    (that emptiness is the user's, and is not here)."""
    empty = [cal.meta.key for cal in calendars if not cal.events]
    known = {key: len(state.items(source, key)) for key in empty}
    return {key: count for key, count in known.items() if count}


def held_file_line(key: str, events: int) -> str:
    """What ``icsbridge export`` says of a calendar :func:`emptied_calendars` names."""
    return (
        f'calendar "{key}" answered with no events where it had {events}; its file keeps its '
        "last good content (export with --accept-empty if it really was emptied)"
    )


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
