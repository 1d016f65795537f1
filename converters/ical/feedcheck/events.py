"""The VEVENT and VTODO checks of ``validate_feed`` (see converters/ical/feedcheck/validate.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime

from dateutil.rrule import rrulestr

from icsbridge.converters.ical.feedcheck.model import (
    Node,
    TimeValue,
    duration_seconds,
    label,
    line_times,
    parse_time,
)
from icsbridge.converters.ical.text import ContentLine

_Report = Callable[[str], None]  # the per-event problem(text) callback


def check_events(calendar: Node, problems: list[str]) -> None:
    """Append one line per problem of every VEVENT and VTODO in ``calendar``."""
    events = [node for node in calendar.children if node.name == "VEVENT"]
    todos = [node for node in calendar.children if node.name == "VTODO"]
    for event in events:
        _check_event(event, problems)
    for todo in todos:
        _check_todo(todo, problems)
    _check_identity([*events, *todos], problems)


def _check_todo(todo: Node, problems: list[str]) -> None:
    """RFC 5545 3.6.2: DTSTART is optional; DUE or DURATION (with DTSTART), not both."""
    where = label(todo)

    def problem(text: str) -> None:
        problems.append(f"{where}: {text}")

    for name in ("UID", "DTSTAMP"):
        count = len(todo.all(name))
        if count != 1:
            problem(f"no {name}" if count == 0 else f"{name} appears {count} times")
    for name in ("DTSTAMP", "LAST-MODIFIED"):
        for line in todo.all(name):
            value = parse_time(line.value, None)
            if value is None or not value.utc or line.param("TZID") is not None:
                problem(f"{name} {line.value} is not a UTC date-time (needs Z)")
    start = _single_time(todo, "DTSTART", problem)
    due = _single_time(todo, "DUE", problem)
    if todo.one("DUE") is not None and todo.one("DURATION") is not None:
        problem("has both DUE and DURATION")
    if todo.one("DURATION") is not None and todo.one("DTSTART") is None:
        problem("has DURATION but no DTSTART")
    if start is not None and due is not None:
        _check_end(start, due, problem, "DUE")
    if todo.all("ATTENDEE") and todo.one("ORGANIZER") is None:
        problem("has ATTENDEE but no ORGANIZER")
    _check_rrule(todo, start, problem)


def _check_event(event: Node, problems: list[str]) -> None:
    where = label(event)

    def problem(text: str) -> None:
        problems.append(f"{where}: {text}")

    for name in ("UID", "DTSTAMP", "DTSTART"):
        count = len(event.all(name))
        if count == 0:
            problem(f"no {name}")
        elif count > 1:
            problem(f"{name} appears {count} times")
    for name in ("DTSTAMP", "LAST-MODIFIED"):
        for line in event.all(name):
            value = parse_time(line.value, None)
            if value is None or not value.utc or line.param("TZID") is not None:
                problem(f"{name} {line.value} is not a UTC date-time (needs Z)")
    start = _single_time(event, "DTSTART", problem)
    end = _single_time(event, "DTEND", problem)
    if event.one("DTEND") is not None and event.one("DURATION") is not None:
        problem("has both DTEND and DURATION")
    if start is not None and end is not None:
        _check_end(start, end, problem)
    duration = event.one("DURATION")
    if duration is not None:
        seconds = duration_seconds(duration.value)
        if seconds is None:
            problem(f"DURATION {duration.value} is not a duration")
        elif seconds < 0:
            problem(f"DURATION {duration.value} is negative")
    if event.all("ATTENDEE") and event.one("ORGANIZER") is None:
        problem("has ATTENDEE but no ORGANIZER")
    _check_rrule(event, start, problem)
    if start is not None:
        for name in ("EXDATE", "RDATE"):
            for line in event.all(name):
                _check_like_start(line, start, problem)


def _single_time(event: Node, name: str, problem: _Report) -> TimeValue | None:
    line = event.one(name)
    if line is None:
        return None
    value = parse_time(line.value, line.param("TZID"))
    if value is None:
        problem(f"{name} {line.value} is not a DATE or DATE-TIME")
        return None
    if (line.param("VALUE") or "").upper() == "DATE" and not value.is_date:
        problem(f"{name} has VALUE=DATE but the value {line.value} holds a time")
    if value.is_date and (line.param("VALUE") or "").upper() != "DATE":
        problem(f"{name} {line.value} is a date without VALUE=DATE")
    return value


def _check_end(start: TimeValue, end: TimeValue, problem: _Report, name: str = "DTEND") -> None:
    """``name`` (DTEND, or DUE of a VTODO) must be of DTSTART's type and later than it."""
    if start.is_date != end.is_date:
        problem(f"{name} is a {end.form} but DTSTART is a {start.form}")
        return
    same_frame = start.utc == end.utc and start.tzid == end.tzid
    if same_frame:
        later = end.wall > start.wall
    else:
        start_at, end_at = start.instant(), end.instant()
        if start_at is None or end_at is None:
            return
        later = end_at > start_at
    if not later:
        hint = " (a zero-length event has no DTEND)" if name == "DTEND" else ""
        problem(f"{name} is not later than DTSTART{hint}")


