"""B2CORE back-office calendar events <-> RFC 5545 VEVENTs (pure; zone and organizer come in).

Mapping, both directions:

- ``caption`` <-> SUMMARY, ``description`` <-> DESCRIPTION (left out when empty);
- ``startDate``/``endDate`` <-> DTSTART/DTEND, the instant kept exactly. Pull writes
  ``DTSTART;TZID=<tz>`` when the source has a zone ``tz`` and the event's UTC offset is
  tz's offset at that instant (the event was entered in that zone), else UTC (``Z``).
  Push writes the date-time in DTSTART's own zone (``+00:00`` for UTC). A zero-length
  event (end = start) has no DTEND; pushing an event without DTEND and DURATION gives
  end = start, as RFC 5545 reads it;
- ``notifications`` <-> VALARMs (ACTION:DISPLAY, DESCRIPTION: the caption): ``"PT2H"``
  is ``TRIGGER:-PT2H`` (before the start); an absolute notification is
  ``TRIGGER;VALUE=DATE-TIME`` in UTC. On push, a trigger related to the END is moved to
  the start with the event's duration; one after the start is refused. An alarm that
  stands for "no alert" or for the app's default (``ACTION:NONE``, Apple's
  ``X-APPLE-DEFAULT-ALARM``: :func:`~icsbridge.converters.ical.upload.alarms.placeholder_alarm`)
  is no notification (the push plan drops the other alarms apps add on their own first);
- ``recipients`` <-> ``ATTENDEE:mailto:<address>``. RFC 5545 wants an ORGANIZER next to
  attendees, and B2CORE does not say who made an event, so the caller names a neutral
  :class:`Organizer` (the source uses ``noreply@<B2CORE host>``, "B2CORE Back Office").
  It is written only on events with recipients, and on push an ATTENDEE with the
  organizer's address is not taken for a recipient (some apps list the organizer).

Refused on push (:class:`UnsupportedByTarget`, naming each part): RRULE, RDATE, EXDATE,
EXRULE and RECURRENCE-ID (B2CORE events do not repeat), a date-only DTSTART (no all-day
events), a floating time when no zone is known, no SUMMARY, DTEND before DTSTART, alarms
after the start, attendees that are not e-mail addresses, STATUS:CANCELLED (B2CORE has
no cancelled state: the event would stay live; deleting it is how to cancel it). Other
properties (LOCATION, CATEGORIES, URL...) have no B2CORE field and are dropped.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Alarm, Event, vCalAddress
from icalendar.prop import vBroken, vDDDTypes, vText

from icsbridge.config.sources.b2core import MAX_WINDOW_DAYS
from icsbridge.converters.b2core.models import (
    B2coreEvent,
    Reminder,
    page_items,
    parse_event,
    reminder_text,
    unwrap_object,
)
from icsbridge.converters.errors import UnsupportedByTarget
from icsbridge.converters.ical import rrule
from icsbridge.converters.ical.model import ConvertedEvent
from icsbridge.converters.ical.render_cache import LeanMemo
from icsbridge.converters.ical.upload.alarms import placeholder_alarm
from icsbridge.converters.ical.upload.values import YEARS as _YEARS
from icsbridge.converters.wire.span import time_properties

__all__ = [
    "CONVERTER_VERSION",
    "TARGET",
    "B2coreEvent",
    "Organizer",
    "from_vevent",
    "lean_vevents",
    "outside_window",
    "page_items",
    "parse_event",
    "to_vevent",
    "to_vevents",
    "unwrap_object",
]

TARGET = "B2CORE calendar event"
CANCELLED = (
    "STATUS:CANCELLED (B2CORE has no cancelled state, so the event would stay live; "
    "delete the event to cancel it)"
)
_MAILTO = re.compile(r"mailto:", re.IGNORECASE)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_RECURRENCE_PARTS = (
    ("RRULE", "RRULE (B2CORE events do not repeat; each occurrence would need its own event)"),
    ("RDATE", "RDATE (B2CORE events do not repeat)"),
    ("EXDATE", "EXDATE (B2CORE events do not repeat)"),
    ("EXRULE", "EXRULE (B2CORE events do not repeat)"),
    ("RECURRENCE-ID", "RECURRENCE-ID (an override of one occurrence; B2CORE events do not repeat)"),
)


@dataclass(frozen=True)
class Organizer:
    """Who the feed names as ORGANIZER of events with recipients."""

    email: str
    name: str = "B2CORE Back Office"

    def address(self) -> vCalAddress:
        value = vCalAddress(f"mailto:{self.email}")
        value.params["CN"] = self.name
        return value


# --- pull: B2CORE -> iCalendar ------------------------------------------------------------


CONVERTER_VERSION = "b2core-1"
"""Part of every memo key of converted B2CORE events: bump it when :func:`to_vevent`
changes what it makes of the same event (a memo must never outlive its converter)."""


def to_vevents(
    events: Iterable[B2coreEvent], *, tz: ZoneInfo | None, organizer: Organizer
) -> list[ConvertedEvent]:
    """One VEVENT per event, ordered by id (numerically when ids are numbers)."""
    ordered = sorted(events, key=lambda e: _id_order(e.id or ""))
    return [to_vevent(event, tz=tz, organizer=organizer) for event in ordered]


def lean_vevents(
    memo: LeanMemo,
    calendar: str,
    events: Iterable[B2coreEvent],
    *,
    tz: ZoneInfo | None,
    organizer: Organizer,
) -> list[ConvertedEvent]:
    """:func:`to_vevents` as lean events, through the source's ``memo`` (one calendar
    per source): an event whose JSON is unchanged since the previous pull is not
    converted again. :func:`to_vevent` reads the event, ``tz``, the organizer and
    :data:`CONVERTER_VERSION`, nothing else: those are the memo's key."""
    context = (CONVERTER_VERSION, tz.key if tz else None, organizer.email, organizer.name)
    ordered = sorted(events, key=lambda e: _id_order(e.id or ""))
    convert = partial(to_vevent, tz=tz, organizer=organizer)
    memo.begin()  # one calendar per source: end() then forgets nothing else
    lean = memo.convert_items(calendar, context, ordered, B2coreEvent.to_wire, convert)
    memo.end()
    return lean


