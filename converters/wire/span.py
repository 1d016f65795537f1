"""VEVENT times <-> an event told by its first occurrence (dates, wall times, a zone).

Webex and BroadWorks (APIO) describe an event by the inclusive dates and the wall-clock
times of its first occurrence in the owner's zone; B2CORE by two instants. This module
holds what reading and writing those spans has in common:

- push: :func:`time_properties` (DTSTART, DTEND, DURATION, or a problem in words),
  :func:`read_span` (them as wall dates/times in the target's zone), and
  :func:`refuse_exceptions` (targets with one rule and no exceptions);
- pull: :func:`first_occurrence_component` (DTSTART, DTEND and RRULE of such an event).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Event
from icalendar.prop import vBroken, vDDDTypes

from icsbridge.converters.ical import rrule
from icsbridge.converters.wire.schedule import FirstOccurrenceEvent

ONE_DAY = timedelta(days=1)
_EXCEPTIONS = (
    ("RECURRENCE-ID", "RECURRENCE-ID (single-occurrence overrides)"),
    ("EXDATE", "EXDATE"),
    ("RDATE", "RDATE"),
    ("EXRULE", "EXRULE"),
)


# --- pull ----------------------------------------------------------------------------------


def first_occurrence_component(
    event: FirstOccurrenceEvent, *, all_day: bool, tz: ZoneInfo
) -> Event:
    """DTSTART, DTEND and RRULE of ``event``: its first occurrence runs from startDate to
    endDate (inclusive), all day or at its wall times in ``tz``.

    A recurring event whose startDate is not an occurrence is moved to its first real
    occurrence, as the servers do; a zero-length timed event has no DTEND.
    """
    start_date, end_date, recurrence = event.startDate, event.endDate, event.recurrence
    if recurrence is not None:
        shift = timedelta(days=recurrence.days_to_first(start_date))
        start_date, end_date = start_date + shift, end_date + shift
    component = Event()
    start_time: time | None = None
    if all_day:
        component["DTSTART"] = vDDDTypes(start_date)
        component["DTEND"] = vDDDTypes(end_date + ONE_DAY)
    else:
        if event.startTime is None or event.endTime is None:
            raise ValueError(f"timed event {event.name!r} without times")
        start_time, end_time = event.startTime, event.endTime
        component["DTSTART"] = vDDDTypes(datetime.combine(start_date, start_time, tzinfo=tz))
        if (end_date, end_time) != (start_date, start_time):
            component["DTEND"] = vDDDTypes(datetime.combine(end_date, end_time, tzinfo=tz))
    if recurrence is not None:
        component["RRULE"] = recurrence.rule(start_time, tz).to_vrecur()
    return component


# --- push ----------------------------------------------------------------------------------


@dataclass
class Span:
    """The first occurrence: dates inclusive, wall times in the zone (None: all-day)."""

    start: date
    end: date
    start_time: time | None = None
    end_time: time | None = None


def refuse_exceptions(vevent: Event, problems: list[str]) -> None:
    """Name every exception property (overrides, EXDATE, RDATE, EXRULE) the event has."""
    problems.extend(words for prop, words in _EXCEPTIONS if vevent.get(prop) is not None)


def time_properties(vevent: Event, problems: list[str]) -> tuple[Any, Any, Any] | None:
    """DTSTART, DTEND and DURATION (the last two may be None); None with a problem when
    DTSTART is missing, one is unreadable, or both DTEND and DURATION are there."""
    start_prop, end_prop, duration_prop = (vevent.get(p) for p in ("DTSTART", "DTEND", "DURATION"))
    if start_prop is None:
        problems.append("missing DTSTART")
        return None
    for name, prop in (("DTSTART", start_prop), ("DTEND", end_prop), ("DURATION", duration_prop)):
        if isinstance(prop, vBroken):
            problems.append(f"unreadable {name} ({prop})")
            return None
    if end_prop is not None and duration_prop is not None:
        problems.append("both DTEND and DURATION")
        return None
    return start_prop, end_prop, duration_prop


def read_span(vevent: Event, tz: ZoneInfo, *, recurring: bool, problems: list[str]) -> Span | None:
    """DTSTART and DTEND (or DURATION) as wall dates/times in ``tz``; None with a problem.

    Floating times are wall time in ``tz``; single events in another zone are converted;
    recurring ones only when that zone keeps tz's UTC offsets (else their wall time drifts).
    """
    props = time_properties(vevent, problems)
    if props is None:
        return None
    start_prop, end_prop, duration_prop = props
    start: Any = start_prop.dt
    end: Any = None if end_prop is None else end_prop.dt
    duration: timedelta | None = None if duration_prop is None else duration_prop.dt
    if not isinstance(start, date):
        problems.append("DTSTART that is neither a date nor a date-time")
        return None
    if end is not None and isinstance(end, datetime) != isinstance(start, datetime):
        problems.append("DTEND and DTSTART of different value types (DATE vs DATE-TIME)")
        return None
    if not isinstance(start, datetime):
        return _all_day_span(start, end, duration, problems)
    # Zones are named as the file names them (TZID), never by a Python repr.
    tzid = start_prop.params.get("TZID") or rrule.zone_key(start.tzinfo) or start.tzname()
    return _timed_span(
        start, end, duration, tz, recurring=recurring, problems=problems, tzid=str(tzid)
    )


def _all_day_span(
    start: date, end: date | None, duration: timedelta | None, problems: list[str]
) -> Span | None:
    if duration is not None and duration % ONE_DAY:
        problems.append("DURATION with hours on an all-day event")
        return None
    exclusive_end = end if end is not None else start + (ONE_DAY if duration is None else duration)
    if exclusive_end < start:
        problems.append("DTEND before DTSTART")
        return None
    if exclusive_end == start:
        # Zero days: RFC 5545 wants DTEND later than DTSTART (it is exclusive). Read as one
        # day it would become a whole day off in the API without a word, so the user says
        # which is meant. (No DTEND and no DURATION is one day, as RFC 5545 says.)
        given = "DURATION:P0D" if end is None else f"DTEND;VALUE=DATE:{end:%Y%m%d}"
        problems.append(
            f"an all-day event of zero days ({given}, its DTSTART; RFC 5545 wants a later "
            f"end); for a one-day event give DTEND;VALUE=DATE:{start + ONE_DAY:%Y%m%d}"
        )
        return None
    return Span(start=start, end=exclusive_end - ONE_DAY)


def _timed_span(
    start: datetime,
    end: datetime | None,
    duration: timedelta | None,
    tz: ZoneInfo,
    *,
    recurring: bool,
    problems: list[str],
    tzid: str,
) -> Span | None:
    if recurring and start.tzinfo is not None and not rrule.offsets_agree(start.tzinfo, tz, start):
        problems.append(f"recurring event in time zone {tzid}; this schedule runs in {tz.key}")
        return None
    start_wall = rrule.wall_time(start, tz)
    if end is None:  # RFC 5545: no DTEND and no DURATION is a zero-length event
        end = rrule.end_of_duration(start, duration or timedelta(), tz)
    end_wall = rrule.wall_time(end, tz)
    # The targets compare wall times too: an end that is later only as an instant (across
    # a DST gap or fold) cannot be written there.
    if end_wall < start_wall:
        problems.append("DTEND before DTSTART")
        return None
    if any(value.second or value.microsecond for value in (start_wall, end_wall)):
        problems.append("times with seconds")
        return None
    return Span(start_wall.date(), end_wall.date(), start_wall.time(), end_wall.time())
