"""RRULE -> a target's one structured recurrence (Webex, BroadWorks), problems in words.

A target of this kind holds one rule, a pattern per FREQ it knows and one end. A
:class:`RecurrenceTarget` says which patterns it has (a reader per FREQ, in the target's
own model and words) and how it names itself; :func:`read_first_occurrence` then reads a
VEVENT's span and rule, appending to ``problems`` every part the target cannot hold
instead of stopping at the first. The checks every such target makes the same way
(unmodelled parts, weekly days, yearly month and day, the end) are here for the readers.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from icalendar import Event
from icalendar.prop import vBroken

from icsbridge.converters.ical import rrule
from icsbridge.converters.ical.rrule import RuleParts
from icsbridge.converters.wire.base import Wire
from icsbridge.converters.wire.schedule import StructuredRecurrence, WeeklyDays
from icsbridge.converters.wire.span import Span, read_span, refuse_exceptions

R = TypeVar("R", bound=StructuredRecurrence)

PatternReader = Callable[[RuleParts, date, list[str]], Wire | None]
"""(rule, DTSTART date, problems) -> the target's pattern model, or None (problems named)."""


@dataclass(frozen=True)
class RecurrenceTarget(Generic[R]):
    """What a target holds of an RRULE, and how its refusals name it."""

    model: type[R]
    patterns: Mapping[str, PatternReader]
    """A reader per FREQ the target knows; any other FREQ is refused."""
    system: str
    """Who drops or counts, in words: ``"Webex"``, ``"BroadWorks"``."""
    count_refused: str | None = None
    """Why COUNT cannot be held, when it cannot."""


def read_first_occurrence(
    vevent: Event, tz: ZoneInfo, target: RecurrenceTarget[R], problems: list[str]
) -> tuple[Span | None, R | None]:
    """The event's first occurrence and recurrence (None for a single event).

    Every part ``target`` cannot hold is appended to ``problems``; the caller refuses the
    event when any was (the values returned are then not to be used).
    """
    refuse_exceptions(vevent, problems)
    rules = rrule.rrules_of(vevent)
    if len(rules) > 1:
        problems.append("more than one RRULE")
    span = read_span(vevent, tz, recurring=bool(rules), problems=problems)
    recurrence = None
    if len(rules) == 1 and span is not None:
        recurrence = _read_recurrence(rules[0], span, tz, target, problems)
    return span, recurrence


def _read_recurrence(
    recur: Any, span: Span, tz: ZoneInfo, target: RecurrenceTarget[R], problems: list[str]
) -> R | None:
    rule = read_rule(recur, problems)
    if rule is None:
        return None
    before = len(problems)
    refuse_unmodelled(rule, problems)
    pattern: Wire | None = None
    reader = target.patterns.get(rule.freq)
    if reader is not None:
        pattern = reader(rule, span.start, problems)
    else:
        problems.append(f"{rule.freq.lower()} recurrence (RRULE FREQ={rule.freq})")
    end = recurrence_end(rule, span, tz, problems, count_refused=target.count_refused)
    if pattern is None or end is None or len(problems) > before:
        return None
    recurrence = target.model.of(end, pattern)
    if rrule.first_occurrence(recurrence.pattern_rule(), span.start) != span.start:
        problems.append(
            f"DTSTART {span.start} that its RRULE does not select ({target.system} would drop it)"
        )
        return None
    return recurrence


def read_rule(recur: Any, problems: list[str]) -> RuleParts | None:
    """The RRULE structured, or None with a problem when it cannot be read."""
    if isinstance(recur, vBroken):
        problems.append(f"unreadable RRULE ({recur})")
        return None
    try:
        return rrule.read_rule(recur)
    except (ValueError, TypeError) as exc:
        problems.append(f"unreadable RRULE ({exc})")
        return None


def refuse_unmodelled(rule: RuleParts, problems: list[str]) -> None:
    """Name every RRULE part no target of this kind holds (BYSETPOS, BYHOUR...)."""
    problems.extend(
        name if name.startswith("BY") else f"RRULE part {name}" for name in rule.unmodelled
    )


