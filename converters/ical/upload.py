"""Reading a calendar (or one event) that a calendar app sends back: the push direction.

Pure: bytes in, events by UID out, and the content hash that tells an edit from what a
client adds or rewrites on its own (DTSTAMP, PRODID, VTIMEZONE, property order, line
folding, its own X- properties): none of those change the hash, so none is an edit.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from icalendar import (
    Alarm,
    Calendar,
    Component,
    ComponentFactory,
    Event,
    vBroken,
    vDDDLists,
)

from icsbridge.converters.errors import PayloadError
from icsbridge.converters.ical import lines
from icsbridge.converters.ical.assembly import IDENTITY_PROPERTIES, prepare
from icsbridge.converters.ical.tzids import TIMES, UploadZones, bind_zones, zone_from_text
from icsbridge.converters.ical.windows_zones import iana_zone

# Properties clients add or rewrite when they store a subscribed or synced event; none
# of them is an edit of the business object.
_CLIENT_NOISE = frozenset({"CREATED", "X-LIC-ERROR", "X-MOZ-GENERATION", "X-MOZ-LASTACK"})
_CLIENT_PREFIXES = ("X-APPLE-", "X-MOZ-", "X-GOOGLE-", "X-MICROSOFT-", "X-MS-OLK-")

MAX_EVENTS = 100_000
MAX_NESTING = 10
"""How deep components may nest (VCALENDAR > VEVENT > VALARM is 3). icalendar parses,
copies and writes components recursively: hundreds of levels end in a RecursionError."""
# Where components begin and end, found in the raw text in one pass (unfolding 20 MB
# first costs seconds). icalendar unfolds ``(\r?\n)+[ \t]`` (so a line starting with a
# blank or tab is always a continuation), splits lines at ``\r?\n``, ends a name at the
# first ``;`` or ``:``, strips it and drops blanks and tabs in it. A BEGIN is matched
# loosely (folds and blanks anywhere, parameters): counting one the parser would not see
# only refuses a freak upload. An END is matched strictly (no folds, no parameters):
# counting one the parser would not see would let nesting through. Each fold is pinned
# to the first line break of its run, as icalendar does, so no input makes this slow.
_FOLD = r"(?:(?<!\n)\r\n|(?<![\r\n])\n)(?:\r?\n)*+[ \t]"
_GAP = rf"(?:[^\S\n]|{_FOLD})*+"  # what a name may be stripped of, folds included
_IN = rf"(?:[ \t]|{_FOLD})*+"  # blanks, tabs and folds inside a name
_BEGIN = _GAP + "(?P<begin>" + _IN.join("BEGIN") + ")" + _GAP + "[;:]"
_END = r"[^\S\n]*+" + r"[ \t]*+".join(("[Ee]", "[Nn]", "[Dd]")) + r"[ \t]*+:"
_BEGIN_OR_END = re.compile(rf"^(?![ \t])(?:(?i:{_BEGIN})|{_END})", re.MULTILINE)


class _Alarm(Alarm):
    """A VALARM whose unreadable values are kept as unreadable (as in a VEVENT) instead of
    failing the whole file: most targets drop alarms, and the one that keeps them refuses
    an unreadable one by name (``converters.b2core``)."""

    ignore_exceptions = True


class _UploadCalendar(Calendar):
    """A calendar parsed with :class:`_Alarm` for its VALARMs."""

    _components_factory = ComponentFactory()
    _components_factory.add_component_class(_Alarm)


class UploadError(PayloadError):
    """The upload cannot be read as iCalendar data; the message says why, in one line."""


@dataclass(frozen=True)
class UploadedEvent:
    """One VEVENT of an upload: ``overridden`` when the upload also changes single
    occurrences of it (RECURRENCE-ID), which no target API can hold."""

    uid: str
    component: Event
    overridden: bool = False


def parse_upload(data: bytes, *, what: str = "the upload") -> dict[str, UploadedEvent]:
    """The VEVENTs of ``data`` (one VCALENDAR) by UID, in file order.

    Raises :class:`UploadError` for data that is not one calendar, an event without a
    UID, or two events with one UID and no RECURRENCE-ID. VTODO, VJOURNAL and the rest
    are refused: no target API takes them.
    """
    try:
        text = data.decode("utf-8-sig")  # a leading BOM (Windows apps write one) is no data
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UploadError(
            f"{what}: not UTF-8 text (byte {exc.start}, line {line}); save it as UTF-8"
        ) from exc
    _check_nesting(text, what)
    try:
        calendars = _UploadCalendar.from_ical(text, multiple=True)
    except _PARSER_ERRORS as exc:
        raise UploadError(f"{what}: {_parse_problem(text, exc)}") from exc
    calendar = _one_calendar(calendars, text, what)
    tzids = UploadZones(calendar)
    masters: dict[str, Event] = {}
    overridden: set[str] = set()
    for number, sub in enumerate(calendar.subcomponents, start=1):
        if sub.name == "VTIMEZONE":
            continue
        if not isinstance(sub, Event):
            raise UploadError(
                f"{what}: component {number} is a {sub.name}; only VEVENTs can be pushed"
            )
        uid = _uid(sub, f"{what}: event {number}{_summary(sub)}")
        if sub.get("RECURRENCE-ID") is not None:
            overridden.add(uid)
            continue
        if uid in masters:
            raise UploadError(f'{what}: two events have the UID "{uid}"; UIDs must be unique')
        where = f'{what}: event "{uid}"'
        _check_lines(sub, text, what)
        _check_parts(sub, text, where)
        try:
            bind_zones(sub, tzids)
        except ValueError as exc:
            raise UploadError(f"{where}: {exc}; {_FIX} (or use IANA TZIDs)") from exc
        _check_values(sub, where, tzids)
        masters[uid] = sub
        if len(masters) > MAX_EVENTS:
            raise UploadError(f"{what}: more than {MAX_EVENTS} events; push a smaller calendar")
    for uid in overridden - masters.keys():
        raise UploadError(
            f'{what}: event "{uid}" changes one occurrence (RECURRENCE-ID) of a series '
            "the upload does not contain"
        )
    return {uid: UploadedEvent(uid, ev, uid in overridden) for uid, ev in masters.items()}


def _check_nesting(text: str, what: str) -> None:
    """Refuse components nested deeper than :data:`MAX_NESTING`, before the parser sees
    them (see ``_BEGIN_OR_END`` for how BEGIN and END lines are told)."""
    depth = 0
    for found in _BEGIN_OR_END.finditer(text):
        if found.group("begin") is None:
            depth = max(depth - 1, 0)
            continue
        depth += 1
        if depth > MAX_NESTING:
            line = text.count("\n", 0, found.start("begin")) + 1
            raise UploadError(
                f"{what}: components nested more than {MAX_NESTING} deep (the BEGIN on "
                f"line {line}); an event holds alarms, not alarms in alarms: remove the "
                "nested components and upload again"
            )


# What icalendar raises for text it cannot read (TypeError and AttributeError too: some
# shapes of broken input reach code that assumed a well-formed one).
_PARSER_ERRORS = (ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError)


_FIX = "fix it in the calendar app and upload again"


def _parse_problem(text: str, exc: BaseException) -> str:
    """icalendar's complaint in words, with the line (and the event) it is about."""
    for tzid, block in lines.blocks(text, "VTIMEZONE"):
        if iana_zone(tzid) == tzid.strip():
            continue  # tzdata's zone is used, whatever the file says about it
        try:
            zone_from_text(block.encode(), tzid)
        except ValueError as problem:  # icalendar's message would not say which zone
            return f"{problem}; {_FIX}"
    return f"{lines.explain(text, _first_line(exc))}; {_FIX}"


