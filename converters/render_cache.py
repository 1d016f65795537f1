"""Incremental rendering: each event's prepared lines and bytes, reused while it is unchanged.

:func:`converters.calendar.prepare` normalises and renders an event; for a feed of
10,000 events that is most of a sync's work, and almost all of it is repeated every
sync. A :class:`RenderCache` keeps each event's :class:`PreparedEvent` under a key that
costs far less than a render: the component's *fingerprint*, a tuple of every
property's name, type, parameters and value, taken as Python values (dates, zone keys,
strings), never rendered. Two components with the same fingerprint render the same
lines, so a hit returns exactly what :func:`prepare` would.

Pure: no clock, no disk, no I/O; the daemon keeps one cache per source in memory, a
restart starts cold and renders everything once (same bytes). Memory stays bounded:
each calendar keeps only the entries its latest sync used, and :meth:`RenderCache.retain`
drops the calendars a source no longer has.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from icalendar import Event, Todo
from icalendar.cal.component import Component
from icalendar.prop import vCategory, vDDDLists, vDDDTypes, vRecur

from converters.calendar import PreparedEvent, prepare

__all__ = ["RenderCache", "fingerprint"]

Key = tuple[Hashable, ...]


class _Unknown(Exception):
    """A value this module cannot fingerprint faithfully: the event is just rendered."""


class RenderCache:
    """Prepared events by calendar and fingerprint (see the module docstring)."""

    def __init__(self) -> None:
        self._calendars: dict[str, dict[Key, PreparedEvent]] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._calendars.values())

    def prepare_all(self, calendar: str, components: Sequence[Event | Todo]) -> list[PreparedEvent]:
        """``[prepare(c) for c in components]``, rendering only what the calendar's
        previous call did not already render. The calendar then keeps exactly the
        entries of this call (so an entry lives as long as some event uses it)."""
        previous = self._calendars.get(calendar, {})
        kept: dict[Key, PreparedEvent] = {}
        out: list[PreparedEvent] = []
        for component in components:
            key = fingerprint(component)
            found = None if key is None else kept.get(key) or previous.get(key)
            if found is None:
                found = prepare(component)
                self.misses += 1
            else:
                self.hits += 1
            if key is not None:
                kept[key] = found
            out.append(found)
        self._calendars[calendar] = kept
        return out

    def retain(self, calendars: Iterable[str]) -> None:
        """Forget every calendar but ``calendars`` (those of the latest sync)."""
        keep = set(calendars)
        for name in [name for name in self._calendars if name not in keep]:
            del self._calendars[name]


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
