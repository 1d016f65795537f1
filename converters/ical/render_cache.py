"""Incremental rendering: each event's prepared bytes, reused while it is unchanged.

:func:`icsbridge.converters.ical.assembly.prepare` normalises and renders an event; for a feed of
10,000 events that is most of a sync's work, and almost all of it is repeated every
sync. Two ways around it:

- a source that keeps what it converted (the daemon's Webex source, through a
  :class:`LeanMemo`) hands over *lean* events, already prepared: nothing is converted
  or rendered again for an answer, or an event, whose bytes did not change;
- for the other sources, a :class:`RenderCache` keeps each event's
  :class:`PreparedEvent` under a key that costs far less than a render: the digest of the
  component's *fingerprint*, a tuple of every property's name, type, parameters and
  value, taken as Python values (dates, zone keys, strings), never rendered. Two
  components with the same fingerprint render the same lines, so a hit returns exactly
  what :func:`prepare` would.

:meth:`RenderCache.recall` / :meth:`RenderCache.remember` keep a calendar's last result,
for the sync to reuse whole when the calendar's events are the very same objects and
everything else it depends on compares equal.

Pure: no clock, no disk, no I/O; the daemon keeps one cache per source in memory, a
restart starts cold and renders everything once (same bytes). Memory stays bounded and
small: keys are digests, values are bytes (never components); each calendar keeps only
the entries its latest sync used, and :meth:`RenderCache.retain` drops the calendars a
source no longer has.
"""

from __future__ import annotations

import hashlib
import itertools
import operator
from collections.abc import Callable, Container, Hashable, Iterable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from functools import partial
from typing import Any, TypeVar

from icalendar.cal.component import Component
from icalendar.prop import vCategory, vDDDLists, vDDDTypes, vRecur

from icsbridge.converters.ical.assembly import lean_event, prepare
from icsbridge.converters.ical.model import ConvertedEvent, PreparedEvent

__all__ = ["LeanMemo", "RenderCache", "digest_of", "fingerprint"]

Key = tuple[Hashable, ...]


class _Unknown(Exception):
    """A value this module cannot fingerprint faithfully: the event is just rendered."""


def digest_of(value: object) -> bytes:
    """A 16-byte digest of ``repr(value)``: a key to keep instead of a large value.

    Only for values whose repr is faithful (tuples of str, int, dates, types...):
    equal reprs then mean equal values.
    """
    return hashlib.blake2b(repr(value).encode("utf-8"), digest_size=16).digest()


class RenderCache:
    """Prepared events by calendar and fingerprint digest (see the module docstring)."""

    def __init__(self) -> None:
        self._calendars: dict[str, dict[bytes, PreparedEvent]] = {}
        self._results: dict[str, tuple[tuple[object, ...], object, object]] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._calendars.values())

    def prepare_all(self, calendar: str, events: Sequence[ConvertedEvent]) -> list[PreparedEvent]:
        """Each event prepared: a lean event's own, else ``prepare(component)``,
        rendering only what the calendar's previous call did not already render. The
        calendar then keeps exactly the entries of this call (so an entry lives as long
        as some event uses it)."""
        previous = self._calendars.get(calendar, {})
        kept: dict[bytes, PreparedEvent] = {}
        out: list[PreparedEvent] = []
        for event in events:
            if event.prepared is not None:
                out.append(event.prepared)
                self.hits += 1
                continue
            component = event.vevent()
            key = fingerprint(component)
            hit = None if key is None else kept.get(key) or previous.get(key)
            if hit is None:
                found = prepare(component)
                self.misses += 1
            else:
                found = hit
                self.hits += 1
            if key is not None:
                kept[key] = found
            out.append(found)
        self._calendars[calendar] = kept
        return out

    def recall(self, calendar: str, events: Sequence[object], inputs: object) -> object | None:
        """The result remembered for ``calendar`` when ``events`` are the very objects
        (same order) and ``inputs`` compares equal to what :meth:`remember` was given;
        else None."""
        found = self._results.get(calendar)
        if found is None:
            return None
        known, known_inputs, result = found
        if len(known) != len(events) or not all(map(operator.is_, known, events)):
            return None
        return result if known_inputs == inputs else None

    def remember(
        self, calendar: str, events: Sequence[object], inputs: object, result: object
    ) -> None:
        """Keep ``result`` for :meth:`recall` (one per calendar: the latest). Keep
        ``inputs`` small (a digest): it lives as long as the result."""
        self._results[calendar] = (tuple(events), inputs, result)

    def forget(self, calendar: str) -> None:
        """Drop the remembered result of ``calendar`` (its inputs are not known)."""
        self._results.pop(calendar, None)

    def retain(self, calendars: Iterable[str]) -> None:
        """Forget every calendar but ``calendars`` (those of the latest sync)."""
        keep = set(calendars)
        for table in (self._calendars, self._results):
            for name in [name for name in table if name not in keep]:
                del table[name]


