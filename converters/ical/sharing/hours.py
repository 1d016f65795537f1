"""Effective hours: when something is really open, from its business hours and holidays.

The union of the ``open`` calendars' occurrences minus the union of the ``closed`` ones,
merged where they touch: the concrete intervals a call router goes by. Occurrences come
from :mod:`icsbridge.converters.ical.sharing.occurrences` (dateutil), so a 22:00-06:00
night shift keeps its wall times across a change of clock, and an all-day holiday is its
days in the owner's zone. ``show = "closed"`` gives the gaps between the open intervals
instead.

Each interval is one single event whose UID derives from the feed and the interval's
start, and whose DTSTAMP/LAST-MODIFIED is the newest LAST-MODIFIED of the events that
shaped it: an unchanged week keeps its bytes whatever day it is rendered.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from icalendar import Event

from icsbridge.converters.ical.assembly import RenderedEvent, Stamp, prepare, stamp_prepared
from icsbridge.converters.ical.sharing.occurrences import Shape, Stamped, occurrences

__all__ = ["Interval", "effective_intervals", "hours_events"]

_NAMESPACE = uuid.UUID("0c6f1f5e-2d0b-4a8e-9a5d-5f7f3f0f1c22")
MARGIN = timedelta(days=7)
"""How far past the window the inputs are read, so intervals crossing its edges are whole."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Interval:
    """One open (or closed) interval, aware UTC, with the newest input change in it."""

    start: datetime
    end: datetime
    modified: datetime


def _union(found: Sequence[Stamped]) -> list[Interval]:
    """Occurrences merged where they overlap or touch, in UTC."""
    spans = sorted(
        (s.astimezone(UTC), e.astimezone(UTC), m or _EPOCH) for s, e, m in found if e > s
    )
    out: list[Interval] = []
    for start, end, modified in spans:
        if out and start <= out[-1].end:
            last = out[-1]
            out[-1] = Interval(last.start, max(last.end, end), max(last.modified, modified))
        else:
            out.append(Interval(start, end, modified))
    return out


def _subtract(kept: list[Interval], cut: list[Interval]) -> list[Interval]:
    """``kept`` less ``cut`` (both sorted and merged); a piece cut by an interval carries
    that interval's change too."""
    out: list[Interval] = []
    for piece in kept:
        start, modified = piece.start, piece.modified
        for hole in cut:
            if hole.end <= start or hole.start >= piece.end:
                continue
            if hole.start > start:
                out.append(Interval(start, hole.start, max(modified, hole.modified)))
            start = max(start, hole.end)
            modified = max(piece.modified, hole.modified)
        if start < piece.end:
            out.append(Interval(start, piece.end, modified))
    return out


def effective_intervals(
    opened: Sequence[Shape],
    closed: Sequence[Shape],
    zone: tzinfo,
    start: datetime,
    end: datetime,
    *,
    show: str = "open",
) -> list[Interval]:
    """The intervals overlapping ``[start, end)`` when it is open (``show="open"``) or
    closed (``show="closed"``): ``opened`` minus ``closed``; all-day dates in ``zone``."""
    low, high = start - MARGIN, end + MARGIN
    really = _subtract(
        _union(occurrences(opened, zone, low, high)), _union(occurrences(closed, zone, low, high))
    )
    if show == "closed":
        # The gaps between open intervals; one reaching past the margin is cut there.
        bounds = [Interval(low, low, _EPOCH), *really, Interval(high, high, _EPOCH)]
        really = [
            Interval(before.end, after.start, max(before.modified, after.modified))
            for before, after in itertools.pairwise(bounds)
            if after.start > before.end
        ]
    return [span for span in really if span.end > start and span.start < end]


def hours_uid(feed: str, show: str, start: datetime) -> str:
    """The UID of the interval of ``feed`` starting at ``start``."""
    key = f"{feed}:{show}:{start.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    return f"{uuid.uuid5(_NAMESPACE, key)}@icsbridge"


def hours_events(
    intervals: Sequence[Interval],
    zone: tzinfo,
    *,
    feed: str,
    show: str,
    summary: str,
    known: Mapping[Hashable, RenderedEvent] | None = None,
) -> dict[Hashable, RenderedEvent]:
    """The intervals as single events in ``zone``'s wall time, by a key of all each one
    depends on; ``known`` (a previous answer) saves rendering the same again."""
    out: dict[Hashable, RenderedEvent] = {}
    for span in intervals:
        key = (span, str(zone), feed, show, summary)
        found = None if known is None else known.get(key)
        if found is not None:
            out[key] = found
            continue
        event = Event()
        event.add("summary", summary)
        event.add("dtstart", span.start.astimezone(zone))
        event.add("dtend", span.end.astimezone(zone))
        event.add("transp", "OPAQUE" if show == "open" else "TRANSPARENT")
        stamp = Stamp(hours_uid(feed, show, span.start), span.modified)
        out[key] = stamp_prepared(prepare(event), stamp)
    return out