def _one_calendar(calendars: Sequence[Component], text: str, what: str) -> Component:
    if len(calendars) == 1 and calendars[0].name == "VCALENDAR":
        return calendars[0]
    names = sorted({str(c.name) for c in calendars})
    if not calendars:
        cut = lines.unclosed(text)
        if cut is not None and cut.startswith("line "):
            raise UploadError(f"{what}: {cut}; {_FIX}")
        if cut is not None:
            raise UploadError(f"{what}: {cut}: the file is cut short; upload all of it")
        raise UploadError(
            f"{what}: the file holds no calendar (no BEGIN:VCALENDAR); export the calendar "
            "from the calendar app as an .ics file"
        )
    if "VCALENDAR" in names:
        raise UploadError(
            f"{what}: the file holds {len(calendars)} calendars (VCALENDAR objects); push "
            "one calendar at a time"
        )
    held = f"a {names[0]}" if len(calendars) == 1 else f"{len(calendars)} {'/'.join(names)}s"
    raise UploadError(
        f"{what}: the file holds {held} but no VCALENDAR around it; calendar apps export "
        "whole calendars (BEGIN:VCALENDAR ... END:VCALENDAR): export the calendar, or put "
        "the events between BEGIN:VCALENDAR and END:VCALENDAR lines"
    )


