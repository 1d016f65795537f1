"""Incremental rendering: each event's prepared lines and bytes, reused while it is unchanged.

:func:`converters.calendar.prepare` normalises and renders an event; for a feed of
10,000 events that is most of a sync's work, and almost all of it is repeated every
sync. A :class:`RenderCache` keeps each event's :class:`PreparedEvent` under a key that
costs far less than a render: the component's *fingerprint*, a tuple of every
property's name, type, parameters and value, taken as Python values (dates, zone keys,
strings), never rendered. Two components with the same fingerprint render the same
lines, so a hit returns exactly what :func:`prepare` would.

Two shortcuts sit in front of the fingerprint, for the daemon's steady state:

- a source that found an API answer unchanged hands back the *same* converted objects
  (:class:`ConvertMemo`), so a component seen before is found by identity, without even
  a fingerprint;
- :meth:`RenderCache.recall` / :meth:`RenderCache.remember` keep a calendar's last
  result, for the sync to reuse whole when the calendar's events are the very same
  objects and everything else it depends on compares equal.

Pure: no clock, no disk, no I/O; the daemon keeps one cache per source in memory, a
restart starts cold and renders everything once (same bytes). Memory stays bounded:
each calendar keeps only the entries its latest sync used, and :meth:`RenderCache.retain`
drops the calendars a source no longer has.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Generic, TypeVar

from icalendar import Event, Todo
from icalendar.cal.component import Component
from icalendar.prop import vCategory, vDDDLists, vDDDTypes, vRecur

from converters.calendar import PreparedEvent, prepare

__all__ = ["ConvertMemo", "RenderCache", "fingerprint"]

Key = tuple[Hashable, ...]
_Seen = tuple[Component, Key | None, PreparedEvent]  # a component, its fingerprint, render


class _Unknown(Exception):
    """A value this module cannot fingerprint faithfully: the event is just rendered."""


class RenderCache:
    """Prepared events by calendar and fingerprint (see the module docstring)."""

    def __init__(self) -> None:
        self._calendars: dict[str, dict[Key, PreparedEvent]] = {}
        # id(component) -> (component, prepared): holding the component keeps its id
        # from being reused by another object while the entry lives.
        self._by_id: dict[str, dict[int, _Seen]] = {}
        self._results: dict[str, tuple[tuple[object, ...], object, object]] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._calendars.values())

    def prepare_all(self, calendar: str, components: Sequence[Event | Todo]) -> list[PreparedEvent]:
        """``[prepare(c) for c in components]``, rendering only what the calendar's
        previous call did not already render. The calendar then keeps exactly the
        entries of this call (so an entry lives as long as some event uses it).

        A component must not be changed once given here: the same object given again
        is taken to render the same (the daemon never mutates a converted component; a
        pull makes new objects, or the :class:`ConvertMemo` hands back untouched ones).
        """
        previous = self._calendars.get(calendar, {})
        previous_ids = self._by_id.get(calendar, {})
        kept: dict[Key, PreparedEvent] = {}
        kept_ids: dict[int, _Seen] = {}
        out: list[PreparedEvent] = []
        for component in components:
            same = previous_ids.get(id(component))
            if same is not None and same[0] is component:
                _, key, found = same  # the very object rendered last time (ConvertMemo)
                self.hits += 1
            else:
                key = fingerprint(component)
                hit = None if key is None else kept.get(key) or previous.get(key)
                if hit is None:
                    found = prepare(component)
                    self.misses += 1
                else:
                    found = hit
                    self.hits += 1
            if key is not None:  # also for identity hits: an equal new object may come
                kept[key] = found
            kept_ids[id(component)] = (component, key, found)
            out.append(found)
        self._calendars[calendar] = kept
        self._by_id[calendar] = kept_ids
        return out

    def recall(self, calendar: str, events: Sequence[object], inputs: object) -> object | None:
        """The result remembered for ``calendar`` when ``events`` are the very objects
        (same order) and ``inputs`` compares equal to what :meth:`remember` was given;
        else None."""
        found = self._results.get(calendar)
        if found is None:
            return None
        known, known_inputs, result = found
        if len(known) != len(events) or any(a is not b for a, b in zip(known, events, strict=True)):
            return None
        return result if known_inputs == inputs else None

    def remember(
        self, calendar: str, events: Sequence[object], inputs: object, result: object
    ) -> None:
        """Keep ``result`` for :meth:`recall` (one per calendar: the latest)."""
        self._results[calendar] = (tuple(events), inputs, result)

    def forget(self, calendar: str) -> None:
        """Drop the remembered result of ``calendar`` (its inputs are not known)."""
        self._results.pop(calendar, None)

    def retain(self, calendars: Iterable[str]) -> None:
        """Forget every calendar but ``calendars`` (those of the latest sync)."""
        keep = set(calendars)
        for table in (self._calendars, self._by_id, self._results):
            for name in [name for name in table if name not in keep]:
                del table[name]


T = TypeVar("T")


class ConvertMemo(Generic[T]):
    """What a source converted from each API answer, by a key of the answer (its bytes'
    digest, plus everything else the conversion read: zone, owner, converter version).

    While an answer is unchanged the source gets back the *same* objects, so parsing,
    validation and conversion are skipped, and the render cache finds its components by
    identity. Callers must not mutate what they get (nothing downstream does: the sync
    normalises copies). Bounded: :meth:`begin` starts a pull; an entry not used by the
    latest two pulls is dropped.
    """

    def __init__(self) -> None:
        self._current: dict[Hashable, T] = {}
        self._previous: dict[Hashable, T] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._current.keys() | self._previous.keys())

    def begin(self) -> None:
        """A new pull starts: what the pull before last used is forgotten."""
        self._previous, self._current = self._current, {}

    def get(self, key: Hashable, convert: Callable[[], T]) -> T:
        """The value kept under ``key``, or ``convert()`` kept under it."""
        found = self._current.get(key)
        if found is None:
            found = self._previous.get(key)
        if found is None:
            found = convert()
            self.misses += 1
        else:
            self.hits += 1
        self._current[key] = found
        return found


def fingerprint(component: Component) -> Key | None:
    """A hashable value equal for two components exactly when they render alike.

    Conservative: two components that render alike may still differ here (property
    order, a ``str`` against a ``vText``); then the second one is simply rendered. None
    when a value is of a type not known here (that event is always rendered).
    """
    try:
        return _component_key(component)
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
