"""VTIMEZONE components with RRULE-style STANDARD/DAYLIGHT blocks, derived from zoneinfo.

Why not icalendar's ``add_missing_timezones()``: it writes every transition as one long
RDATE list, and ical.js 2.2 reads only the first value of such a list (summer events end
up an hour off) while Outlook shifts events on long RDATE lists. Here the transitions
zoneinfo knows are grouped into *rule runs*: transitions of the same kind (same offsets,
name and DST flag) in consecutive years, on the same month, the same weekday rule and the
same local time. A run becomes one block with ``RRULE:FREQ=YEARLY;...`` (with a UTC
``UNTIL`` unless the zone still follows it at the end of the range); a transition that
belongs to no run (a one-off change, Ramadan suspensions...) becomes a block of its own
with just ``DTSTART``. Weekday rules understood: nth weekday (``BYDAY=2SU``), last weekday
(``BYDAY=-1SU``) and "weekday on or after day d" (``BYDAY=FR;BYMONTHDAY=23,...,29``, as in
Israel's "Fri>=23" or Chile's "Sun>=2").

Pure: transitions are read from zoneinfo by scanning day by day and bisecting to the
second; nothing reads the clock, so the caller passes the range.
"""

from __future__ import annotations

import calendar
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

# Default coverage when the caller gives no ``last``: 30 years past ``first``, and never
# less than through 2038. Feeds hold schedules that recur for ever, so ``first`` can be
# years old while occurrences are shown today; 30 years reaches well past what calendar
# apps display. tzdata writes explicit transitions only through 2037 and describes every
# later year by the zone's current rule, so a range that reaches 2038 has seen every change
# zoneinfo knows of (for all but a few zones such as Africa/Casablanca, whose Ramadan
# changes are listed to 2087), and an open-ended final rule then matches zoneinfo for ever.
DEFAULT_YEARS = 30
_TZDATA_STEADY_YEAR = 2038
# Transitions are scanned this far past the range end, so a rule still running at the end
# is recognised as a rule (and left open-ended) even when it started just before the end.
_LOOKAHEAD = timedelta(days=3 * 366)
_EARLIEST = datetime(1850, 1, 1, tzinfo=UTC)  # before every zone's first transition
# Past tzdata's explicit years every zone repeats its last rule, so scanning further
# changes nothing; the bound keeps absurd dates (year 9999) from overflowing.
_LATEST = date(2200, 12, 31)
_STEP = timedelta(days=1)  # no zone changes twice within a day
_BACK_STEP = timedelta(days=7)  # only used to find the transition in force at ``first``
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def default_last(first: date) -> date:
    """The last date covered when :func:`vtimezone` gets no ``last``."""
    year = max(first.year + DEFAULT_YEARS, _TZDATA_STEADY_YEAR)
    return date(min(year, _LATEST.year), 12, 31)


def vtimezone(tzid: str, first: date, last: date | None = None) -> Timezone:
    """A VTIMEZONE for IANA zone ``tzid`` valid for every instant from ``first`` to ``last``.

    ``first`` is the earliest date an event using the zone starts; the block in force on
    that date is included. ``last`` defaults to :func:`default_last`. A zone without DST
    in the range gets a single block. Raises ``zoneinfo.ZoneInfoNotFoundError`` (a
    KeyError) for an unknown zone. Each call returns a new component (safe to mutate);
    the work behind it is cached.
    """
    if last is not None and last < first:
        raise ValueError(f"vtimezone {tzid}: last {last} is before first {first}")
    end = last if last is not None else max(default_last(first), first)
    component = Timezone()
    component.add("tzid", tzid)
    for block in _blocks(tzid, first, end):
        sub = TimezoneDaylight() if block.daylight else TimezoneStandard()
        sub.add("dtstart", block.start)
        sub.add("tzoffsetfrom", block.offset_from)
        sub.add("tzoffsetto", block.offset_to)
        if block.name:  # an empty TZNAME would be an empty text property
            sub.add("tzname", block.name)
        if block.rule is not None:
            sub.add("rrule", block.rule.as_recur())
        component.add_component(sub)
    return component