def refuse_by_parts(rule: RuleParts, problems: list[str], *names: str) -> None:
    """Name each of the BY parts ``names`` (BYDAY, BYMONTH, BYMONTHDAY) the rule has."""
    present = {"BYDAY": rule.byday, "BYMONTH": rule.bymonth, "BYMONTHDAY": rule.bymonthday}
    problems.extend(f"{name} with FREQ={rule.freq}" for name in names if present[name])


def weekly_flags(
    rule: RuleParts, start: date, problems: list[str], *, system: str
) -> dict[str, bool]:
    """The ``sunday``..``saturday`` flags of a weekly rule (DTSTART's day without BYDAY).

    These targets start their weeks on Sunday, so with INTERVAL > 1 a rule whose days
    include Sunday must say WKST=SU to mean the same weeks.
    """
    refuse_by_parts(rule, problems, "BYMONTH", "BYMONTHDAY")
    problems.extend(
        f"BYDAY {ref.code} with FREQ=WEEKLY" for ref in rule.byday if ref.ordinal is not None
    )
    days = {ref.weekday for ref in rule.byday} or {start.weekday()}
    if rule.interval > 1 and rrule.SUNDAY in days and len(days) > 1 and rule.wkst != rrule.SUNDAY:
        problems.append(
            f"WKST={rrule.WEEKDAY_CODES[rule.wkst]} with INTERVAL={rule.interval} and BYDAY"
            f" including SU ({system} weeks start on Sunday)"
        )
    return {flag: day in days for day, flag in enumerate(WeeklyDays.FLAGS)}


def yearly_month(rule: RuleParts, start: date, problems: list[str]) -> int | None:
    """The one month (1..12) of a yearly rule (DTSTART's without BYMONTH)."""
    if len(rule.bymonth) > 1:
        problems.append("BYMONTH with more than one month")
    month = rule.bymonth[0] if rule.bymonth else start.month
    if not 1 <= month <= 12:
        problems.append(f"BYMONTH={month}")
        return None
    return month


def day_of_month(
    rule: RuleParts, start: date, problems: list[str], *, system: str, month: int | None = None
) -> int | None:
    """The one day of the month of a monthly rule, or of a yearly rule in ``month``
    (DTSTART's without BYMONTHDAY); days counted from the end are refused."""
    day = rule.bymonthday[0] if rule.bymonthday else start.day
    if len(rule.bymonthday) > 1:
        problems.append("BYMONTHDAY with more than one day")
    if month is not None and rule.bymonthday and not rule.bymonth:
        problems.append("BYMONTHDAY without BYMONTH in a yearly rule (that repeats monthly)")
    if day < 1:
        problems.append(f"BYMONTHDAY {day} ({system} counts days from the start of the month)")
        return None
    if month is not None and day > calendar.monthrange(2000, month)[1]:  # 2000: a leap year
        problems.append(f"BYMONTHDAY {day} with BYMONTH={month} (no such date)")
        return None
    return day


def recurrence_end(
    rule: RuleParts,
    span: Span,
    tz: ZoneInfo,
    problems: list[str],
    *,
    count_refused: str | None = None,
) -> dict[str, Any] | None:
    """The end fields: recurEndOccurrence (COUNT), recurEndDate (the date in ``tz`` of the
    last start UNTIL allows) or recurForEver; None with a problem when unusable."""
    if rule.count is not None and rule.until is not None:
        problems.append("COUNT together with UNTIL")
        return None
    if rule.count is not None:
        if count_refused is not None:
            problems.append(count_refused)
        if rule.count < 1:
            problems.append(f"COUNT={rule.count}")
            return None
        return {"recurEndOccurrence": rule.count}
    if rule.until is not None:
        last = rrule.last_start_date(rule.until, start_time=span.start_time, zone=tz)
        if last < span.start:
            problems.append("UNTIL before DTSTART")
            return None
        return {"recurEndDate": last}
    return {"recurForEver": True}
