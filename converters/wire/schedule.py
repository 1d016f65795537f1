"""Payload pieces of schedule events told by their first occurrence (Webex, BroadWorks).

Both APIs describe an event by the dates (and wall times) of its FIRST occurrence plus at
most one structured recurrence: one pattern (``recurDaily``, ``recurWeekly``...) and one
end (``recurForEver`` | ``recurEndDate`` | ``recurEndOccurrence``). What they name
differently (the all-day flag, month and day names, which patterns exist) stays in their
own models; what is the same is here:

- :func:`check_span`: the end is not before the start, and timed spans have both times;
  :func:`check_event` adds "the recurrence has an occurrence from startDate on";
- :class:`WeeklyDays`: the ``sunday``..``saturday`` flags of a weekly pattern;
- :class:`StructuredRecurrence`: the three end fields and their precedence
  (recurForEver=true > recurEndDate > recurEndOccurrence: the Webex documentation's own
  sample fills all three at once, so extra end fields are defaults, not intent), the
  "no occurrence from startDate" check and the RRULE with its end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime, time, tzinfo
from typing import Any, ClassVar, NamedTuple, Protocol, Self

from pydantic import StrictBool, model_validator

from icsbridge.converters.ical import rrule
from icsbridge.converters.ical.rrule import MONDAY, SUNDAY, RuleParts, WeekdayRef
from icsbridge.converters.wire.base import Interval, Wire, WireDate, problem


class SpanFields(NamedTuple):
    """The wire names of a span's four fields, for the error lines."""

    start_date: str = "startDate"
    end_date: str = "endDate"
    start_time: str = "startTime"
    end_time: str = "endTime"


EVENT_FIELDS = SpanFields()


def check_span(
    start_date: date,
    end_date: date,
    start_time: time | None,
    end_time: time | None,
    *,
    times_needed: str | None,
    fields: SpanFields = EVENT_FIELDS,
    noun: str = "event",
    zero_length: bool = True,
) -> None:
    """Raise a :func:`~icsbridge.converters.wire.base.problem` unless the span is coherent.

    ``times_needed`` is None for whole days (times are then not looked at), else why the
    times are needed (``"needed unless allDayEnabled is true"``). ``zero_length`` says
    whether an end equal to the start is allowed.
    """
    if end_date < start_date:
        raise problem(
            f"{end_date} is before {fields.start_date} {start_date}", field=fields.end_date
        )
    if times_needed is None:
        return
    for name, value in ((fields.start_time, start_time), (fields.end_time, end_time)):
        if value is None:
            raise problem(f"missing ({times_needed})", field=name)
    start = datetime.combine(start_date, start_time or time())
    end = datetime.combine(end_date, end_time or time())
    if end < start or (end == start and not zero_length):
        raise problem(
            f"the {noun} ends ({end:%Y-%m-%d %H:%M}) before it starts ({start:%Y-%m-%d %H:%M})",
            field=fields.end_time,
        )


class WeeklyDays(Wire):
    """A weekly pattern: every ``interval`` weeks on the flagged days (at least one)."""

    recurInterval: Interval | None = None
    sunday: StrictBool = False
    monday: StrictBool = False
    tuesday: StrictBool = False
    wednesday: StrictBool = False
    thursday: StrictBool = False
    friday: StrictBool = False
    saturday: StrictBool = False

    FLAGS: ClassVar[tuple[str, ...]] = (
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    )  # fmt: skip
    """The flag fields, indexed like ``date.weekday()`` (Monday = 0)."""

    @property
    def interval(self) -> int:
        return self.recurInterval or 1

    @property
    def weekdays(self) -> tuple[int, ...]:
        """Selected days as ``date.weekday()`` indexes, Monday first."""
        return tuple(i for i, flag in enumerate(self.FLAGS) if getattr(self, flag))

    @model_validator(mode="after")
    def _some_day(self) -> Self:
        if not self.weekdays:
            raise problem("selects no day of the week")
        return self

    def weekly_rule(self) -> RuleParts:
        days = self.weekdays
        # Which week a Sunday belongs to matters only with INTERVAL > 1; Webex and
        # BroadWorks list weeks Sunday first (unverified), so the RRULE says so.
        wkst = SUNDAY if self.interval > 1 and SUNDAY in days and len(days) > 1 else MONDAY
        byday = tuple(WeekdayRef(day) for day in days)
        return RuleParts("WEEKLY", interval=self.interval, byday=byday, wkst=wkst)


