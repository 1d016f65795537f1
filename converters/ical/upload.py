"""Reading a calendar (or one event) that a calendar app sends back: the push direction.

Pure: bytes in, events by UID out, and the content hash that tells an edit from what a
client adds or rewrites on its own (DTSTAMP, PRODID, VTIMEZONE, property order, line
folding, its own X- properties): none of those change the hash, so none is an edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from icalendar import Calendar, Component, Event, vBroken, vDDDLists

from icsbridge.converters.errors import PayloadError
from icsbridge.converters.ical.assembly import IDENTITY_PROPERTIES, prepare

# Properties clients add or rewrite when they store a subscribed or synced event; none
# of them is an edit of the business object.
_CLIENT_NOISE = frozenset({"CREATED", "X-LIC-ERROR", "X-MOZ-GENERATION", "X-MOZ-LASTACK"})
_CLIENT_PREFIXES = ("X-APPLE-", "X-MOZ-", "X-GOOGLE-", "X-MICROSOFT-", "X-MS-OLK-")

MAX_EVENTS = 100_000


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
    and what clients add on their own are left out."""
    clean = Event()
    for name, value in component.items():
        if not _noise(name):
            clean[name] = value
    for sub in component.subcomponents:
        clean.add_component(sub)
    return prepare(clean).content_hash


def _noise(name: str) -> bool:
    return name in IDENTITY_PROPERTIES or name in _CLIENT_NOISE or name.startswith(_CLIENT_PREFIXES)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def component_text(component: Component) -> str:
    """One component as iCalendar text (for journal entries and error context)."""
    return str(component.to_ical().decode("utf-8"))
