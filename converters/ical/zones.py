"""Zone arithmetic that stays cheap whatever zone an upload brings.

Apps that do not write IANA TZIDs define their zones in the file: Outlook's ``Eastern
Standard Time`` (a VTIMEZONE whose STANDARD and DAYLIGHT rules start in 1601), Lotus
Notes' ``GMT +0100 (Standard) / GMT +0200 (Daylight)``, custom zones. icalendar hands
them over as dateutil ``tzicalvtz`` zones, and every offset such a zone gives walks each
rule's onsets from its DTSTART (425 yearly onsets from 1601: ~100 us per offset, and a
zone comparison hour by hour over 400 days took seconds per event). Here:

- :func:`indexed`: the same zone with each rule's onsets searched by bisection (the same
  answers, ~10x faster);
- :func:`offset_changes`: the instants at which a zone's UTC offset changes, cached per
  zone and year; for a ``tzicalvtz`` found from its onsets exactly, for any other zone by
  stepping and bisecting;
- :func:`offsets_differ_on_grid`: whether two zones' offsets differ at any of a run of
  hourly instants, from those changes: microseconds once the years are cached.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any

from dateutil.tz.tz import _tzicalvtz  # type: ignore[attr-defined]  # icalendar's zone type

ZERO = timedelta(0)
HOUR = timedelta(hours=1)
# Offsets are only compared between these instants: a zone's offset at the very ends of
# datetime's range cannot be computed (the local time would overflow).
EARLIEST = datetime(2, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, tzinfo=UTC)
# Step of the scan for zones whose changes cannot be listed from their rules (zoneinfo and
# the rest). A change is found exactly (bisected to the microsecond) as long as a zone does
# not change twice within one step: tzdata's closest offset changes are four days apart.
_STEP = timedelta(hours=6)
_RESOLUTION = timedelta(microseconds=1)

Changes = tuple[tuple[datetime, timedelta | None], ...]
"""(instant, offset from that instant on), in time order."""


class _Onsets:
    """The onsets of one STANDARD/DAYLIGHT block (a dateutil rrule or rruleset), listed
    once and searched by bisection: ``before`` and ``between`` answer exactly what the
    rule's own methods would, without walking the list from the start each time."""

    def __init__(self, rule: Any) -> None:
        self.rule = rule
        self._seen: list[datetime] = []
        self._rest: Iterator[datetime] | None = iter(rule)
        self._lock = threading.Lock()

    def _through(self, moment: datetime) -> None:
        with self._lock:
            while self._rest is not None and (not self._seen or self._seen[-1] <= moment):
                onset = next(self._rest, None)
                if onset is None:
                    self._rest = None
                else:
                    self._seen.append(onset)

    def before(self, moment: datetime, inc: bool = False) -> datetime | None:
        self._through(moment)
        index = (bisect_right if inc else bisect_left)(self._seen, moment)
        return self._seen[index - 1] if index else None

    def between(self, after: datetime, before: datetime, inc: bool = False) -> list[datetime]:
        self._through(before)
        low = (bisect_left if inc else bisect_right)(self._seen, after)
        high = (bisect_right if inc else bisect_left)(self._seen, before)
        return self._seen[low:high]

    def __iter__(self) -> Iterator[datetime]:
        return iter(self.rule)

    # Copies and pickles carry the rule; the index is rebuilt on demand.
    def __reduce__(self) -> tuple[Any, ...]:
        return (_Onsets, (self.rule,))

    def __deepcopy__(self, memo: dict[int, Any]) -> _Onsets:
        return self


def _parts(zone: tzinfo) -> list[Any] | None:
    """A ``tzicalvtz``'s STANDARD/DAYLIGHT blocks, or None for any other zone (or one
    whose insides are not what this module knows: then it is treated as any zone)."""
    if not isinstance(zone, _tzicalvtz):
        return None
    parts = getattr(zone, "_comps", None)
    needed = ("tzoffsetfrom", "tzoffsetto", "tzoffsetdiff", "isdst", "rrule")
    if not parts or not all(hasattr(part, name) for part in parts for name in needed):
        return None
    return list(parts)


def indexed(zone: tzinfo) -> tzinfo:
    """``zone`` itself, its rules' onsets indexed if it is a ``tzicalvtz`` (changed in
    place: meant for zones built for one upload, see ``converters.ical.upload``)."""
    for part in _parts(zone) or []:
        if not isinstance(part.rrule, _Onsets):
            part.rrule = _Onsets(part.rrule)
    return zone


def _offset(zone: tzinfo, instant: datetime) -> timedelta | None:
    return instant.astimezone(zone).utcoffset()


