"""Which zone each TZID of one uploaded calendar means, and binding times to it.

Kept apart from the reading of the file (``converters.ical.upload.read``) and from zone
arithmetic (``converters.ical.zones``): this is the one place that decides, for an upload,
what a TZID or a floating time means.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Component, Timezone, vDDDLists, vDDDTypes, vRecur
from icalendar.timezone import tzp

from icsbridge.converters.ical.windows_zones import iana_zone
from icsbridge.converters.ical.zones import indexed

TIMES = ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID", "EXDATE", "RDATE")
"""The properties whose values are dates or date-times an event is placed by."""


class UploadZones:
    """Which zone each TZID of one uploaded calendar means, whatever was read before.

    icalendar keeps every VTIMEZONE it ever read in one process-wide table keyed by TZID,
    first definition winning: without this, a daemon that once read a calendar defining
    ``Custom`` as +01:00 reads every later ``Custom`` as +01:00, whatever that file says,
    and accepts ``TZID=Custom`` in files that define no such zone. Here a TZID means:

    - a zone tzdata knows by that name: that zone (a file's VTIMEZONE cannot redefine it);
    - else the VTIMEZONE of this file with that TZID (built once per distinct text, its
      onsets indexed: :func:`indexed`);
    - else a Windows zone name (``W. Europe Standard Time``): its IANA zone;
    - else nothing: the time has no zone, and the upload refuses it.

    A floating time (no TZID, no ``Z``) takes the calendar's ``X-WR-TIMEZONE`` when that
    names an IANA or Windows zone, as Google and Yahoo exports mean it.
    """

    def __init__(self, calendar: Any) -> None:
        self._defined: dict[str, list[Any]] = {}
        for sub in calendar.subcomponents:
            if sub.name == "VTIMEZONE" and sub.get("TZID") is not None:
                self._defined.setdefault(str(sub["TZID"]), []).append(sub)
        self._own: dict[str, tzinfo] = {}
        named = calendar.get("X-WR-TIMEZONE")
        self.calendar_zone_name = None if named is None else str(named).strip()
        key = iana_zone(self.calendar_zone_name) if self.calendar_zone_name else None
        self.calendar_zone: ZoneInfo | None = ZoneInfo(key) if key else None

    def zone_for(self, tzid: str, parsed: tzinfo | None) -> tzinfo | None:
        """The zone ``TZID=tzid`` means here (``parsed``: what icalendar attached).
        Raises ValueError, in words, for a VTIMEZONE that cannot be used."""
        if isinstance(parsed, ZoneInfo) and (
            parsed.key == tzid.strip("/") or tzid not in self._defined
        ):
            return parsed
        if tzid in self._defined:
            if tzid not in self._own:
                self._own[tzid] = self._build(tzid)
            return self._own[tzid]
        mapped = iana_zone(tzid)
        return ZoneInfo(mapped) if mapped else None

    def _build(self, tzid: str) -> tzinfo:
        texts = {bytes(sub.to_ical()) for sub in self._defined[tzid]}
        if len(texts) > 1:
            raise ValueError(f'{len(texts)} different VTIMEZONEs have the TZID "{tzid}"; keep one')
        return zone_from_text(texts.pop(), tzid)


@lru_cache(maxsize=64)
def zone_from_text(text: bytes, tzid: str) -> tzinfo:
    """The zone a VTIMEZONE's text defines (the same object for the same text, so the
    offset changes cached for it serve every upload that brings it)."""
    try:
        component = Timezone.from_ical(text)
        assert isinstance(component, Timezone)
        zone: tzinfo = component.to_tz(tzp, lookup_tzid=False)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f'VTIMEZONE "{tzid}" cannot be read ({why})') from exc
    try:
        # dateutil fails on a time before the first change of a zone without STANDARD
        zone.utcoffset(datetime(2, 1, 2))
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        raise ValueError(
            f'VTIMEZONE "{tzid}" gives no UTC offset before its first change (give it a '
            "STANDARD part)"
        ) from exc
    return indexed(zone)


def bind_zones(component: Component, tzids: UploadZones) -> None:
    """Give each date-time the zone its TZID means in this file (:class:`UploadZones`),
    and floating ones the calendar's X-WR-TIMEZONE; leave the rest as they are. Raises
    ValueError, in words, for a VTIMEZONE that cannot be used."""
    start = component.get("DTSTART")
    floating_start = (
        isinstance(start, vDDDTypes)
        and not start.params.get("TZID")
        and isinstance(start.dt, datetime)
        and start.dt.tzinfo is None
    )
    for name in TIMES:
        prop = component.get(name)
        if prop is None:
            continue
        props = prop if isinstance(prop, list) else [prop]
        rebuilt = [_bound(p, tzids) for p in props]
        if any(new is not old for new, old in zip(rebuilt, props, strict=True)):
            component[name] = rebuilt if isinstance(prop, list) else rebuilt[0]
    if floating_start and tzids.calendar_zone is not None:
        _until_in_utc(component, tzids.calendar_zone)


def _bound(prop: Any, tzids: UploadZones) -> Any:
    """``prop`` with its date-times in the zone they mean (the same object if they are)."""
    if not isinstance(prop, (vDDDTypes, vDDDLists)):
        return prop
    tzid = prop.params.get("TZID")
    items = prop.dts if isinstance(prop, vDDDLists) else [prop]
    moments = [item.dt for item in items]
    zone: tzinfo | None
    if tzid:
        parsed = next((m.tzinfo for m in _flat(moments) if isinstance(m, datetime)), None)
        zone = tzids.zone_for(str(tzid), parsed)
    else:
        zone = tzids.calendar_zone
        if zone is None:
            return prop  # floating stays floating: refused with the reason
    moved = [_moved(m, zone, floating=not tzid) for m in moments]
    if all(new is old for new, old in zip(moved, moments, strict=True)):
        return prop
    new: Any = vDDDLists(moved) if isinstance(prop, vDDDLists) else vDDDTypes(moved[0])
    new.params.clear()
    new.params.update(prop.params)
    if not tzid:
        new.params["TZID"] = str(getattr(zone, "key", ""))
    return new


def _flat(moments: list[Any]) -> list[Any]:
    return [m for moment in moments for m in (moment if isinstance(moment, tuple) else [moment])]


def _moved(moment: Any, zone: tzinfo | None, *, floating: bool) -> Any:
    if isinstance(moment, tuple):  # RDATE PERIOD: (start, end or duration)
        ends = tuple(_moved(m, zone, floating=floating) for m in moment)
        return moment if all(a is b for a, b in zip(ends, moment, strict=True)) else ends
    if not isinstance(moment, datetime):
        return moment
    if floating:
        return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment
    return moment if moment.tzinfo is zone else moment.replace(tzinfo=zone)


def _until_in_utc(component: Component, zone: tzinfo) -> None:
    """A floating series' UNTIL is wall time too; with the zone given, RFC 5545 wants it
    in UTC (and a later step reading a naive UNTIL would read it in another zone)."""
    rules = component.get("RRULE")
    if rules is None:
        return
    fixed = []
    for rule in rules if isinstance(rules, list) else [rules]:
        untils = rule.get("UNTIL") if isinstance(rule, vRecur) else None
        if untils:
            rule = vRecur(rule)
            rule["UNTIL"] = [
                u.replace(tzinfo=zone).astimezone(UTC)
                if isinstance(u, datetime) and u.tzinfo is None
                else u
                for u in (untils if isinstance(untils, list) else [untils])
            ]
        fixed.append(rule)
    component["RRULE"] = fixed if isinstance(rules, list) else fixed[0]