def _summary(component: Component) -> str:
    summary = component.get("SUMMARY")
    text = str(summary).strip() if isinstance(summary, str) else ""
    return f' ("{text}")' if text else ""


def _uid(component: Component, where: str) -> str:
    value = component.get("UID")
    if isinstance(value, list):
        shown = ", ".join(f'"{v}"' for v in value)
        raise UploadError(f"{where}: {len(value)} UID lines ({shown}); an event has one UID")
    uid = str(value or "").strip()
    if not uid:
        raise UploadError(f"{where} has no UID; every event needs one")
    return uid


def _check_lines(component: Component, text: str, what: str) -> None:
    """Refuse a line icalendar skipped (it keeps going without it): that would be lost."""
    for name, message in component.errors:
        if name is None:
            raise UploadError(f"{what}: {lines.explain(text, message)}; {_FIX}")


def _check_parts(component: Component, text: str, where: str) -> None:
    """An event holds VALARMs only (RFC 5545 3.6.1); anything else inside it is another
    component that lost its END line, and would be lost with it."""
    for sub in component.subcomponents:
        if sub.name != "VALARM":
            missing = lines.unclosed(text)
            why = f" ({missing})" if missing else ""
            raise UploadError(
                f"{where}: holds a {sub.name} inside it{why}; only VALARMs belong in an "
                f"event: {_FIX}"
            )


# icalendar names the type it expected; users read what that is.
_EXPECTED = {
    "vDDDTypes": "a date or date-time",
    "vDDDLists": "a list of dates or date-times",
    "vRecur": "a recurrence rule such as FREQ=WEEKLY;BYDAY=MO",
    "vDuration": "a duration such as PT15M",
    "vPeriod": "a period",
    "vInt": "a whole number",
}
_EXPECTED_OF = {"DURATION": "a duration such as PT1H"}
_TIMES = TIMES
# What some later step reads as a value (the plan, a converter); every other property is
# carried as it is (a bad value in one is not an edit anyone makes, and never refuses).
_READ = frozenset({*_TIMES, "DURATION", "RRULE", "EXRULE", "UID", "SUMMARY", "DESCRIPTION"})
_READ_PREFIX = "X-ICSBRIDGE-"
# Of those, the ones an event has once (RFC 5545 3.6.1); two would leave the step guessing.
_ONCE = ("UID", "SUMMARY", "DESCRIPTION", "STATUS", "DTSTART", "DTEND", "DURATION", "RECURRENCE-ID")


def _read(name: str) -> bool:
    return name in _READ or name == "STATUS" or name.startswith(_READ_PREFIX)