def to_vevent(event: B2coreEvent, *, tz: ZoneInfo | None, organizer: Organizer) -> ConvertedEvent:
    """The VEVENT of one event (no UID, DTSTAMP, LAST-MODIFIED or SEQUENCE)."""
    if event.id is None:
        raise ValueError(f"event {event.caption!r} has no id; read events with parse_event")
    component = Event()
    component["DTSTART"] = vDDDTypes(_display_time(event.startDate, tz))
    if event.endDate != event.startDate:  # zero-length: no DTEND (ICALENDAR.md)
        component["DTEND"] = vDDDTypes(_display_time(event.endDate, tz))
    component["SUMMARY"] = vText(event.caption)
    if event.description:
        component["DESCRIPTION"] = vText(event.description)
    if event.recipients:
        component["ORGANIZER"] = organizer.address()
        component["ATTENDEE"] = [vCalAddress(f"mailto:{email}") for email in event.recipients]
    for reminder in event.notifications:
        component.add_component(_alarm(reminder, event.caption))
    return ConvertedEvent(native_key=event.id, component=component, rename_hint=_rename_hint(event))


def _id_order(event_id: str) -> tuple[int, int, str]:
    return (0, int(event_id), "") if event_id.isdigit() else (1, 0, event_id)


def _display_time(value: datetime, tz: ZoneInfo | None) -> datetime:
    """In ``tz`` when the value's offset is tz's at that instant, else in UTC."""
    if tz is not None and value.utcoffset() == value.astimezone(tz).utcoffset():
        return value.astimezone(tz)
    return value.astimezone(UTC)


def _alarm(reminder: Reminder, caption: str) -> Alarm:
    alarm = Alarm()
    alarm["ACTION"] = vText("DISPLAY")
    if isinstance(reminder, datetime):
        trigger = vDDDTypes(reminder.astimezone(UTC))
        trigger.params["VALUE"] = "DATE-TIME"
    else:
        trigger = vDDDTypes(-reminder)
    alarm["TRIGGER"] = trigger
    # RFC 5545 requires DESCRIPTION on a DISPLAY alarm; empty text would be dropped.
    alarm["DESCRIPTION"] = vText(caption if caption.strip() else "Reminder")
    return alarm