@dataclass(frozen=True)
class _State:
    offset: timedelta
    daylight: bool
    name: str


@dataclass(frozen=True)
class _Transition:
    at: datetime  # UTC
    before: _State
    after: _State

    @property
    def local(self) -> datetime:
        """Wall-clock time of the change as read before it (what DTSTART holds)."""
        return (self.at + self.before.offset).replace(tzinfo=None)

    @property
    def kind(self) -> tuple[object, ...]:
        local = self.local
        return (self.before, self.after, local.month, local.weekday(), local.time())


# A weekday rule: ("last",), ("nth", n) with n in 1..4, or ("ge", d): first on/after day d.
_Spec = tuple[Any, ...]


def _specs(day: date) -> set[_Spec]:
    """Every weekday rule that picks ``day`` in its month whatever the year."""
    month_len = calendar.monthrange(day.year, day.month)[1]
    shortest = 28 if day.month == 2 else month_len  # February's 29th is not every year
    specs: set[_Spec] = {("ge", d) for d in range(max(1, day.day - 6), day.day + 1)}
    specs = {spec for spec in specs if spec[1] + 6 <= shortest}
    if day.day + 7 > month_len:
        specs.add(("last",))
    if day.day <= 28:
        specs.add(("nth", (day.day - 1) // 7 + 1))
    return specs


def _pick(specs: set[_Spec]) -> _Spec:
    """Prefer the forms tzdata uses most: last weekday, nth weekday, then on-or-after."""
    if ("last",) in specs:
        return ("last",)
    return min(specs, key=lambda spec: (spec[0] != "nth", spec[1]))


@dataclass(frozen=True)
class _Rule:
    month: int
    weekday: int
    spec: _Spec
    until: datetime | None  # UTC instant of the last onset, None = open-ended

    def as_recur(self) -> dict[str, Any]:
        day = _DAYS[self.weekday]
        recur: dict[str, Any] = {"FREQ": "YEARLY", "BYMONTH": [self.month]}
        if self.spec[0] == "last":
            recur["BYDAY"] = [f"-1{day}"]
        elif self.spec[0] == "nth":
            recur["BYDAY"] = [f"{self.spec[1]}{day}"]
        else:
            recur["BYDAY"] = [day]
            recur["BYMONTHDAY"] = list(range(self.spec[1], self.spec[1] + 7))
        if self.until is not None:
            recur["UNTIL"] = self.until
        return recur


@dataclass(frozen=True)
class _Block:
    daylight: bool
    start: datetime  # naive local time, read with offset_from
    offset_from: timedelta
    offset_to: timedelta
    name: str
    rule: _Rule | None


@dataclass
class _Run:
    transitions: list[_Transition]
    specs: set[_Spec]


@lru_cache(maxsize=256)
def _blocks(tzid: str, first: date, end: date) -> tuple[_Block, ...]:
    try:
        zone = ZoneInfo(tzid)
    except (ValueError, OSError) as err:  # "", "../x", "America" (a directory)...
        raise ZoneInfoNotFoundError(f"No time zone found with key {tzid}") from err
    first = min(max(first, _EARLIEST.date() + timedelta(days=1)), _LATEST)
    end = min(max(end, first), _LATEST)
    # Local midnight of ``first`` is after this instant in every zone (offsets < 24 h).
    start = datetime.combine(first - timedelta(days=1), time(0), UTC)
    horizon = datetime.combine(end + timedelta(days=2), time(0), UTC) + _LOOKAHEAD
    in_force = _last_change_before(zone, start)
    if in_force is not None:  # the blocks depend on nothing else: shared by many ranges
        return _blocks_from(tzid, zone, in_force.at, horizon)
    transitions = _changes_since_ever(tzid, zone, start, horizon)
    if not transitions:
        state = _state(zone, start)
        onset = min(datetime(1970, 1, 1), datetime(first.year, 1, 1))
        return (_Block(state.daylight, onset, state.offset, state.offset, state.name, None),)
    return tuple(_run_block(run, horizon) for run in _runs(transitions))


@lru_cache(maxsize=256)
def _blocks_from(tzid: str, zone: ZoneInfo, at: datetime, horizon: datetime) -> tuple[_Block, ...]:
    """The blocks of a range whose first date falls after the transition at ``at``."""
    transitions = _changes_from(tzid, zone, at, horizon)
    return tuple(_run_block(run, horizon) for run in _runs(transitions))


def _runs(transitions: list[_Transition]) -> list[_Run]:
    """Group transitions into yearly runs, newest first.

    Chaining from the newest transition backwards gives the rule in force today (the one
    left open-ended) its longest possible run, so its weekday rule is the one the most
    years agree on; older irregular years split off instead of cutting the current rule.
    """
    runs: list[_Run] = []
    open_runs: dict[tuple[object, ...], _Run] = {}
    for transition in reversed(transitions):
        kind = transition.kind
        specs = _specs(transition.local.date())
        run = open_runs.get(kind)
        if run is not None:
            later = run.transitions[-1].local.year
            common = run.specs & specs
            if later == transition.local.year + 1 and common:
                run.transitions.append(transition)
                run.specs = common
                continue
        run = _Run([transition], specs)
        runs.append(run)
        open_runs[kind] = run
    for run in runs:
        run.transitions.reverse()
    return sorted(runs, key=lambda run: run.transitions[0].at)


def _run_block(run: _Run, horizon: datetime) -> _Block:
    head, tail = run.transitions[0], run.transitions[-1]
    rule = None
    if len(run.transitions) > 1:
        still_running = tail.at >= horizon - timedelta(days=366)
        local = head.local
        rule = _Rule(
            local.month, local.weekday(), _pick(run.specs), None if still_running else tail.at
        )
    return _Block(
        head.after.daylight,
        head.local,
        head.before.offset,
        head.after.offset,
        head.after.name,
        rule,
    )


def _state(zone: ZoneInfo, instant: datetime) -> _State:
    local = instant.astimezone(zone)
    offset, dst = local.utcoffset(), local.dst()
    assert offset is not None and dst is not None  # zoneinfo always answers both
    # dst() > 0, not != 0: Europe/Dublin's winter time is a negative "DST" in tzdata.
    return _State(offset, dst > timedelta(0), local.tzname() or "")


def _bisect(zone: ZoneInfo, low: datetime, high: datetime, before: _State) -> datetime:
    """First second in (low, high] whose state differs from ``before`` (state(high) does)."""
    while high - low > timedelta(seconds=1):
        middle = low + timedelta(seconds=(high - low).total_seconds() // 2)
        if _state(zone, middle) == before:
            low = middle
        else:
            high = middle
    return high


class _Scan:
    """One day-by-day scan of a zone from an instant, kept so that it can be extended:
    each transition with the ``low`` end of the step that found it. A scan's steps only
    depend on where it is (``low``) and the state there, so from any transition it found
    on, it takes exactly the steps a scan started at that transition would take."""

    def __init__(self, zone: ZoneInfo, start: datetime) -> None:
        self.zone = zone
        self.low = start - timedelta(seconds=1)
        self.state = _state(zone, self.low)
        self.found: list[tuple[datetime, _Transition]] = []
        self.index: dict[datetime, int] = {}  # a transition's instant -> its place in found

    def extend(self, stop: datetime) -> None:
        """Take every step whose ``low`` end is before ``stop``."""
        zone, low, state = self.zone, self.low, self.state
        while low < stop:
            high = low + _STEP
            if _state(zone, high) == state:
                low = high
                continue
            at = _bisect(zone, low, high, state)
            after = _state(zone, at)
            self.index[at] = len(self.found)
            self.found.append((low, _Transition(at, state, after)))
            low, state = at, after
        self.low, self.state = low, state

    def until(self, stop: datetime, first: int = 0) -> list[_Transition]:
        """The transitions from ``found[first]`` on that a scan ending at ``stop`` finds."""
        self.extend(stop)
        return [t for low, t in self.found[first:] if low < stop]


def _changes(zone: ZoneInfo, start: datetime, stop: datetime) -> list[_Transition]:
    """Every change of offset, DST flag or name from ``start`` (inclusive) to ``stop``."""
    return _Scan(zone, start).until(stop)


# Per zone, the scans made so far (usually one): every event of a feed has its own
# ``first`` date, hence its own range, and scanning 30 years day by day costs tens of ms.
# Pushes read uploads on worker threads while the loop renders: one scan at a time.
_SCANS: dict[str, list[_Scan]] = {}
_SCANS_LOCK = threading.Lock()


def _changes_from(tzid: str, zone: ZoneInfo, at: datetime, stop: datetime) -> list[_Transition]:
    """``_changes(zone, at, stop)`` for ``at`` a transition's instant, from a kept scan
    that found it: a scan from ``at`` finds it in its first step and both go on alike,
    unless that step holds another change (then the scan is made afresh)."""
    with _SCANS_LOCK:
        return _kept_changes(tzid, zone, at, stop)


def _kept_changes(tzid: str, zone: ZoneInfo, at: datetime, stop: datetime) -> list[_Transition]:
    scans = _SCANS.setdefault(tzid, [])
    for scan in scans:
        place = scan.index.get(at)
        if place is None:
            continue
        scan.extend(max(stop, at + 2 * _STEP))
        following = scan.found[place + 1 : place + 2]
        if following and following[0][1].at - at <= _STEP:
            return _changes(zone, at, stop)
        return scan.until(stop, place)
    scan = _Scan(zone, at)
    scans.append(scan)
    return scan.until(stop)


# A DST zone shows a change within a year back; one unchanged for decades (UTC,
# Asia/Kolkata) is read from its kept history.
_QUICK_BACK_STEPS = 60
_HISTORY: dict[str, _Scan] = {}


def _history(zone: ZoneInfo, until: datetime) -> _Scan:
    """The zone's scan from before its first transition, taken through ``until``."""
    with _SCANS_LOCK:
        scan = _HISTORY.get(zone.key)
        if scan is None:
            scan = _HISTORY[zone.key] = _Scan(zone, _EARLIEST)
        scan.extend(until)
    return scan


def _changes_since_ever(
    tzid: str, zone: ZoneInfo, start: datetime, stop: datetime
) -> list[_Transition]:
    """``_changes(zone, start, stop)`` for a zone with no change from _EARLIEST to
    ``start``, from its history: the first transition after ``start`` is found by a scan
    from ``start`` in the step (a day) that reaches it, kept if that step begins before
    ``stop``; from it on both scans step alike."""
    scan = _history(zone, stop + 2 * _STEP)
    if not scan.found:
        return []
    head = scan.found[0][1]
    low = start - timedelta(seconds=1)
    steps = -(-(head.at - low) // _STEP)  # the first step whose end reaches the change
    if low + (steps - 1) * _STEP >= stop:
        return []
    if head.at <= start or any(t.at - head.at <= _STEP for _low, t in scan.found[1:2]):
        return _changes(zone, start, stop)
    return [head, *(t for step_low, t in scan.found[1:] if step_low < stop)]


def _last_change_before(zone: ZoneInfo, instant: datetime) -> _Transition | None:
    state = _state(zone, instant)
    high = instant
    steps = 0
    while high > _EARLIEST:
        steps += 1
        if steps > _QUICK_BACK_STEPS:
            return _last_from_history(zone, instant)
        low = high - _BACK_STEP
        earlier = _state(zone, low)
        if earlier != state:
            # the last change in (low, high]: bisect on "same as the state at ``instant``"
            while high - low > timedelta(seconds=1):
                middle = low + timedelta(seconds=(high - low).total_seconds() // 2)
                if _state(zone, middle) == state:
                    high = middle
                else:
                    low = middle
            return _Transition(high, _state(zone, low), state)
        high = low
    return None


def _last_from_history(zone: ZoneInfo, instant: datetime) -> _Transition | None:
    """The last change at or before ``instant``, from the zone's history."""
    before = [t for _low, t in _history(zone, instant).found if t.at <= instant]
    return before[-1] if before else None