def _check_values(component: Component, where: str, tzids: UploadZones) -> None:
    """Refuse what no later step could read: a property given twice that an event has
    once, a value the parser kept as unreadable, or a date-time without a zone (floating,
    or a TZID no one knows), whose instant would have to be guessed. Properties nobody
    reads (CREATED, X-..., GEO...) are not checked: nothing depends on them."""
    for name, prop in component.items():
        if not _read(name):
            continue
        values = prop if isinstance(prop, list) else [prop]
        if len(values) > 1 and (name in _ONCE or name.startswith(_READ_PREFIX)):
            shown = ", ".join(_shown(v) for v in values)
            raise UploadError(
                f"{where}: {len(values)} {name} lines ({shown}); an event has one {name}: "
                "keep the right one and upload again"
            )
        for value in values:
            if isinstance(value, vBroken):
                expected = _EXPECTED_OF.get(name) or _EXPECTED.get(
                    getattr(value, "expected_type", ""), "another form"
                )
                raise UploadError(
                    f"{where}: {name} cannot be read ({str(value)[:60]!r}; expected "
                    f"{expected}); fix it in the calendar app and upload again"
                )
            if name in _KINDS:
                _check_kind(value, name, where)
            if name in _TIMES:
                _check_zoned(value, name, where, tzids)
    _check_range(component, where)


# What each time property holds (RFC 5545 3.8.2.x); anything else (a VALUE= that does not
# fit, such as DTEND;VALUE=DURATION) is refused before a step does arithmetic with it.
_DAY_OR_TIME = "a date or date-time"
_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "DTSTART": ((date,), _DAY_OR_TIME),
    "DTEND": ((date,), _DAY_OR_TIME + " (a length goes in DURATION, e.g. DURATION:PT1H)"),
    "DUE": ((date,), _DAY_OR_TIME),
    "RECURRENCE-ID": ((date,), _DAY_OR_TIME),
    "EXDATE": ((date,), "a list of dates or date-times"),
    "RDATE": ((date, tuple), "a list of dates, date-times or periods"),
    "DURATION": ((timedelta,), "a duration such as PT1H (an end goes in DTEND)"),
}
# Years a schedule can hold with room for zone and recurrence arithmetic (Apple writes
# birthdays without a year as 1604; nothing real is near year 1 or 9999).
_YEARS = (1000, 8999)


def _check_kind(value: Any, name: str, where: str) -> None:
    kinds, expected = _KINDS[name]
    items = value.dts if isinstance(value, vDDDLists) else [value]
    for item in items:
        inner = getattr(item, "dt", None)
        if not isinstance(inner, kinds):
            kind = value.params.get("VALUE")
            shown = f"{name};VALUE={kind}" if kind else name
            raise UploadError(
                f"{where}: {shown} {_ical(item)} is not {expected}; fix it in the calendar "
                "app and upload again"
            )


def _check_range(component: Component, where: str) -> None:
    """Refuse times no schedule holds, before arithmetic on them overflows."""
    found: list[tuple[str, Any]] = []
    for name in _TIMES:
        prop = component.get(name)
        for value in prop if isinstance(prop, list) else [] if prop is None else [prop]:
            found.extend((name, moment) for moment in _instants(value))
    start, duration = component.get("DTSTART"), component.get("DURATION")
    if start is not None and duration is not None:
        try:
            found.append(("DTSTART + DURATION", start.dt + duration.dt))
        except OverflowError:
            found.append(("DTSTART + DURATION", date.max))
    for name, moment in found:
        if not _YEARS[0] <= moment.year <= _YEARS[1]:
            raise UploadError(
                f"{where}: {name} {moment.isoformat()} is outside the years "
                f"{_YEARS[0]}-{_YEARS[1]}; fix it in the calendar app and upload again"
            )


def _ical(value: Any) -> str:
    text = value.to_ical()  # bytes from most value types, str from some (vTime)
    return text.decode() if isinstance(text, bytes) else str(text)