def _check_rrule(event: Node, start: TimeValue | None, problem: _Report) -> None:
    rules = event.all("RRULE")
    if len(rules) > 1:
        problem(f"{len(rules)} RRULEs (at most one)")
    for rule in rules:
        parts: dict[str, str] = {}
        for part in rule.value.split(";"):
            key, _, value = part.partition("=")
            parts[key.upper()] = value
        if "FREQ" not in parts:
            problem(f"RRULE {rule.value} has no FREQ")
            continue
        if "COUNT" in parts and "UNTIL" in parts:
            problem("RRULE has both COUNT and UNTIL")
            continue
        if "UNTIL" in parts and start is not None:
            until = parse_time(parts["UNTIL"], None)
            if until is None:
                problem(f"RRULE UNTIL {parts['UNTIL']} is not a DATE or DATE-TIME")
                continue
            wanted = _until_form(start)
            if _until_form_of(until) != wanted:
                problem(f"RRULE UNTIL {parts['UNTIL']} is a {until.form}; DTSTART wants {wanted}")
                continue
        _check_rrule_parses(rule, start, problem)


def _until_form(start: TimeValue) -> str:
    if start.is_date:
        return "DATE"
    return "UTC DATE-TIME" if start.utc or start.tzid else "floating DATE-TIME"


def _until_form_of(until: TimeValue) -> str:
    return "DATE" if until.is_date else ("UTC DATE-TIME" if until.utc else "floating DATE-TIME")


def _check_rrule_parses(rule: ContentLine, start: TimeValue | None, problem: _Report) -> None:
    """python-dateutil is strict about RRULE syntax: a cheap second opinion."""
    dtstart: datetime = start.wall if start is not None else datetime(2000, 1, 1)
    if start is not None and (start.utc or start.tzid):
        dtstart = dtstart.replace(tzinfo=UTC)
    try:
        rrulestr(rule.value, dtstart=dtstart)
    except Exception as err:  # any failure of a third-party parser on arbitrary input
        problem(f"RRULE {rule.value} does not parse: {err}")


def _check_like_start(line: ContentLine, start: TimeValue, problem: _Report) -> None:
    values = line_times(line)
    if any(value is None for value in values):
        problem(f"{line.name} {line.value} holds a value that is not a DATE or DATE-TIME")
        return
    for value in values:
        assert value is not None
        if value.form != start.form:
            problem(f"{line.name} {line.value} is a {value.form}; DTSTART is a {start.form}")
            return


def _check_identity(events: list[Node], problems: list[str]) -> None:
    by_uid: dict[str, list[Node]] = defaultdict(list)
    for event in events:
        uid_line = event.one("UID")
        if uid_line is not None and uid_line.value:
            by_uid[uid_line.value].append(event)
    for uid, group in by_uid.items():
        masters = [event for event in group if event.one("RECURRENCE-ID") is None]
        if len(masters) > 1:
            problems.append(
                f'event "{uid}": UID used by {len(masters)} events (only RECURRENCE-ID '
                "overrides may share a UID)"
            )
        seen: dict[str, int] = defaultdict(int)
        for event in group:
            rid = event.one("RECURRENCE-ID")
            if rid is None:
                continue
            seen[rid.value] += 1
            if seen[rid.value] == 2:
                problems.append(f'event "{uid}": two overrides for RECURRENCE-ID {rid.value}')
            if not masters:
                problems.append(f"{label(event)}: override without its master event in the feed")
                continue
            master_start = masters[0].one("DTSTART")
            master = parse_time(master_start.value, None) if master_start else None
            value = parse_time(rid.value, rid.param("TZID"))
            if master is not None and value is not None and master.is_date != value.is_date:
                problems.append(
                    f"{label(event)}: RECURRENCE-ID is a {value.form}; "
                    f"the master's DTSTART is a {master.form}"
                )
