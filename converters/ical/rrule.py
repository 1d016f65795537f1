"""RRULE <-> a structured recurrence, API-agnostic.

:class:`RuleParts` is the neutral middle: converters map their API's recurrence to it and
from it, and it reads from / writes to icalendar's ``vRecur``. It models the parts that
business schedules use (FREQ, INTERVAL, BYDAY, BYMONTH, BYMONTHDAY, COUNT, UNTIL, WKST);
every other RRULE part that a component carries is kept by name in ``unmodelled`` so a
converter can refuse it in words instead of dropping it.

Also here: the date and zone arithmetic both directions need (first real occurrence,
UNTIL <-> last start date, "do two zones keep the same UTC offsets").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Literal

from dateutil import rrule as du
from icalendar.prop import vRecur

from icsbridge.converters.ical import zones

WEEKDAY_CODES: tuple[str, ...] = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
"""RFC 5545 weekday codes, indexed like ``date.weekday()`` (Monday = 0)."""

MONDAY, SUNDAY = 0, 6
_MODELLED = frozenset({"FREQ", "INTERVAL", "BYDAY", "BYMONTH", "BYMONTHDAY", "COUNT", "UNTIL"})
_WEEKDAY_REF = re.compile(r"([+-]?[0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_DATEUTIL_FREQ: dict[str, Literal[0, 1, 2, 3]] = {
    "YEARLY": du.YEARLY,
    "MONTHLY": du.MONTHLY,
    "WEEKLY": du.WEEKLY,
    "DAILY": du.DAILY,
}


@dataclass(frozen=True)
class WeekdayRef:
    """One BYDAY entry: a weekday (Monday = 0), optionally the nth of the period."""

    weekday: int
    ordinal: int | None = None

    @property
    def code(self) -> str:
        prefix = "" if self.ordinal is None else str(self.ordinal)
        return prefix + WEEKDAY_CODES[self.weekday]

    @classmethod
    def parse(cls, text: str) -> WeekdayRef:
        match = _WEEKDAY_REF.fullmatch(text.strip().upper())
        if match is None:
            raise ValueError(f"BYDAY {text} is not a weekday")
        ordinal = int(match.group(1)) if match.group(1) else None
        return cls(WEEKDAY_CODES.index(match.group(2)), ordinal)


@dataclass(frozen=True)
class RuleParts:
    """A recurrence rule, structured. ``wkst`` is a weekday index (RFC default Monday)."""

    freq: str
    interval: int = 1
    byday: tuple[WeekdayRef, ...] = ()
    bymonth: tuple[int, ...] = ()
    bymonthday: tuple[int, ...] = ()
    count: int | None = None
    until: date | datetime | None = None
    wkst: int = MONDAY
    unmodelled: tuple[str, ...] = ()
    """Names of RRULE parts present but not modelled here (``BYSETPOS``, ``BYHOUR``...)."""

    def without_end(self) -> RuleParts:
        return replace(self, count=None, until=None)

    def to_vrecur(self) -> vRecur:
        """The RRULE value; INTERVAL=1 and WKST=MO are left out (they are the defaults)."""
        if self.unmodelled:
            raise ValueError(f"cannot write unmodelled RRULE parts {self.unmodelled}")
        value: dict[str, Any] = {"FREQ": self.freq}
        if self.interval != 1:
            value["INTERVAL"] = self.interval
        if self.byday:
            value["BYDAY"] = [ref.code for ref in self.byday]
        if self.bymonth:
            value["BYMONTH"] = list(self.bymonth)
        if self.bymonthday:
            value["BYMONTHDAY"] = list(self.bymonthday)
        if self.count is not None:
            value["COUNT"] = self.count
        if self.until is not None:
            value["UNTIL"] = self.until
        if self.wkst != MONDAY:
            value["WKST"] = WEEKDAY_CODES[self.wkst]
        return vRecur(value)


def rrules_of(component: Any) -> list[Any]:
    """Every RRULE value of a component (icalendar gives one value or a list)."""
    value = component.get("RRULE")
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def read_rule(recur: vRecur) -> RuleParts:
    """Structure a parsed RRULE. Raises ValueError (in words) for values it cannot read."""
    if not isinstance(recur, vRecur):
        # icalendar keeps a value it could not parse as text (a vText), not a vRecur.
        raw = recur.to_ical() if hasattr(recur, "to_ical") else recur
        text = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw))[:80]
        raise ValueError(f"RRULE {text!r} is not a recurrence rule (e.g. FREQ=WEEKLY;BYDAY=MO)")
    keys = {str(key).upper(): values for key, values in recur.items()}

    def first(key: str) -> Any:
        values = keys.get(key)
        if not values:
            return None
        return values[0] if isinstance(values, list) else values

    def many(key: str) -> list[Any]:
        values = keys.get(key) or []
        return list(values) if isinstance(values, list) else [values]

    freq = first("FREQ")
    if freq is None:
        raise ValueError("RRULE without FREQ")
    interval = 1 if first("INTERVAL") is None else int(first("INTERVAL"))
    if interval < 1:
        # A target API would take it as 1 (every period), or refuse it later in its own
        # terms: RFC 5545 says INTERVAL is a positive integer.
        raise ValueError(f"INTERVAL={interval}: RFC 5545 wants a positive integer, e.g. 1")
    wkst_text = first("WKST")
    wkst = MONDAY
    if wkst_text is not None:
        wkst = WeekdayRef.parse(str(wkst_text)).weekday
    return RuleParts(
        freq=str(freq).upper(),
        interval=interval,
        byday=tuple(WeekdayRef.parse(str(day)) for day in many("BYDAY")),
        bymonth=tuple(int(month) for month in many("BYMONTH")),
        bymonthday=tuple(int(day) for day in many("BYMONTHDAY")),
        count=None if first("COUNT") is None else int(first("COUNT")),
        until=first("UNTIL"),
        wkst=wkst,
        unmodelled=tuple(key for key in keys if key not in _MODELLED | {"WKST"}),
    )


def first_occurrence(rule: RuleParts, start: date) -> date | None:
    """The first date on or after ``start`` that ``rule`` (ends ignored) selects.

    ``start`` plays DTSTART, as dateutil reads it: a DTSTART the rule does not select is
    not an occurrence. None when the rule never fires (e.g. 30 February).
    """
    freq = _DATEUTIL_FREQ.get(rule.freq)
    if freq is None:
        raise ValueError(f"no occurrence arithmetic for FREQ={rule.freq}")
    weekdays = [du.weekday(ref.weekday, ref.ordinal) for ref in rule.byday]
    dateutil_rule = du.rrule(
        freq,
        dtstart=datetime.combine(start, time()),
        interval=rule.interval,
        wkst=rule.wkst,
        byweekday=weekdays or None,
        bymonth=list(rule.bymonth) or None,
        bymonthday=list(rule.bymonthday) or None,
    )
    found = next(iter(dateutil_rule), None)
    return None if found is None else found.date()


def until_utc(last_date: date, start_time: time, zone: tzinfo) -> datetime:
    """UNTIL for a timed series whose last start is ``last_date`` at ``start_time`` in zone.

    UTC, because RFC 5545 wants UNTIL in UTC when DTSTART has a TZID (icalendar would write
    an aware local value without ``Z``, which python-dateutil refuses).
    """
    return datetime.combine(last_date, start_time, tzinfo=zone).astimezone(UTC)


def last_start_date(until: date | datetime, *, start_time: time | None, zone: tzinfo) -> date:
    """The last date, in ``zone``, on which an occurrence may start under ``until``.

    ``start_time`` is the series' wall time (None for all-day). A naive UNTIL is read as
    wall time in ``zone``, like a floating DTSTART.
    """
    if not isinstance(until, datetime):
        return until
    aware = until if until.tzinfo is not None else until.replace(tzinfo=zone)
    day = aware.astimezone(zone).date()
    if start_time is None:
        return day
    if datetime.combine(day, start_time, tzinfo=zone).astimezone(UTC) > aware.astimezone(UTC):
        day -= timedelta(days=1)
    return day


def zone_key(value: tzinfo | None) -> str | None:
    """The IANA key of a tzinfo (``UTC`` for the fixed UTC zone), if it has one."""
    if value is None:
        return None
    if value is UTC:
        return "UTC"
    key = getattr(value, "key", None)
    return key if isinstance(key, str) else None


def offsets_agree(first: tzinfo, second: tzinfo, start: datetime, *, days: int = 400) -> bool:
    """Whether two zones keep the same UTC offset, hour by hour, for ``days`` from start.

    A recurring wall-clock series written in one zone keeps its wall time in another only
    if the offsets never differ; a year and a bit covers both DST changes of every rule in
    force (future tzdata changes cannot be known anyway). Answered from each zone's offset
    changes (``converters.ical.zones``), not by converting 9,600 instants: the same answer,
    in microseconds once a zone's years are cached.
    """
    if first is second or (zone_key(first) is not None and zone_key(first) == zone_key(second)):
        return True
    instant = (start if start.tzinfo is not None else start.replace(tzinfo=first)).astimezone(UTC)
    return not zones.offsets_differ_on_grid(first, second, instant, days * 24)


def wall_time(value: datetime, zone: tzinfo) -> datetime:
    """Naive wall-clock time in ``zone``; a floating (naive) value already is one."""
    if value.tzinfo is None:
        return value
    if zone_key(value.tzinfo) is not None and zone_key(value.tzinfo) == zone_key(zone):
        return value.replace(tzinfo=None)  # keep the written wall time, even in a DST gap
    return value.astimezone(zone).replace(tzinfo=None)


def end_of_duration(start: datetime, duration: timedelta, zone: tzinfo) -> datetime:
    """DTSTART + DURATION as RFC 5545 reads it: whole days are calendar days (wall time,
    across DST changes), the rest is exact time. A floating start is wall time in zone."""
    days = timedelta(days=duration.days)
    nominal = (start if start.tzinfo is not None else start.replace(tzinfo=zone)) + days
    if duration == days:
        # No exact part: the end is that wall time as written. Through UTC, a start in a
        # DST gap (02:00 on the March change) came back an hour later, so a zero-length
        # event at 02:00 read back as ending at 03:00: an edit nobody made.
        return nominal
    return (nominal.astimezone(UTC) + (duration - days)).astimezone(nominal.tzinfo)
