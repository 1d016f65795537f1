#!/usr/bin/python3
"""libical's view of an .ics feed, for tests/realclients/harness.py (read its docstring first).

Runs under Debian's /usr/bin/python3 with python3-gi and gir1.2-ical-3.0 (libical 3.0 through
its ICalGLib binding), NOT under the project venv: only the standard library and gi are used.

    libical_occurrences.py occurrences <HORIZON, e.g. 20260101T000000Z>  < feed.ics
    libical_occurrences.py errors                                         < feed.ics

occurrences: JSON {uid: [start, ...]} for every occurrence whose recurrence instant is before
  HORIZON, expanded by libical's own icalcomponent_foreach_recurrence (DTSTART + RRULE + RDATE -
  EXDATE); RECURRENCE-ID overrides (separate VEVENTs, which libical leaves to its callers) are
  swapped in here by matching instants. start is "YYYY-MM-DD" (all-day),
  "YYYY-MM-DDTHH:MM:SSZ" (UTC) or the same without "Z" (floating; the harness refuses it).
  TZID times are resolved by libical against the calendar's own VTIMEZONEs; a TZID without one
  is refused, because libical would otherwise fall back to its builtin zones silently.
errors: JSON [message, ...]: the X-LIC-ERROR properties libical's parser inserted, then those
  that icalcomponent_check_restrictions adds (deduplicated: libical 3.0 repeats some).
Exit 0 = answer on stdout; 1 = libical (or the feed) failed, one line on stderr;
3 = the libical binding is not installed; 2 = bad usage.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

try:
    import gi

    gi.require_version("ICalGLib", "3.0")
    from gi.repository import ICalGLib
except (ImportError, ValueError) as exc:
    sys.stderr.write(
        f"libical binding cannot be loaded ({exc}): run scripts/install-test-deps.sh\n"
    )
    sys.exit(3)

VEVENT = ICalGLib.ComponentKind.VEVENT_COMPONENT
VTIMEZONE = ICalGLib.ComponentKind.VTIMEZONE_COMPONENT
ANY_COMPONENT = ICalGLib.ComponentKind.ANY_COMPONENT
ANY_PROPERTY = ICalGLib.PropertyKind.ANY_PROPERTY
XLICERROR = ICalGLib.PropertyKind.XLICERROR_PROPERTY
XLICERRORTYPE = ICalGLib.ParameterKind.XLICERRORTYPE_PARAMETER
TZID_PARAMETER = ICalGLib.ParameterKind.TZID_PARAMETER
RANGE_PARAMETER = ICalGLib.ParameterKind.RANGE_PARAMETER
BEGINNING_OF_TIME = "19000101T000000Z"


class FeedError(Exception):
    """libical could not read the feed, or the feed breaks a rule the harness relies on."""


def children(component: Any, kind: Any) -> list[Any]:
    """All direct subcomponents of a kind (collected first: libical keeps one cursor)."""
    found = []
    child = component.get_first_component(kind)
    while child is not None:
        found.append(child)
        child = component.get_next_component(kind)
    return found


def properties(component: Any, kind: Any) -> list[Any]:
    found = []
    prop = component.get_first_property(kind)
    while prop is not None:
        found.append(prop)
        prop = component.get_next_property(kind)
    return found


def describe(component: Any) -> str:
    kind = ICalGLib.Component.kind_to_string(component.isa())
    uid = component.get_uid() if component.isa() == VEVENT else None
    return f"{kind} {uid}" if uid else kind


def error_messages(component: Any) -> list[str]:
    """X-LIC-ERROR properties of a component tree, as 'VEVENT uid: TYPE: message'."""
    found = []
    for prop in properties(component, XLICERROR):
        param = prop.get_first_parameter(XLICERRORTYPE)
        error_type = param.as_ical_string().partition("=")[2] if param is not None else "ERROR"
        found.append(f"libical: {describe(component)}: {error_type}: {prop.get_xlicerror()}")
    for child in children(component, ANY_COMPONENT):
        found.extend(error_messages(child))
    return found


def parse(text: str) -> Any:
    calendar = ICalGLib.Component.new_from_string(text)
    if calendar is None or calendar.isa() != ICalGLib.ComponentKind.VCALENDAR_COMPONENT:
        raise FeedError("libical: the input is not a VCALENDAR")
    return calendar


def epoch_of(time: Any) -> int:
    """The UTC instant libical gives a time: its own zone, UTC for dates and floating."""
    zone = time.get_timezone() or ICalGLib.Timezone.get_utc_timezone()
    return int(time.as_timet_with_zone(zone))


def format_start(epoch: int, time: Any) -> str:
    instant = datetime.fromtimestamp(epoch, UTC)
    if time.is_date():
        return instant.date().isoformat()
    floating = time.get_timezone() is None and not time.is_utc()
    return instant.strftime("%Y-%m-%dT%H:%M:%S") + ("" if floating else "Z")


def check_tzids(event: Any, known: set[str]) -> None:
    for prop in properties(event, ANY_PROPERTY):
        param = prop.get_first_parameter(TZID_PARAMETER)
        if param is not None and param.get_tzid() not in known:
            raise FeedError(
                f"libical: UID {event.get_uid()}: {prop.get_property_name()} uses "
                f"TZID={param.get_tzid()} but the calendar has no VTIMEZONE with that TZID"
            )


def expand(master: Any, horizon: Any) -> list[tuple[int, Any]]:
    """(instant, time) of the master's occurrences before horizon, as libical expands them."""
    spans: list[int] = []
    master.foreach_recurrence(
        ICalGLib.Time.new_from_string(BEGINNING_OF_TIME),
        horizon,
        lambda _component, span, _data: spans.append(int(span.get_start())),
        None,
    )
    limit = epoch_of(horizon)
    dtstart = master.get_dtstart()
    # foreach_recurrence reports every span that overlaps the window: keep starts before it.
    return [(epoch, dtstart) for epoch in sorted(set(spans)) if epoch < limit]