def _rename_hint(event: B2coreEvent) -> str:
    """Everything but the id and the caption, hashed (B2CORE ids survive a rename, but the
    state store asks every source for a hint)."""
    fields = {k: v for k, v in event.to_wire().items() if k != "caption"}
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- push: iCalendar -> B2CORE ------------------------------------------------------------


def from_vevent(
    vevent: Event, *, tz: ZoneInfo | None, organizer: Organizer | None = None
) -> B2coreEvent:
    """The B2CORE write payload (no id) for one VEVENT.

    ``tz`` reads floating (zone-less) times; without it they are refused. ``organizer``
    is the address the pull wrote as ORGANIZER: an ATTENDEE with it is not a recipient.
    Raises :class:`UnsupportedByTarget` listing every part B2CORE cannot hold.
    """
    problems: list[str] = []
    uid = str(vevent["UID"]) if vevent.get("UID") else None
    caption = str(vevent.get("SUMMARY") or "")
    if not caption.strip():
        problems.append("missing SUMMARY (a B2CORE event needs a caption)")
    problems.extend(words for name, words in _RECURRENCE_PARTS if vevent.get(name) is not None)
    if str(vevent.get("STATUS") or "").strip().upper() == "CANCELLED":
        problems.append(CANCELLED)
    span = _read_span(vevent, tz, problems)
    recipients = _recipients(vevent, organizer, problems)
    notifications = _notifications(vevent, span, tz, problems)
    if problems or span is None:
        raise UnsupportedByTarget(TARGET, problems, uid)
    description = vevent.get("DESCRIPTION")
    return B2coreEvent(
        caption=caption,
        description=None if description is None else str(description),
        startDate=span[0],
        endDate=span[1],
        notifications=notifications,
        recipients=recipients,
    )


def outside_window(
    event: B2coreEvent, window: tuple[datetime, datetime], *, days_back: int, days_ahead: int
) -> str | None:
    """Why ``event``, once written, would never be in the feed: a source reads the events
    that start at or after ``window[0]`` and end by ``window[1]`` (``days_back`` and
    ``days_ahead`` around today), so one outside would land in B2CORE and vanish, and its
    next edit would read as deleted in the API. None when it is inside."""
    first, last = window
    shown = f"{_utc_text(first)} to {_utc_text(last)} UTC"
    if event.startDate < first:
        name, need = "days_back", days_back + _whole_days(first - event.startDate)
        when = f"starts {_utc_text(event.startDate)} UTC"
    elif event.endDate > last:
        name, need = "days_ahead", days_ahead + _whole_days(event.endDate - last)
        when = f"ends {_utc_text(event.endDate)} UTC"
    else:
        return None
    fix = f"or set {name} = {need}"
    if need > MAX_WINDOW_DAYS:
        fix = f"({name} stops at {MAX_WINDOW_DAYS})"
    return (
        f"a time outside the window this source reads: it {when}, the window is {shown} "
        f"(days_back = {days_back}, days_ahead = {days_ahead}), so the feed would never show "
        f"it; move the event into the window {fix}"
    )


