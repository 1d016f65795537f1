"""What the feed store's empty guards hold back, and the line health shows for each.

A source that answers with nothing where it had events keeps its feeds (:class:`HeldSource`);
so does one calendar that answers with no events while other calendars of its source still
have some (:class:`HeldCalendar`): a malformed or truncated answer never empties a feed.
:func:`emptied_calendars` is the per-calendar question, asked by the feed store and by
``icsbridge export`` alike.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.pull import RenderedCalendar

log = logging.getLogger("icsbridge.feeds")


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


@dataclass
class EmptyGuards:
    """What the feed store holds back now: sources (``sources``) and single calendars
    (``calendars``) that answered with nothing where they had events. ``accept_empty``
    (``--accept-empty``) publishes the emptiness instead, with a warning."""

    accept_empty: bool = False
    sources: dict[str, HeldSource] = field(default_factory=dict)
    calendars: dict[str, HeldCalendar] = field(default_factory=dict)

    def warnings(self, *more: Mapping[str, str]) -> dict[str, list[str]]:
        """Health's lines by source name or calendar key, with ``more`` lines by feed
        name (size, disk, sharing), sorted by name."""
        out: dict[str, list[str]] = {}
        for source, held in self.sources.items():
            out.setdefault(source, []).append(held.line(source))
        for key, one in self.calendars.items():
            out.setdefault(key, []).append(one.line(key))
        for found in more:
            for name, line in found.items():
                out.setdefault(name, []).append(line)
        return {name: out[name] for name in sorted(out)}

    def hold_source(
        self, source: str, calendars: list[RenderedCalendar], events: int, before: int
    ) -> bool:
        """True when ``source`` keeps its last good content: it answered ``calendars``
        without one event where its ``before`` calendars had ``events``."""
        if any(cal.events for cal in calendars):
            if self.sources.pop(source, None) is not None:
                log.info('source "%s" answers with events again; its feeds follow it', source)
            return False
        if events == 0 and (calendars or not before):
            return False  # it had nothing to lose, or it still names its calendars
        if self.accept_empty:
            self.sources.pop(source, None)
            log.warning(
                'source "%s" answered with nothing where it had %d events; '
                "publishing that (--accept-empty)",
                source,
                events,
            )
            return False
        if source not in self.sources:
            held = HeldSource(events=events, calendars=before)
            self.sources[source] = held
            log.warning("%s", held.line(source))
        return True

    def hold_calendars(
        self,
        source: str,
        current: Mapping[str, RenderedCalendar],
        emptied: Iterable[str],
        served: Mapping[str, int],
        kept: Mapping[str, RenderedCalendar],
    ) -> set[str]:
        """The per-calendar guard (the source still has events): the keys of the
        ``emptied`` calendars (:func:`emptied_calendars`) whose feed served events
        (``served``: key -> events); ``kept`` is what the store holds of each for the
        merged feeds."""
        held: set[str] = set()
        for key in (key for key in current if key in set(emptied)):
            events = served.get(key, 0)
            if events == 0:
                continue
            if self.accept_empty:
                log.warning(
                    'calendar "%s" answered with no events where it had %d; publishing that '
                    "(--accept-empty)",
                    key,
                    events,
                )
                continue
            held.add(key)
            if key not in self.calendars:
                last = kept.get(key)
                one = HeldCalendar(source, events, last if last and last.events else None)
                self.calendars[key] = one
                log.warning("%s", one.line(key))
        for key, one in list(self.calendars.items()):
            if one.source == source and key not in held:
                del self.calendars[key]
                if key in current:
                    log.info('calendar "%s" answers with events again; its feed follows it', key)
        return held