EventThunk = tuple[bytes, Callable[[], ConvertedEvent]]
# A schedule's answer digest, what the source keeps besides its events, and each event
# with its own digest.
_Kept = tuple[bytes, object, list[tuple[bytes, ConvertedEvent]], tuple[ConvertedEvent, ...]]
T = TypeVar("T")
W = TypeVar("W")


class LeanMemo:
    """What a source converted, per schedule, as lean events (prepared, no component).

    A source names each schedule it reads (any hashable key) and gives the digest of
    its answer plus everything else the conversion read (zone, owner, converter
    version). While that is unchanged :meth:`events` hands back the *same* lean
    objects: no parsing, validation, conversion or render, and the render cache's
    :meth:`RenderCache.recall` sees the very objects of the previous sync. When it
    changed, each event is looked up by its own digest among the schedule's previous
    events, so only the events that changed are converted and rendered.

    Bounded: :meth:`begin` starts a pull, :meth:`end` drops the schedules it did not
    read. Lean events are shared and never mutated.
    """

    def __init__(self) -> None:
        self._schedules: dict[Hashable, _Kept] = {}
        self._seen: set[Hashable] = set()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return sum(len(events) for _, _, _, events in self._schedules.values())

    def begin(self) -> None:
        """A pull starts."""
        self._seen = set()

    def end(self) -> None:
        """A pull ended: forget the schedules it did not read."""
        for key in [key for key in self._schedules if key not in self._seen]:
            del self._schedules[key]

    def known(self, schedule: Hashable, answer: bytes) -> tuple[Any, list[ConvertedEvent]] | None:
        """What :meth:`events` would hand back for an unchanged ``answer`` (the kept
        extra and the very same lean events), without converting anything; None when the
        schedule is new or its answer changed. Cheap enough to ask on the event loop
        before handing a conversion to a worker thread: the thread hop cost more than the
        lookup, and a re-sync with nothing changed made 408 of them."""
        known = self._schedules.get(schedule)
        if known is None or known[0] != answer:
            return None
        self._seen.add(schedule)
        self.hits += len(known[3])
        return known[1], list(known[3])

    def events(
        self,
        schedule: Hashable,
        answer: bytes,
        convert: Callable[[Container[bytes]], tuple[T, list[EventThunk]]],
    ) -> tuple[T, list[ConvertedEvent]]:
        """What ``convert`` gives for ``schedule``, its events lean, kept under ``answer``.

        ``answer`` digests the answer's bytes and everything else the conversion reads.
        ``convert`` parses the answer and gives what else the source keeps of it (a
        name...) and, per event in order, the digest of all that event's conversion
        reads with a function converting it fully. It is handed the digests the memo
        holds for the schedule: their functions are never called, so it may skip
        validating those events (a converter version is part of every digest).
        """
        self._seen.add(schedule)
        known = self._schedules.get(schedule)
        if known is not None and known[0] == answer:
            self.hits += len(known[3])
            return known[1], list(known[3])  # type: ignore[return-value]
        previous = dict(known[2]) if known is not None else {}
        extra, thunks = convert(previous.keys())
        kept: list[tuple[bytes, ConvertedEvent]] = []
        for digest, full in thunks:
            event = previous.get(digest)
            if event is None:
                event = lean_event(full())
                self.misses += 1
            else:
                self.hits += 1
            kept.append((digest, event))
        events = tuple(event for _, event in kept)  # handed back as it is while unchanged
        self._schedules[schedule] = (answer, extra, kept, events)
        return extra, [event for _, event in kept]

    def convert_items(
        self,
        schedule: Hashable,
        context: object,
        items: Sequence[W],
        wire: Callable[[W], object],
        convert: Callable[[W], ConvertedEvent],
    ) -> list[ConvertedEvent]:
        """:meth:`events` for a source whose answers are validated items, not bytes
        (APIO periods, B2CORE events): ``items`` in output order, each keyed by the
        digest of ``context`` and its ``wire`` JSON, the answer by those keys in order.
        ``context`` holds everything else ``convert`` reads (the converter's version,
        zone, owner, schedule name...): an item converts again only when its key is new."""
        keyed = [(digest_of((context, wire(item))), item) for item in items]

        def thunks(_known: Container[bytes]) -> tuple[None, list[EventThunk]]:
            return None, [(key, partial(convert, item)) for key, item in keyed]

        answer = digest_of(tuple(key for key, _ in keyed))
        return self.events(schedule, answer, thunks)[1]

    def convert_whole(
        self,
        schedule: Hashable,
        answer: bytes,
        convert: Callable[[], tuple[T, list[ConvertedEvent]]],
    ) -> tuple[T, list[ConvertedEvent]]:
        """:meth:`events` for a converter that makes its events only all at once
        (Wordbee's merges days into runs and months into calendars): an unchanged
        ``answer`` (a digest of everything the conversion reads) hands back the same
        lean events; a changed one converts all, and keeps the previous lean event of
        each whose native key, rename hint and component fingerprint are unchanged, so
        only the changed events are rendered."""

        def thunks(_known: Container[bytes]) -> tuple[T, list[EventThunk]]:
            extra, events = convert()
            out: list[EventThunk] = []
            for event in events:
                found = fingerprint(event.vevent())
                # Unknown to fingerprint: a key no other event has, so it is rendered.
                key = (event.native_key, event.rename_hint, found or next(_UNIQUE))
                out.append((digest_of(key), partial(_same, event)))
            return extra, out

        return self.events(schedule, answer, thunks)


