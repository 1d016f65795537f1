"""Reading a calendar that a calendar app sends back: the push direction.

Pure: bytes in, events by UID out. Every way a file can be malformed is refused in one
line naming the event (or line) and what would be right (:class:`UploadError`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from icalendar import Alarm, Calendar, Component, ComponentFactory, Event

from icsbridge.converters.ical.upload import lines
from icsbridge.converters.ical.upload.errors import FIX as _FIX
from icsbridge.converters.ical.upload.errors import UploadError
from icsbridge.converters.ical.upload.nesting import MAX_NESTING, too_deep
from icsbridge.converters.ical.upload.tzids import UploadZones, bind_zones, zone_from_text
from icsbridge.converters.ical.upload.values import check_values
from icsbridge.converters.ical.windows_zones import iana_zone

MAX_EVENTS = 100_000


class _Alarm(Alarm):
    """A VALARM whose unreadable values are kept as unreadable (as in a VEVENT) instead of
    failing the whole file: most targets drop alarms, and the one that keeps them refuses
    an unreadable one by name (``converters.b2core``)."""

    ignore_exceptions = True


class _UploadCalendar(Calendar):
    """A calendar parsed with :class:`_Alarm` for its VALARMs."""

    _components_factory = ComponentFactory()
    _components_factory.add_component_class(_Alarm)


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
        check_values(sub, where, tzids)
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
    them: icalendar would recurse past Python's limit on a later copy or write."""
    line = too_deep(text)
    if line is not None:
        raise UploadError(
            f"{what}: components nested more than {MAX_NESTING} deep (the BEGIN on "
            f"line {line}); an event holds alarms, not alarms in alarms: remove the "
            "nested components and upload again"
        )


# What icalendar raises for text it cannot read (TypeError and AttributeError too: some
# shapes of broken input reach code that assumed a well-formed one).
_PARSER_ERRORS = (ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError)


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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
