"""Webex Calling schedules <-> RFC 5545 VEVENTs (pure; zones and owner names come in).

Pull: :func:`to_vevents` turns every event of a :class:`WebexSchedule` into a VEVENT with
wall-clock DTSTART/DTEND in the owner's zone and the Webex recurrence as one RRULE.
Push: :func:`from_vevent` turns one VEVENT back into the :class:`WebexEvent` write payload,
or raises :class:`UnsupportedByTarget` naming every part the target level cannot hold.

Webex has no zone in its payload: times are wall-clock in the owner's zone, which the
caller passes as ``tz``. A floating (naive) DTSTART is read as wall time in ``tz``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Container
from datetime import date
from functools import partial
from typing import Any, Literal
from zoneinfo import ZoneInfo

from icalendar import Event
from icalendar.prop import vCategory, vText

from icsbridge.converters.errors import PayloadError, UnsupportedByTarget
from icsbridge.converters.ical.model import ConvertedEvent
from icsbridge.converters.ical.render_cache import EventThunk, digest_of
from icsbridge.converters.ical.rrule import RuleParts
from icsbridge.converters.webex.models import (
    DAY_NAMES,
    MONTHS,
    WEEKS,
    Pattern,
    RecurDaily,
    RecurWeekly,
    RecurYearlyByDate,
    RecurYearlyByDay,
    WebexEvent,
    WebexRecurrence,
    WebexSchedule,
    parse_schedule,
)
from icsbridge.converters.wire.base import name_problems
from icsbridge.converters.wire.recurrence import (
    RecurrenceTarget,
    day_of_month,
    read_first_occurrence,
    refuse_by_parts,
    weekly_flags,
    yearly_month,
)
from icsbridge.converters.wire.span import first_occurrence_component

__all__ = [
    "CONVERTER_VERSION",
    "Level",
    "RecurDaily",
    "RecurWeekly",
    "RecurYearlyByDate",
    "RecurYearlyByDay",
    "WebexEvent",
    "WebexRecurrence",
    "WebexSchedule",
    "event_converter",
    "event_thunks",
    "events_in_order",
    "from_vevent",
    "parse_schedule",
    "to_vevents",
]

Level = Literal["PEOPLE", "LOCATION"]

CONVERTER_VERSION = "webex-1"
"""Part of every memo key of converted Webex answers: bump it when :func:`to_vevents`
changes what it makes of the same answer (a memo must never outlive its converter)."""

TYPE_LABELS = {"businessHours": "Business hours", "holidays": "Holidays"}
NAME_LIMIT = 80
"""The longest event name a schedule takes (Control Hub's limit, unverified in the API
docs); names are also unique within a schedule, which the push plan checks."""
TARGETS: dict[str, str] = {"PEOPLE": "Webex person schedule", "LOCATION": "Webex location schedule"}
CANCELLED = (
    "STATUS:CANCELLED (a Webex event has no cancelled state, so it would stay live; "
    "delete the event to cancel it)"
)


# --- pull: Webex -> iCalendar -------------------------------------------------------------


def to_vevents(
    schedule: WebexSchedule, *, tz: ZoneInfo, level: Level, owner_name: str
) -> list[ConvertedEvent]:
    """One VEVENT per schedule event, ordered by event id.

    Components carry SUMMARY, DTSTART/DTEND (TZID=tz, or VALUE=DATE with an exclusive
    DTEND for all-day), RRULE, CATEGORIES, X-ICSBRIDGE-SCHEDULE-TYPE, TRANSP:TRANSPARENT
    (a subscribed schedule must not block anyone's free/busy) and DESCRIPTION; never UID,
    DTSTAMP, LAST-MODIFIED or SEQUENCE. A recurring event whose startDate is not an
    occurrence is moved to its first real occurrence, as the Webex server does.
    """
    convert = event_converter(schedule, tz=tz, level=level, owner_name=owner_name)
    return [convert(event) for event in events_in_order(schedule)]


def events_in_order(schedule: WebexSchedule) -> list[WebexEvent]:
    """The schedule's events in the order :func:`to_vevents` gives them (by id)."""
    return sorted(schedule.events, key=lambda item: item.id or "")


def event_converter(
    schedule: WebexSchedule, *, tz: ZoneInfo, level: Level, owner_name: str
) -> Callable[[WebexEvent], ConvertedEvent]:
    """What :func:`to_vevents` does to each event of ``schedule``, one event at a time
    (a caller that kept earlier conversions converts only the events that changed).
    The result depends on the event, ``tz``, ``level``, ``owner_name``, the schedule's
    name and type, and :data:`CONVERTER_VERSION`, nothing else."""
    shared = _schedule_properties(schedule, level, owner_name)

    def convert(event: WebexEvent) -> ConvertedEvent:
        if event.id is None:
            raise ValueError(f"event {event.name!r} has no id; read schedules with parse_schedule")
        component = first_occurrence_component(event, all_day=event.allDayEnabled, tz=tz)
        for name, value in shared.items():
            component[name] = value
        component["SUMMARY"] = vText(event.name)
        return ConvertedEvent(
            native_key=event.id, component=component, rename_hint=_rename_hint(event, tz)
        )

    return convert


def _rename_hint(event: WebexEvent, tz: ZoneInfo) -> str:
    """Everything of the event but its id and name (which a rename changes), hashed.

    Hashing the payload rather than the rendered component keeps this cheap; it is only
    ever compared with hints of the same calendar, whose zone and owner are the same.
    """
    fields = {k: v for k, v in event.to_wire().items() if k not in ("id", "name")}
    text = json.dumps([tz.key, fields], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def event_thunks(
    data: object,
    *,
    where: str,
    tz: ZoneInfo,
    level: Level,
    owner_name: str,
    known: Container[bytes] = (),
) -> tuple[str, list[EventThunk]]:
    """A decoded schedule answer as a :class:`~icsbridge.converters.ical.render_cache.LeanMemo`
    converts it: the schedule's name and, per event in :func:`to_vevents` order, a digest
    of all its conversion reads (the event's own JSON, the schedule's name and type,
    ``tz``, ``level``, ``owner_name``, :data:`CONVERTER_VERSION`) with a function that
    converts it.

    Only the events whose digest is not in ``known`` (what the memo already holds) are
    validated: a schedule answer changed by one event costs one event's validation, not
    the whole answer's. A known digest is JSON that validated before, with the same
    schedule around it; the checks across events (ids and names unique) still see every
    event, and any problem validates the whole answer, so errors read as
    :func:`parse_schedule`'s.
    """
    raw = data.get("events") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(raw, list):
        parse_schedule(data, where=where)  # raises: no object, or no list of events
        raise AssertionError(f"webex: {where}: validated without a list of events")
    try:
        shell = parse_schedule({**data, "events": []}, where=where)
        scope = (CONVERTER_VERSION, tz.key, level, owner_name, shell.name, shell.type)
        digests = [digest_of((scope, event)) for event in raw]
        fresh = [event for event, digest in zip(raw, digests, strict=True) if digest not in known]
        checked = parse_schedule({**data, "events": fresh}, where=where)
        ids = [event.get("id") if isinstance(event, dict) else None for event in raw]
        names = [event.get("name") if isinstance(event, dict) else None for event in raw]
        if len(set(ids)) != len(ids) or len(set(names)) != len(names):
            raise PayloadError(f"webex: {where}: an id or name is used twice")
    except PayloadError:
        parse_schedule(data, where=where)  # raises the problem as a full validation words it
        raise
    convert = event_converter(shell, tz=tz, level=level, owner_name=owner_name)
    validated = iter(checked.events)
    thunks: list[tuple[str, bytes, Callable[[], ConvertedEvent]]] = []
    for event_id, digest in zip(ids, digests, strict=True):
        if digest in known:  # the memo has it: never called
            thunk = partial(_unreachable, where)
        else:
            thunk = partial(convert, next(validated))
        thunks.append((str(event_id), digest, thunk))
    thunks.sort(key=lambda item: item[0])  # by id, as events_in_order
    return shell.name, [(digest, thunk) for _, digest, thunk in thunks]


def _unreachable(where: str) -> ConvertedEvent:
    raise AssertionError(f"webex: {where}: a known event was converted again")


def _schedule_properties(schedule: WebexSchedule, level: Level, owner_name: str) -> dict[str, Any]:
    """The properties every event of the schedule shares, built once per schedule.

    The values are shared between the events' components: nothing downstream mutates a
    property value in place (normalisation replaces values), so sharing is safe.
    """
    owner = owner_name if level == "PEOPLE" else f"location {owner_name}"
    return {
        "CATEGORIES": vCategory([TYPE_LABELS[schedule.type], schedule.name]),
        "X-ICSBRIDGE-SCHEDULE-TYPE": vText(schedule.type),
        "TRANSP": vText("TRANSPARENT"),
        "DESCRIPTION": vText(
            f'Webex Calling {schedule.type} schedule "{schedule.name}" of {owner}'
        ),
    }


# --- push: iCalendar -> Webex -------------------------------------------------------------


def from_vevent(vevent: Event, *, level: Level, tz: ZoneInfo) -> WebexEvent:
    """The Webex write payload (no id) for one VEVENT, for a schedule of ``level`` in ``tz``.

    Raises :class:`UnsupportedByTarget` listing, in words, every part the target cannot
    hold. Only the parts that shape the schedule are read (SUMMARY, DTSTART, DTEND or
    DURATION, RRULE and what would change the occurrences); descriptive properties are
    dropped. An RRULE UNTIL becomes recurEndDate, the date in ``tz`` of the last start
    it allows; no end means recurForEver. Single events in another zone are converted to
    ``tz`` wall time; recurring ones only if that zone keeps tz's UTC offsets. A DTSTART
    its RRULE does not select is refused: Webex would silently drop that occurrence.
    STATUS:CANCELLED is refused: a Webex event has no such state, and would stay live
    (deleting it is how to cancel it).
    """
    problems: list[str] = []
    uid = str(vevent["UID"]) if vevent.get("UID") else None
    name = str(vevent.get("SUMMARY") or "").strip()
    if not name:
        problems.append("missing SUMMARY (a Webex event needs a name)")
    problems += name_problems(name, what="a Webex event name", limit=NAME_LIMIT)
    if str(vevent.get("STATUS") or "").strip().upper() == "CANCELLED":
        problems.append(CANCELLED)
    span, recurrence = read_first_occurrence(vevent, tz, _TARGETS_BY_LEVEL[level], problems)
    if problems or span is None:
        raise UnsupportedByTarget(TARGETS[level], problems, uid)
    return WebexEvent(
        name=name,
        startDate=span.start,
        endDate=span.end,
        startTime=span.start_time,
        endTime=span.end_time,
        allDayEnabled=span.start_time is None,
        recurrence=recurrence,
    )


def _daily(rule: RuleParts, start: date, problems: list[str], *, level: Level) -> Pattern:
    if level == "LOCATION":
        problems.append("daily recurrence (location schedules)")
    refuse_by_parts(rule, problems, "BYDAY", "BYMONTH", "BYMONTHDAY")
    return RecurDaily(recurInterval=rule.interval)


def _weekly(rule: RuleParts, start: date, problems: list[str], *, level: Level) -> Pattern:
    if level == "LOCATION" and rule.interval > 1:
        problems.append(f"weekly INTERVAL={rule.interval} (location schedules)")
    flags = weekly_flags(rule, start, problems, system="Webex")
    return RecurWeekly(recurInterval=rule.interval, **flags)


def _yearly(rule: RuleParts, start: date, problems: list[str], *, level: Level) -> Pattern | None:
    if level == "PEOPLE":
        problems.append("yearly recurrence (person schedules)")
    if rule.interval > 1:
        problems.append(f"yearly INTERVAL={rule.interval}")
    month = yearly_month(rule, start, problems)
    if month is None:
        return None
    if rule.byday and rule.bymonthday:
        problems.append("BYMONTHDAY together with BYDAY")
    if rule.byday:
        ref = rule.byday[0]
        if len(rule.byday) > 1:
            problems.append("BYDAY with more than one day in a yearly rule")
        if ref.ordinal is None:
            problems.append(f"BYDAY {ref.code} without a week number in a yearly rule")
        elif ref.ordinal not in WEEKS.values():
            problems.append(f"BYDAY {ref.code} (Webex knows FIRST..FOURTH and LAST)")
        if not rule.bymonth:
            problems.append(f"BYDAY {ref.code} without BYMONTH (Webex counts weeks in a month)")
        week = next((name for name, n in WEEKS.items() if n == ref.ordinal), "FIRST")
        return RecurYearlyByDay(day=DAY_NAMES[ref.weekday], week=week, month=MONTHS[month - 1])  # type: ignore[arg-type]
    day = day_of_month(rule, start, problems, system="Webex", month=month)
    if day is None:
        return None
    return RecurYearlyByDate(dayOfMonth=day, month=MONTHS[month - 1])  # type: ignore[arg-type]


def _target(level: Level) -> RecurrenceTarget[WebexRecurrence]:
    patterns = {"DAILY": _daily, "WEEKLY": _weekly, "YEARLY": _yearly}
    return RecurrenceTarget(
        model=WebexRecurrence,
        patterns={freq: partial(reader, level=level) for freq, reader in patterns.items()},
        system="Webex",
        count_refused=(
            "COUNT (location schedules end only forever or on a date)"
            if level == "LOCATION"
            else None
        ),
    )


_TARGETS_BY_LEVEL: dict[str, RecurrenceTarget[WebexRecurrence]] = {
    "PEOPLE": _target("PEOPLE"),
    "LOCATION": _target("LOCATION"),
}
