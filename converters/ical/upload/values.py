"""The values of an uploaded event that a later step reads, checked before it does."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from icalendar import Component, vBroken, vDDDLists, vRecur

from icsbridge.converters.ical.upload.errors import UploadError
from icsbridge.converters.ical.upload.tzids import TIMES, UploadZones

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


def check_values(component: Component, where: str, tzids: UploadZones) -> None:
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
            if name in ("RRULE", "EXRULE") and not isinstance(value, vRecur):
                # A VALUE= other than RECUR (RRULE;VALUE=TEXT:...) is kept as text.
                kind = value.params.get("VALUE") if hasattr(value, "params") else None
                shown = f"{name};VALUE={kind}" if kind else name
                raise UploadError(
                    f"{where}: {shown} {str(value)[:80]} is not {_EXPECTED['vRecur']}; fix it "
                    "in the calendar app and upload again"
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
YEARS = (1000, 8999)
_YEARS = YEARS


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