@lru_cache(maxsize=4096)
def _year(zone: tzinfo, year: int) -> tuple[timedelta | None, Changes]:
    """The offset at the start of ``year`` (UTC) and its changes during that year."""
    start = max(datetime(year, 1, 1, tzinfo=UTC), EARLIEST)
    end = min(datetime(year + 1, 1, 1, tzinfo=UTC), LATEST)
    first = _offset(zone, start)
    parts = _parts(zone)
    if parts is None:
        return first, _stepped(zone, start, end, first)
    return first, _from_onsets(zone, parts, start, end, first)


def _stepped(zone: tzinfo, start: datetime, end: datetime, first: timedelta | None) -> Changes:
    found: list[tuple[datetime, timedelta | None]] = []
    low, value = start, first
    while low < end:
        high = min(low + _STEP, end)
        at_high = _offset(zone, high)
        while at_high != value:  # one change in (low, high] (more only if tzdata had them)
            low = _first_change(zone, low, high, value)
            value = _offset(zone, low)
            found.append((low, value))
        low = high
    return tuple(found)


def _first_change(zone: tzinfo, low: datetime, high: datetime, value: timedelta | None) -> datetime:
    """The first instant in (low, high] whose offset is not ``value`` (high's is not)."""
    while high - low > _RESOLUTION:
        middle = low + (high - low) // 2
        if _offset(zone, middle) == value:
            low = middle
        else:
            high = middle
    return high


def _shifts(parts: list[Any]) -> set[timedelta]:
    """How far from a UTC instant (as a naive wall time) dateutil looks up the rules when
    it converts that instant to the zone and reads its offset (``_tzinfo.fromutc``: the
    instant itself, then plus the standard offset of the block found, plus that block's
    DST, each also minus the DST step of a block that ends DST when it tries the fold)."""
    dst = {id(part): part.tzoffsetdiff if part.isdst else ZERO for part in parts}
    folds = {part.tzoffsetdiff for part in parts if part.tzoffsetdiff < ZERO}
    standard = {part.tzoffsetto - dst[id(part)] for part in parts}
    walls = {shift + dst[id(part)] for shift in standard for part in parts}
    looked = standard | walls
    return {ZERO} | looked | {shift - fold for shift in looked for fold in folds}


def _from_onsets(
    zone: tzinfo, parts: list[Any], start: datetime, end: datetime, first: timedelta | None
) -> Changes:
    """The changes of a ``tzicalvtz`` in (start, end]. dateutil's answer for an instant
    depends only on which side of each onset the instant plus each of :func:`_shifts`
    falls, so it can change only at an onset minus a shift: the offset is read there."""
    if len(parts) == 1:
        return ()  # dateutil answers with the only block, whatever the date
    shifts = _shifts(parts)
    low = (start + min(shifts)).replace(tzinfo=None)
    high = (end + max(shifts)).replace(tzinfo=None)
    candidates: set[datetime] = set()
    for part in parts:
        for onset in part.rrule.between(low, high, inc=True):
            for shift in shifts:
                moment = (onset - shift).replace(tzinfo=UTC)
                if start < moment <= end:
                    candidates.add(moment)
    found: list[tuple[datetime, timedelta | None]] = []
    value = first
    for moment in sorted(candidates):
        now = _offset(zone, moment)
        if now != value:
            found.append((moment, now))
            value = now
    return tuple(found)


def offset_changes(
    zone: tzinfo, start: datetime, end: datetime
) -> tuple[timedelta | None, Changes]:
    """``zone``'s offset at ``start`` and its changes in (start, end] (aware, UTC, within
    :data:`EARLIEST` .. :data:`LATEST`)."""
    offset: timedelta | None = None
    changes: list[tuple[datetime, timedelta | None]] = []
    for year in range(start.year, end.year + 1):
        first, during = _year(zone, year)
        if year == start.year:
            offset = first
            for moment, value in during:
                if moment <= start:
                    offset = value
        changes.extend(change for change in during if start < change[0] <= end)
    return offset, tuple(changes)


def offsets_differ_on_grid(first: tzinfo, second: tzinfo, start: datetime, hours: int) -> bool:
    """Whether the two zones' UTC offsets differ at any of ``start + k hours`` for k in
    ``range(hours)``: the hour-by-hour comparison, answered from the offsets' changes."""
    start = start.astimezone(UTC)
    if hours <= 0:
        return False
    span = (hours - 1) * HOUR
    low, high = max(start, EARLIEST), LATEST if start > LATEST - span else start + span
    if low > high:
        return False
    one, one_changes = offset_changes(first, low, high)
    two, two_changes = offset_changes(second, low, high)
    steps = sorted({moment for moment, _ in one_changes} | {moment for moment, _ in two_changes})
    one_at = dict(one_changes)
    two_at = dict(two_changes)
    begin = low
    for moment in [*steps, None]:
        if one != two:
            grid = start - ((start - begin) // HOUR) * HOUR  # first grid instant >= begin
            if grid <= high and (moment is None or grid < moment):
                return True
        if moment is None:
            break
        one = one_at.get(moment, one)
        two = two_at.get(moment, two)
        begin = moment
    return False
