"""Normalising a converted event for feeds without changing what it means (see
:func:`normalized`); used by :mod:`icsbridge.converters.ical.assembly` before rendering."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, TypeVar

from dateutil import tz as dateutil_tz
from icalendar import Event, Todo, vDDDLists, vDDDTypes, vRecur
from icalendar.cal.component import Component

from icsbridge.converters.ical.text import escape_text, render_value

_C = TypeVar("_C", bound=Component)
_Item = TypeVar("_Item", bound=Event | Todo)
_SINGLE_TIMES = ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID")
_LIST_TIMES = ("EXDATE", "RDATE")


def normalized(component: _Item) -> _Item:
    """A copy of ``component`` fixed up for feeds, without changing what it means.

    - fixed-offset and UTC-like zones become UTC (written with ``Z``, never a TZID);
    - EXDATE and RDATE move to DTSTART's zone (same instants, DTSTART's TZID);
    - RRULE UNTIL takes DTSTART's form: UTC for a zoned start (icalendar 7.3 writes an
      aware UNTIL as local time without ``Z``), a date for an all-day start, and a date
      UNTIL on a timed start becomes the end of that day in DTSTART's zone;
    - empty text properties (``DESCRIPTION:``) are dropped.

    Raises ValueError for a floating (naive) date-time: never guess a zone.
    """
    event = _structural_copy(component)
    _drop_empty(event)
    _map_times(event, (*_SINGLE_TIMES, *_LIST_TIMES), _to_utc_if_fixed)
    start = event.get("DTSTART")
    start_value = start.dt if start is not None else None
    if isinstance(start_value, datetime) and start_value.tzinfo is not None:
        zone = start_value.tzinfo
        _map_times(event, _LIST_TIMES, lambda v: _in_zone(v, zone))
    rules = []
    for rule in _as_list(event.get("RRULE")):
        if isinstance(rule, vRecur) and "UNTIL" in rule:
            rule = vRecur(rule)  # a copy: the caller's component must stay as it was
            rule["UNTIL"] = [_until_like(u, start_value) for u in _as_list(rule["UNTIL"])]
        rules.append(rule)
    if rules:
        event["RRULE"] = rules if len(rules) > 1 else rules[0]
    return event


def _structural_copy(component: _C) -> _C:
    """A copy sharing the property values, which normalisation replaces, never mutates.

    copy.deepcopy of icalendar components was most of the cost of a 10,000-event export.
    """
    clone = type(component)()
    for name, value in component.items():
        clone[name] = list(value) if isinstance(value, list) else value
    clone.subcomponents = [_structural_copy(child) for child in component.subcomponents]
    return clone


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _is_empty(component: Component, name: str, value: Any) -> bool:
    if isinstance(value, (vDDDTypes, vRecur, int)):  # never empty; rendering them is costly
        return False
    if isinstance(value, str):  # escaping drops control characters: judge what is written
        return escape_text(value) == ""
    return render_value(component, name, value) == ""


def _drop_empty(component: Component) -> None:
    for name in list(component.keys()):
        kept = [v for v in _as_list(component[name]) if not _is_empty(component, name, v)]
        if not kept:
            del component[name]
        elif len(kept) != len(_as_list(component[name])):
            component[name] = kept if len(kept) > 1 else kept[0]
    for child in component.subcomponents:
        _drop_empty(child)


def _fixed_offset(zone: tzinfo) -> bool:
    return isinstance(zone, (timezone, dateutil_tz.tzoffset, dateutil_tz.tzutc))


def _to_utc_if_fixed(value: date | datetime) -> date | datetime:
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None:
        raise ValueError(f"{value.isoformat()} has no time zone (floating): attach the zone")
    return value.astimezone(UTC) if _fixed_offset(value.tzinfo) else value


def _in_zone(value: date | datetime, zone: tzinfo) -> date | datetime:
    """The same instant on DTSTART's clock (EXDATE/RDATE must share its TZID)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(zone)
    return value


def _map_times(
    event: Component,
    names: tuple[str, ...],
    change: Callable[[date | datetime], date | datetime],
) -> None:
    uid = event.get("UID", event.get("SUMMARY", "?"))

    def mapped(value: Any) -> Any:
        try:
            if isinstance(value, tuple):  # RDATE PERIOD: (start, end or duration)
                return tuple(v if isinstance(v, timedelta) else change(v) for v in value)
            return change(value)
        except ValueError as err:
            raise ValueError(f'event "{uid}": {err}') from err

    for name in names:
        rebuilt = []
        for prop in _as_list(event.get(name)):
            if isinstance(prop, vDDDLists):
                new: Any = vDDDLists([mapped(item.dt) for item in prop.dts])
            elif isinstance(prop, vDDDTypes):
                value = mapped(prop.dt)
                if value is prop.dt and _params_match(prop, value):
                    rebuilt.append(prop)  # unchanged: skip rebuilding (hot path)
                    continue
                new = vDDDTypes(value)
            else:
                rebuilt.append(prop)
                continue
            for key, param in prop.params.items():
                if key.upper() not in ("TZID", "VALUE"):
                    new.params[key] = param
            rebuilt.append(new)
        if rebuilt:
            event[name] = rebuilt if len(rebuilt) > 1 else rebuilt[0]


def _params_match(prop: vDDDTypes, value: Any) -> bool:
    """True when ``prop``'s TZID/VALUE parameters are what vDDDTypes(value) would set."""
    tzid = prop.params.get("TZID")
    kind = prop.params.get("VALUE")
    if isinstance(value, datetime):
        zone = value.tzinfo
        key = getattr(zone, "key", None)
        return kind is None and (tzid == key if key else tzid is None)
    if isinstance(value, date):
        return tzid is None and kind in (None, "DATE")
    return False


def _until_like(until: Any, start: Any) -> Any:
    """UNTIL in DTSTART's value type (RFC 5545 3.3.10)."""
    if not isinstance(start, date):
        return until
    if not isinstance(start, datetime):  # all-day start: UNTIL is a date
        return until.date() if isinstance(until, datetime) else until
    if not isinstance(until, datetime):  # timed start, date UNTIL: through that whole day
        until = datetime.combine(until, time(23, 59, 59))
    if until.tzinfo is None:
        if start.tzinfo is None:
            return until
        until = until.replace(tzinfo=start.tzinfo)
    return until.astimezone(UTC)