def _shown(value: Any) -> str:
    inner = value if isinstance(value, vBroken) else getattr(value, "dt", value)
    text = inner.isoformat() if isinstance(inner, date) else str(inner)
    return f'"{text[:40]}"'


def _instants(value: Any) -> list[Any]:
    """The dates and date-times of a time property (both ends of an RDATE PERIOD)."""
    found: list[Any] = []
    for item in value.dts if isinstance(value, vDDDLists) else [value]:
        found.extend(item.dt if isinstance(item.dt, tuple) else [item.dt])
    return [moment for moment in found if isinstance(moment, date)]


def _check_zoned(value: Any, name: str, where: str, tzids: UploadZones) -> None:
    for dt in _instants(value):
        if not isinstance(dt, datetime) or dt.tzinfo is not None:
            continue
        tzid = value.params.get("TZID")
        why = f'TZID "{tzid}" is not a time zone known here' if tzid else "it is floating"
        if not tzid and tzids.calendar_zone_name:
            why += f', and X-WR-TIMEZONE "{tzids.calendar_zone_name}" is no zone known here'
        if _is_period(value):
            raise UploadError(
                f"{where}: {name};VALUE=PERIOD {_ical(value)} has no time zone ({why}, or "
                "made of dates); a period is two date-times with a zone (e.g. "
                f"20261208T090000Z/PT1H), and whole days are {name};VALUE=DATE:20261208"
            )
        raise UploadError(
            f"{where}: {name} {dt.isoformat()} has no time zone ({why}); give it an IANA "
            'TZID (e.g. TZID=Europe/Paris) or a UTC time ("Z")'
        )


def _is_period(value: Any) -> bool:
    items = value.dts if isinstance(value, vDDDLists) else [value]
    return any(isinstance(item.dt, tuple) for item in items)


def edit_hash(component: Event) -> str:
    """The content hash of an uploaded event, comparable with the content hash the pull
    recorded for what was published (``converters.ical.assembly.prepare``): identity, stamps
    and what clients add on their own are left out, alarms apps add included (see
    :func:`app_alarm`; the push plan first drops default reminders with :func:`own_alarms`)."""
    clean = Event()
    for name, value in component.items():
        if not _noise(name):
            clean[name] = value
    start = _start_of(component)
    for sub in component.subcomponents:
        if not (sub.name == "VALARM" and app_alarm(sub, start)):
            clean.add_component(sub)
    return prepare(clean).content_hash


# --- alarms: the user's, or the app's own ----------------------------------------------------
#
# Calendar apps put alarms on events by themselves. None of these is an edit: the user did
# not set them, and B2CORE (the one kind that holds alarms) would turn each into a
# notification for every recipient. README "What each kind takes" states the rule.

_APPLE_DEFAULT = ("X-APPLE-DEFAULT-ALARM", "X-APPLE-LOCAL-DEFAULT-ALARM")
FAR_TRIGGER = timedelta(days=366)
"""An absolute trigger further than this from the start is no reminder of the event."""

AlarmKey = tuple[str, object]
"""What tells two alarms apart for the rules below: the trigger (RELATED, value)."""


def placeholder_alarm(alarm: Component) -> bool:
    """An alarm that stands for "no alert" or for the app's own default, never set on the
    event: ``ACTION:NONE`` (RFC 9074; Apple's "None" alert) or one Apple marks as the
    calendar's default alert (``X-APPLE-DEFAULT-ALARM:TRUE``,
    ``X-APPLE-LOCAL-DEFAULT-ALARM:TRUE``). A feed of ours never writes either."""
    if str(alarm.get("ACTION") or "").strip().upper() == "NONE":
        return True
    return any(str(alarm.get(name) or "").strip().upper() == "TRUE" for name in _APPLE_DEFAULT)