def _utc_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _whole_days(span: timedelta) -> int:
    return -(-span // timedelta(days=1))  # rounded up


def _read_span(
    vevent: Event, tz: ZoneInfo | None, problems: list[str]
) -> tuple[datetime, datetime] | None:
    props = time_properties(vevent, problems)
    if props is None:
        return None
    start_prop, end_prop, duration_prop = props
    start_value: Any = start_prop.dt
    if not isinstance(start_value, datetime):
        problems.append(
            "all-day DTSTART;VALUE=DATE (B2CORE has no all-day events; give a start time)"
        )
        return None
    start = _aware(start_value, "DTSTART", tz, problems)
    if start is None:
        return None
    if end_prop is not None:
        end_value: Any = end_prop.dt
        if not isinstance(end_value, datetime):
            problems.append("DTEND is a date but DTSTART a date-time")
            return None
        end = _aware(end_value, "DTEND", tz, problems)
        if end is None:
            return None
    else:
        duration = duration_prop.dt if duration_prop is not None else timedelta()
        if not isinstance(duration, timedelta):
            problems.append("DURATION that is not a duration")
            return None
        end = rrule.end_of_duration(start, duration, start.tzinfo or UTC)
    if end.astimezone(UTC) < start.astimezone(UTC):  # instants, not wall clocks
        problems.append("DTEND before DTSTART")
        return None
    return start.replace(microsecond=0), end.replace(microsecond=0)


def _aware(value: datetime, name: str, tz: tzinfo | None, problems: list[str]) -> datetime | None:
    """``value`` with its zone; a floating time is read in ``tz`` (refused without one)."""
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value
    if tz is None:
        problems.append(
            f"floating {name} {value.isoformat()} (no TZID, no Z) and no timezone for this "
            "source to read it in"
        )
        return None
    return value.replace(tzinfo=tz)


def _recipients(vevent: Event, organizer: Organizer | None, problems: list[str]) -> list[str]:
    found: list[str] = []
    skip = organizer.email.casefold() if organizer is not None else None
    for attendee in _as_list(vevent.get("ATTENDEE")):
        text = str(attendee).strip()
        address = _MAILTO.sub("", text, count=1) if _MAILTO.match(text) else None
        if address is None or not _EMAIL.fullmatch(address):
            problems.append(f"ATTENDEE {text} (B2CORE recipients are e-mail addresses, mailto:)")
            continue
        if address.casefold() != skip:
            found.append(address)
    return found


def _notifications(
    vevent: Event,
    span: tuple[datetime, datetime] | None,
    tz: ZoneInfo | None,
    problems: list[str],
) -> list[Reminder]:
    found: list[Reminder] = []
    for alarm in vevent.walk("VALARM"):
        if placeholder_alarm(alarm):
            continue
        trigger = alarm.get("TRIGGER")
        if isinstance(trigger, list):
            problems.append(f"VALARM with {len(trigger)} TRIGGER lines (an alarm has one)")
            continue
        if trigger is None:
            problems.append("VALARM without a TRIGGER")
            continue
        if isinstance(trigger, vBroken) or any(n is None for n, _ in alarm.errors):
            what = f"TRIGGER {str(trigger)[:40]!r}" if isinstance(trigger, vBroken) else "a line"
            problems.append(
                f"VALARM with {what} that cannot be read (a trigger is a duration before the "
                "start, e.g. TRIGGER:-PT15M, or a UTC date-time)"
            )
            continue
        value: Any = getattr(trigger, "dt", None)  # None: a VALUE= that is no time (TEXT)
        if isinstance(value, datetime):
            aware = _aware(value, "VALARM TRIGGER", tz, problems)
            if aware is not None and not _YEARS[0] <= aware.year <= _YEARS[1]:
                # Year 1 overflowed the wire model's UTC arithmetic ("date value out of
                # range"): a date no schedule holds is refused, as the upload's times are.
                problems.append(
                    f"VALARM TRIGGER {aware.isoformat()} is outside the years "
                    f"{_YEARS[0]}-{_YEARS[1]} (a trigger is a duration before the start, "
                    "e.g. -PT15M, or a UTC date-time near the event)"
                )
                continue
            if aware is not None:
                found.append(aware.replace(microsecond=0))
            continue
        if not isinstance(value, timedelta):
            problems.append(
                f"VALARM TRIGGER;VALUE={trigger.params.get('VALUE', '?')} {_ical(trigger)} (a "
                "trigger is a duration before the start, e.g. -PT15M, or a UTC date-time)"
            )
            continue
        if str(trigger.params.get("RELATED", "START")).upper() == "END":
            if span is None:
                continue  # the span's own problem is already listed
            value = value + (span[1].astimezone(UTC) - span[0].astimezone(UTC))
        if value > timedelta(0):
            problems.append(
                f"VALARM {reminder_text(value)} after the start (B2CORE notifications come "
                "before the start)"
            )
            continue
        found.append(timedelta(seconds=int(-value.total_seconds())))
    return found


def _ical(value: Any) -> str:
    text = value.to_ical()  # bytes from most value types, str from some (vTime)
    return text.decode() if isinstance(text, bytes) else str(text)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