_UNIQUE = itertools.count()


def _same(event: ConvertedEvent) -> ConvertedEvent:
    return event


def fingerprint(component: Component) -> bytes | None:
    """A digest equal for two components exactly when they render alike.

    Conservative: two components that render alike may still differ here (property
    order, a ``str`` against a ``vText``); then the second one is simply rendered. None
    when a value is of a type not known here (that event is always rendered).
    """
    try:
        return digest_of(_component_key(component))
    except _Unknown:
        return None


def _component_key(component: Component) -> Key:
    parts: list[Hashable] = [type(component), component.name]
    for name, value in component.items():
        parts.append(name)
        if isinstance(value, list):
            parts.append(("list", *(_value_key(v) for v in value)))
        else:
            parts.append(_value_key(value))
    parts.extend(_component_key(child) for child in component.subcomponents)
    return tuple(parts)


def _params_key(value: Any) -> Hashable:
    params = getattr(value, "params", None)
    if not params:
        return ()
    return tuple(sorted((str(k), _plain(v)) for k, v in params.items()))


def _value_key(value: Any) -> Hashable:
    kind = type(value)
    if isinstance(value, vDDDTypes):
        return (kind, _plain(value.dt), _params_key(value))
    if isinstance(value, vDDDLists):
        return (kind, tuple(_value_key(v) for v in value.dts), _params_key(value))
    if isinstance(value, vCategory):
        return (kind, tuple(_plain(c) for c in value.cats), _params_key(value))
    if isinstance(value, vRecur):
        items = tuple(sorted((str(k), _plain(v)) for k, v in value.items()))
        return (kind, items, _params_key(value))
    if isinstance(value, str):  # vText, vCalAddress, vUri, vWeekday...
        return (kind, str(value), _params_key(value))
    if isinstance(value, (int, float)):  # vInt, vFloat
        return (kind, repr(value), _params_key(value))
    raise _Unknown(kind.__name__)


def _plain(value: Any) -> Hashable:
    """A value inside a property (a date, a zone, a list of them) as a faithful key."""
    if isinstance(value, datetime):
        # Equal aware datetimes in two zones are *equal* in Python but render
        # differently: key the wall time, the fold and the zone apart.
        return (datetime, value.replace(tzinfo=None), value.fold, _zone_key(value.tzinfo))
    if isinstance(value, (date, time, timedelta)):
        zone = _zone_key(value.tzinfo) if isinstance(value, time) else None
        return (type(value), value, zone)
    if isinstance(value, (list, tuple)):
        return (type(value), *(_plain(v) for v in value))
    if isinstance(value, str):
        return (type(value), str(value))
    if isinstance(value, (int, float)):  # bool included: repr keeps True apart from 1
        return (type(value), repr(value))
    if isinstance(value, vDDDTypes):
        return _value_key(value)
    raise _Unknown(type(value).__name__)


def _zone_key(zone: tzinfo | None) -> Hashable:
    if zone is None:
        return None
    key = getattr(zone, "key", None)  # zoneinfo.ZoneInfo
    if isinstance(key, str):
        return (type(zone), key)
    # datetime.timezone, dateutil zones: their repr names the offset or file.
    return (type(zone), repr(zone))
