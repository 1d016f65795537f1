"""The data behind the Wordbee simulator and the calendar view it serves.

A :class:`WordbeeDirectory` holds one company, its persons (each with a Windows zone
id, days that differ from the ordinary week, and work items) and appointments.
:meth:`WordbeeDirectory.view` answers ``persons/{uid}/calendar/view`` for a range of local
days the way the documentation and the seed's example show it:

- ``days``: every day of the range; Saturday and Sunday are "Weekend" (not worked),
  company holidays are not worked by anyone, a person's own entries override both.
  ``start``/``end`` copy the example (``T00:00:00Z`` / ``T23:59:59Z`` of the date).
- ``appointments``: those the person sees (their own, those they attend, and
  company-wide ones without attendees) that overlap the range. A recurring appointment
  is expanded: occurrence k > 0 has ``appid`` = parent * 1000 + k and ``rcparent`` =
  parent; the parent (occurrence 0) has ``rcparent`` null. All carry ``rcule``.
- ``projects``/``jobs``/``orders``: the person's open items, in every range, or null
  when the person's account may not see them.

Times are kept as aware datetimes; a series expands on its own zone's wall clock.
"""

from __future__ import annotations

import calendar as calendar_module
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

WINDOWS_ZONES = {
    "Romance Standard Time": "Europe/Paris",
    "W. Europe Standard Time": "Europe/Berlin",
    "GMT Standard Time": "Europe/London",
    "Eastern Standard Time": "America/New_York",
    "Pacific Standard Time": "America/Los_Angeles",
    "UTC": "Etc/UTC",
}
"""The simulator's own small table (it never imports the converter's)."""
CHILD_FACTOR = 1000
_ONE_DAY = timedelta(days=1)


@dataclass
class SimAppointment:
    appid: int
    start: datetime  # aware
    end: datetime  # aware
    subject: str = ""
    desc: str = ""
    cid: int | None = 1
    uid: int | None = None
    unm: str = " "
    attendees: list[dict[str, Any]] = field(default_factory=list)
    reminder: str | None = None
    rule: str | None = None
    """RFC 5545 rule the simulator expands (e.g. "FREQ=WEEKLY;BYDAY=TU;COUNT=10")."""
    rcule: str | None = None
    """What the API shows as ``rcule`` (the rule itself unless set)."""
    exdates: set[date] = field(default_factory=set)
    """Local dates of deleted occurrences."""

    def occurrences(self, until: datetime) -> list[tuple[int, datetime, datetime]]:
        """(index, start, end) of each occurrence starting before ``until``."""
        if not self.rule:
            return [(0, self.start, self.end)]
        zone = self.start.tzinfo
        wall = self.start.replace(tzinfo=None)
        length = self.end - self.start
        out = []
        for index, instance in enumerate(rrulestr(self.rule, dtstart=wall)):
            begin = instance.replace(tzinfo=zone)
            if begin >= until:
                break
            if instance.date() not in self.exdates:
                out.append((index, begin, begin + length))
        return out

    def sees(self, uid: int) -> bool:
        attendees = {a.get("uid") for a in self.attendees}
        return self.uid == uid or uid in attendees or (self.uid is None and not attendees)


@dataclass
class SimPerson:
    uid: int
    name: str
    windows_zone: str = "Romance Standard Time"
    days: dict[date, dict[str, Any]] = field(default_factory=dict)
    """Days that differ: ``{"work": kind, "workp": bool}`` (and ``workc`` if it differs)."""
    projects: list[dict[str, Any]] | None = None
    jobs: list[dict[str, Any]] | None = None
    orders: list[dict[str, Any]] | None = None
    send_workp: bool = True

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(WINDOWS_ZONES.get(self.windows_zone, "Europe/Paris"))


@dataclass
class WordbeeDirectory:
    """One Wordbee company: persons, holidays and appointments."""

    cid: int = 1
    company: str = "Simulated Translations"
    holidays: dict[date, str] = field(default_factory=dict)
    persons: dict[int, SimPerson] = field(default_factory=dict)
    appointments: dict[int, SimAppointment] = field(default_factory=dict)

    def add_person(self, person: SimPerson) -> SimPerson:
        self.persons[person.uid] = person
        return person

    def add_appointment(self, appointment: SimAppointment) -> SimAppointment:
        self.appointments[appointment.appid] = appointment
        return appointment

    def month_days(self, year: int, month: int) -> list[date]:
        last = calendar_module.monthrange(year, month)[1]
        return [date(year, month, day) for day in range(1, last + 1)]

    def view(self, person: SimPerson, days: list[date], now: datetime) -> dict[str, Any]:
        """The calendar view of ``person`` for the local ``days`` (consecutive)."""
        zone = person.zone
        low = datetime.combine(days[0], time(), zone).astimezone(UTC)
        high = datetime.combine(days[-1] + _ONE_DAY, time(), zone).astimezone(UTC)
        offset = now.astimezone(zone).utcoffset() or timedelta()
        return {
            "timezone": person.windows_zone,
            "offset": offset.total_seconds() / 60,
            "days": [self._day(person, day, index) for index, day in enumerate(days)],
            "appointments": self._appointments(person, days, low, high),
            "projects": person.projects,
            "jobs": person.jobs,
            "orders": person.orders,
        }

    def _day(self, person: SimPerson, day: date, index: int) -> dict[str, Any]:
        work, workc = ("Weekend", False) if day.weekday() >= 5 else ("Regular", True)
        if day in self.holidays:
            work, workc = self.holidays[day], False
        own = person.days.get(day, {})
        work = own.get("work", work)
        workc = own.get("workc", workc)
        out: dict[str, Any] = {
            "year": day.year,
            "month": day.month,
            "day": day.day,
            "idx": index,
            "start": f"{day.isoformat()}T00:00:00Z",
            "end": f"{day.isoformat()}T23:59:59Z",
            "workc": workc,
            "work": work,
        }
        if person.send_workp:
            out["workp"] = own.get("workp", workc)
        return out

    def _appointments(
        self, person: SimPerson, days: list[date], low: datetime, high: datetime
    ) -> list[dict[str, Any]]:
        index_of = {day: i for i, day in enumerate(days)}
        zone = person.zone
        listed = []
        for app in sorted(self.appointments.values(), key=lambda a: a.appid):
            if not app.sees(person.uid):
                continue
            for k, start, end in app.occurrences(high):
                if not (start < high and (end > low or (end == start and start >= low))):
                    continue
                appid = app.appid if k == 0 else app.appid * CHILD_FACTOR + k
                listed.append(
                    {
                        "appid": appid,
                        "dtfrom": _utc_text(start),
                        "dtto": _utc_text(end),
                        "dtfromidx": index_of.get(start.astimezone(zone).date()),
                        "dttoidx": index_of.get(end.astimezone(zone).date()),
                        "subject": app.subject,
                        "desc": app.desc,
                        "cid": app.cid,
                        "uid": app.uid,
                        "unm": app.unm,
                        "attendees": [dict(a) for a in app.attendees],
                        "reminder": app.reminder,
                        "rcule": (app.rcule if app.rcule is not None else app.rule) or "",
                        "rcparent": (app.appid if k else None) if app.rule else None,
                    }
                )
        return sorted(listed, key=lambda a: (a["dtfrom"], a["appid"]))


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