def app_alarm(alarm: Component, start: datetime | None) -> bool:
    """A :func:`placeholder_alarm`, or an absolute trigger more than :data:`FAR_TRIGGER`
    from the event's ``start`` (Apple's placeholder fires on 1976-04-01)."""
    if placeholder_alarm(alarm):
        return True
    value = getattr(alarm.get("TRIGGER"), "dt", None)
    if start is None or not isinstance(value, datetime):
        return False
    # Only a distance of a year is asked: a zone-less trigger (RFC 5545 wants UTC) is read
    # as UTC for it, which moves it by hours at most.
    trigger = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return abs(trigger - start) > FAR_TRIGGER


def own_alarms(events: Mapping[str, Event], published: Mapping[str, Event]) -> dict[str, Event]:
    """Each event of an upload (by UID) with only the user's alarms.

    An alarm the feed published (``published``: the event as it is now in the API, by
    UID; matched by trigger) is kept. Of the others, :func:`app_alarm` ones go, and so do
    default reminders: an app that stores a calendar adds the same reminder to its events
    (Outlook's and Google's 15 minutes, Thunderbird's, with no marker at all). An alarm
    is taken for one when the upload adds an alarm with the same trigger to two events or
    more, and either every event of the upload carries it, or exactly the events the feed
    published without alarms (new events among them) got it. Events that lose nothing
    are returned as they are.
    """
    drop: dict[str, set[int]] = {}  # alarms that go whatever the other events carry
    added: dict[str, list[tuple[int, AlarmKey]]] = {}  # candidates for a default reminder
    carried: dict[str, set[AlarmKey]] = {}
    for uid, component in events.items():
        start = _start_of(component)
        before = Counter(_alarm_key(alarm) for alarm in _alarms(published.get(uid)))
        drop[uid], added[uid], carried[uid] = set(), [], set()
        for index, alarm in enumerate(component.subcomponents):
            if alarm.name != "VALARM":
                continue
            key = _alarm_key(alarm)
            carried[uid].add(key)
            if placeholder_alarm(alarm):
                drop[uid].add(index)
            elif before[key] > 0:
                before[key] -= 1  # the feed published it
            elif app_alarm(alarm, start):
                drop[uid].add(index)
            else:
                added[uid].append((index, key))
    gained: dict[AlarmKey, set[str]] = {}
    for uid, candidates in added.items():
        for _, key in candidates:
            gained.setdefault(key, set()).add(uid)
    bare = {uid for uid in events if not _alarms(published.get(uid))}
    defaults = {
        key
        for key, uids in gained.items()
        if len(uids) >= 2 and (uids == bare or all(key in keys for keys in carried.values()))
    }
    result: dict[str, Event] = {}
    for uid, component in events.items():
        gone = drop[uid] | {index for index, key in added[uid] if key in defaults}
        result[uid] = _without_subcomponents(component, gone) if gone else component
    return result


def _alarms(component: Event | None) -> list[Component]:
    if component is None:
        return []
    return [sub for sub in component.subcomponents if sub.name == "VALARM"]


def _alarm_key(alarm: Component) -> AlarmKey:
    trigger = alarm.get("TRIGGER")
    related = str(getattr(trigger, "params", {}).get("RELATED", "START")).upper()
    return related, getattr(trigger, "dt", None) if trigger is not None else None


def _start_of(component: Component) -> datetime | None:
    """DTSTART as an aware instant (a date at 00:00 UTC), or None when it has none."""
    value = getattr(component.get("DTSTART"), "dt", None)
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else None
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    return None


def _without_subcomponents(component: Event, drop: set[int]) -> Event:
    copy = Event()
    for name, value in component.items():
        copy[name] = value
    for index, sub in enumerate(component.subcomponents):
        if index not in drop:
            copy.add_component(sub)
    return copy


def _noise(name: str) -> bool:
    return name in IDENTITY_PROPERTIES or name in _CLIENT_NOISE or name.startswith(_CLIENT_PREFIXES)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def component_text(component: Component) -> str:
    """One component as iCalendar text (for journal entries and error context)."""
    return str(component.to_ical().decode("utf-8"))