class StructuredRecurrence(Wire):
    """One pattern and one end. Subclasses add the pattern fields (named in
    ``PATTERN_FIELDS``), check them in their own words, and map them to an RRULE."""

    PATTERN_FIELDS: ClassVar[Mapping[str, type[Wire]]] = {}

    recurForEver: StrictBool | None = None
    recurEndDate: WireDate | None = None
    recurEndOccurrence: Interval | None = None

    @classmethod
    def of(cls, end: Mapping[str, Any], pattern: Wire) -> Self:
        """The recurrence of ``pattern`` (a model named in PATTERN_FIELDS) with ``end``."""
        name = next(key for key, model in cls.PATTERN_FIELDS.items() if type(pattern) is model)
        return cls.model_validate({**end, name: pattern})

    def pattern_problem(self, present: list[str]) -> str | None:
        """What is wrong with the pattern fields ``present``, in the API's words (None:
        exactly one, as it should be)."""
        raise NotImplementedError

    @model_validator(mode="after")
    def _one_pattern_one_end(self) -> Self:
        present = [name for name in self.PATTERN_FIELDS if getattr(self, name) is not None]
        wrong = self.pattern_problem(present)
        if wrong is not None:
            raise problem(wrong)
        if not self.recurForEver and self.recurEndDate is None and self.recurEndOccurrence is None:
            raise problem(
                "has no end (recurForEver true, recurEndDate or recurEndOccurrence is needed)"
            )
        return self

    def pattern_model(self) -> Wire:
        for name in self.PATTERN_FIELDS:
            value: Wire | None = getattr(self, name)
            if value is not None:
                return value
        raise AssertionError("validated recurrence without a pattern")

    @property
    def end_date(self) -> date | None:
        """The effective last start date (None when forever or counted)."""
        return None if self.recurForEver else self.recurEndDate

    @property
    def end_count(self) -> int | None:
        """The effective number of occurrences (None when forever or ending on a date)."""
        if self.recurForEver or self.recurEndDate is not None:
            return None
        return self.recurEndOccurrence

    def pattern_rule(self) -> RuleParts:
        """The pattern as an RRULE without its end (COUNT/UNTIL depend on the zone)."""
        raise NotImplementedError

    def rule(self, start_time: time | None, zone: tzinfo) -> RuleParts:
        """The RRULE with its end, for a series starting at ``start_time`` (None: all-day)."""
        rule = self.pattern_rule()
        if self.end_count is not None:
            return replace(rule, count=self.end_count)
        last = self.end_date
        if last is None:
            return rule
        until: date | datetime = (
            last if start_time is None else rrule.until_utc(last, start_time, zone)
        )
        return replace(rule, until=until)

    def days_to_first(self, start: date) -> int:
        """Days from ``start`` to the first real occurrence (the server moves it there)."""
        first = rrule.first_occurrence(self.pattern_rule(), start)
        return 0 if first is None else (first - start).days

    def check_fires_from(self, start: date) -> None:
        """Raise a problem (field ``recurrence``) when no occurrence starts on or after
        ``start`` (the startDate) and on or before the end date."""
        last = self.end_date
        first = rrule.first_occurrence(self.pattern_rule(), start)
        if first is None or (last is not None and first > last):
            until = f" on or before recurEndDate {last}" if last is not None else ""
            raise problem(f"no occurrence from startDate {start}{until}", field="recurrence")


class FirstOccurrenceEvent(Protocol):
    """An event told by its first occurrence: a Webex event, a BroadWorks advanced event."""

    @property
    def name(self) -> str: ...
    @property
    def startDate(self) -> date: ...
    @property
    def endDate(self) -> date: ...
    @property
    def startTime(self) -> time | None: ...
    @property
    def endTime(self) -> time | None: ...
    @property
    def recurrence(self) -> StructuredRecurrence | None: ...


def check_event(event: FirstOccurrenceEvent, *, times_needed: str | None) -> None:
    """:func:`check_span` of the first occurrence (``times_needed``: None when all-day),
    then that the recurrence, if any, has an occurrence from startDate on."""
    check_span(
        event.startDate, event.endDate, event.startTime, event.endTime, times_needed=times_needed
    )
    if event.recurrence is not None:
        event.recurrence.check_fires_from(event.startDate)
