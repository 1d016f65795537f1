"""Reading a calendar (or one event) that a calendar app sends back: the push direction.

Pure: bytes in, events by UID out, and the content hash that tells an edit from what a
client adds or rewrites on its own (DTSTAMP, PRODID, VTIMEZONE, property order, line
folding, its own X- properties): none of those change the hash, so none is an edit.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from icalendar import Calendar, Component, Event, vBroken, vDDDLists

from icsbridge.converters.errors import PayloadError
from icsbridge.converters.ical.assembly import IDENTITY_PROPERTIES, prepare

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
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UploadError(f"{what}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    _check_nesting(text, what)
    try:
        calendars = Calendar.from_ical(text, multiple=True)
    except (ValueError, IndexError, KeyError) as exc:
        raise UploadError(f"{what}: not iCalendar data ({_first_line(exc)})") from exc
    if len(calendars) != 1 or calendars[0].name != "VCALENDAR":
        raise UploadError(f"{what}: expected one VCALENDAR object, found {len(calendars)}")
    masters: dict[str, Event] = {}
    overridden: set[str] = set()
    for number, sub in enumerate(calendars[0].subcomponents, start=1):
        if sub.name == "VTIMEZONE":
            continue
        if not isinstance(sub, Event):
            raise UploadError(
                f"{what}: component {number} is a {sub.name}; only VEVENTs can be pushed"
            )
        uid = str(sub.get("UID") or "").strip()
        if not uid:
            raise UploadError(f"{what}: event {number} has no UID; every event needs one")
        if sub.get("RECURRENCE-ID") is not None:
            overridden.add(uid)
            continue
        if uid in masters:
            raise UploadError(f'{what}: two events have the UID "{uid}"; UIDs must be unique')
        _check_values(sub, f'{what}: event "{uid}"')
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


# icalendar names the type it expected; users read what that is.
_EXPECTED = {
    "vDDDTypes": "a date or date-time",
    "vDDDLists": "a list of dates or date-times",
    "vRecur": "a recurrence rule such as FREQ=WEEKLY;BYDAY=MO",
    "vDuration": "a duration such as PT15M",
    "vPeriod": "a period",
    "vInt": "a whole number",
}
_TIMES = ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID", "EXDATE", "RDATE")


def _check_values(component: Component, where: str) -> None:
    """Refuse what no later step could read: a value the parser kept as unreadable, or a
    date-time without a zone (floating, or a TZID no one knows), whose instant would have
    to be guessed. (Unreadable values inside a VALARM already fail the parse.)"""
    for name, prop in component.items():
        for value in prop if isinstance(prop, list) else [prop]:
            if isinstance(value, vBroken):
                expected = _EXPECTED.get(getattr(value, "expected_type", ""), "another form")
                raise UploadError(
                    f"{where}: {name} cannot be read ({str(value)[:60]!r}; expected "
                    f"{expected}); fix it in the calendar app and upload again"
                )
            if name in _TIMES:
                _check_zoned(value, name, where)


def _check_zoned(value: Any, name: str, where: str) -> None:
    dts = [d.dt for d in value.dts] if isinstance(value, vDDDLists) else [value.dt]
    for dt in dts:
        if isinstance(dt, datetime) and dt.tzinfo is None:
            tzid = value.params.get("TZID")
            why = f'TZID "{tzid}" is not a time zone known here' if tzid else "it is floating"
            raise UploadError(
                f"{where}: {name} {dt.isoformat()} has no time zone ({why}); give it an IANA "
                'TZID (e.g. TZID=Europe/Paris) or a UTC time ("Z")'
            )


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