def occurrences(text: str, horizon_text: str) -> dict[str, list[str]]:
    calendar = parse(text)
    parse_errors = error_messages(calendar)
    if parse_errors:
        raise FeedError("; ".join(parse_errors))
    horizon = ICalGLib.Time.new_from_string(horizon_text)
    known = {
        tz.get_first_property(ICalGLib.PropertyKind.TZID_PROPERTY).get_tzid()
        for tz in children(calendar, VTIMEZONE)
    }
    masters: dict[str, Any] = {}
    overrides: dict[str, dict[int, Any]] = {}
    for event in children(calendar, VEVENT):
        check_tzids(event, known)
        uid = event.get_uid()
        if not uid:
            raise FeedError("libical: a VEVENT has no UID")
        rid_prop = event.get_first_property(ICalGLib.PropertyKind.RECURRENCEID_PROPERTY)
        if rid_prop is None:
            if uid in masters:
                raise FeedError(f"libical: UID {uid}: more than one VEVENT without RECURRENCE-ID")
            masters[uid] = event
        elif rid_prop.get_first_parameter(RANGE_PARAMETER) is not None:
            raise FeedError(f"libical: UID {uid}: RECURRENCE-ID;RANGE=... is not supported")
        else:
            # get_recurrenceid() ignores TZID; this resolves it like DTSTART's.
            rid = rid_prop.get_datetime_with_component(event)
            overrides.setdefault(uid, {})[epoch_of(rid)] = event
    orphans = sorted(set(overrides) - set(masters))
    if orphans:
        raise FeedError(f"libical: UID {orphans[0]}: RECURRENCE-ID override without its master")

    result: dict[str, list[str]] = {}
    for uid, master in masters.items():
        pending = dict(overrides.get(uid, {}))
        starts = []
        for epoch, time in expand(master, horizon):
            override = pending.pop(epoch, None)
            if override is None:
                starts.append(format_start(epoch, time))
            else:
                moved = override.get_dtstart()
                starts.append(format_start(epoch_of(moved), moved))
        late = [epoch for epoch in pending if epoch < epoch_of(horizon)]
        if late:
            rid = datetime.fromtimestamp(min(late), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            raise FeedError(f"libical: UID {uid}: RECURRENCE-ID {rid} matches no occurrence")
        result[uid] = starts
    return result


def errors(text: str) -> list[str]:
    try:
        calendar = parse(text)
    except FeedError as exc:
        return [str(exc)]
    calendar.check_restrictions()
    return list(dict.fromkeys(error_messages(calendar)))


def main(argv: list[str]) -> int:
    if not (argv[:1] == ["errors"] or (argv[:1] == ["occurrences"] and len(argv) == 2)):
        sys.stderr.write("usage: libical_occurrences.py occurrences <HORIZON> | errors\n")
        return 2
    text = sys.stdin.buffer.read().decode("utf-8")
    try:
        answer: object = errors(text) if argv[0] == "errors" else occurrences(text, argv[1])
    except FeedError as exc:
        sys.stderr.write(" ".join(str(exc).split()) + "\n")
        return 1
    sys.stdout.write(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
