"""Effective hours (issue 16): the demo's Paris and New York locations over a year, held
against an independent computation: every input expanded with dateutil, as sets of
minutes, open minus closed."""

from __future__ import annotations

import functools
import itertools
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar
from support.demo_world import demo_store
from support.feed_world import FRENCH, HQ, OFFICE, Ev, World, later

from icsbridge.config.loader import load_settings
from icsbridge.converters.ical.feedcheck.validate import validate_feed
from icsbridge.daemon.feeds.store import FeedStore
from icsbridge.daemon.simulators.webex import seed as webex_seed

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
YEAR = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
PARIS, NEW_YORK = ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York")
LOCATIONS = {"paris": ("Paris HQ", PARIS), "ny": ("New York", NEW_YORK)}
HOURS = "\n".join(
    f'[[feeds]]\nname = "{name}-year-{show}"\n'
    f'open = ["webex-demo/locations/{where}/businessHours/*"]\n'
    f'closed = ["webex-demo/locations/{where}/holidays/*"]\nshow = "{show}"\n'
    'window = { past = "7d", future = "365d" }\n'
    for name, (where, _zone) in LOCATIONS.items()
    for show in ("open", "closed")
)
Minutes = set[int]


def _location(sim: webex_seed.WebexSimState, name: str) -> str:
    return next(loc.id for loc in sim.locations.values() if loc.name == name)


def timed(name: str, day: str, start: str, end: str, **recurrence: object) -> dict[str, object]:
    event: dict[str, object] = {
        "name": name,
        "startDate": day,
        "endDate": day if start < end else str(date.fromisoformat(day) + timedelta(days=1)),
        "startTime": start,
        "endTime": end,
        "allDayEnabled": False,
    }
    if recurrence:
        event["recurrence"] = recurrence
    return event


def all_day(name: str, day: str) -> dict[str, object]:
    return {"name": name, "startDate": day, "endDate": day, "allDayEnabled": True}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> FeedStore:
    sim = webex_seed.demo_state()
    paris, ny = _location(sim, "Paris HQ"), _location(sim, "New York")
    weekly = {"recurInterval": 1, **dict.fromkeys(("sunday", "monday", "tuesday"), False)}
    weekly |= dict.fromkeys(("wednesday", "thursday", "friday"), False) | {"saturday": True}
    # A night line from Saturday 22:00 to Sunday 06:00 on two weekends of March (the
    # second crosses the change of clock of Sunday 29 March) and on the night of the
    # change back (25 October).
    night = timed("Night line", "2026-03-21", "22:00", "06:00")
    night["recurrence"] = {"recurEndDate": "2026-03-28", "recurWeekly": weekly}
    sim.set_event(paris, "businessHours", "Reception Hours", night)
    autumn = timed("Night line autumn", "2026-10-24", "22:00", "06:00")
    sim.set_event(paris, "businessHours", "Reception Hours", autumn)
    # Part of a day: Christmas Eve afternoon; a holiday on a day with no hours: Easter
    # Sunday. New York: an early close, and Independence Day falls on a Saturday in 2026.
    sim.set_event(
        paris, "holidays", "French Holidays", timed("Eve", "2026-12-24", "14:00", "18:00")
    )
    sim.set_event(paris, "holidays", "French Holidays", all_day("Paques 2026", "2026-04-05"))
    sim.set_event(
        ny, "holidays", "US Holidays", timed("Early close", "2026-11-27", "12:00", "17:30")
    )
    _settings, built = demo_store(tmp_path_factory.mktemp("hours"), HOURS, NOW, sim)
    return built


def _minute(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


def expanded(ics: bytes, zone: ZoneInfo) -> Minutes:
    """Every minute some event of ``ics`` covers in the year (and a week around it)."""
    low, high = YEAR[0] - timedelta(days=7), YEAR[1] + timedelta(days=7)
    found: Minutes = set()
    for event in Calendar.from_ical(ics).walk("VEVENT"):
        assert "EXDATE" not in event and "RDATE" not in event and "RECURRENCE-ID" not in event
        start, end = event["DTSTART"].dt, event["DTEND"].dt
        day = not isinstance(start, datetime)
        first = datetime.combine(start, time()) if day else start
        length = (end - start) if day else end.replace(tzinfo=None) - start.replace(tzinfo=None)
        if "RRULE" in event:
            rule = rrulestr(event["RRULE"].to_ical().decode(), dtstart=first)
            a, b = (low.replace(tzinfo=None), high.replace(tzinfo=None)) if day else (low, high)
            starts = rule.between(a - timedelta(days=2), b, inc=True)
        else:
            starts = [first]
        for one in starts:
            wall_end = one.replace(tzinfo=None) + length
            begin = one.replace(tzinfo=zone) if day else one
            finish = wall_end.replace(tzinfo=zone if day else one.tzinfo)
            found.update(range(_minute(begin), _minute(finish)))
    return found


def runs(minutes: Minutes) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for minute in sorted(minutes):
        if out and out[-1][1] == minute:
            out[-1] = (out[-1][0], minute + 1)
        else:
            out.append((minute, minute + 1))
    return out


def in_year(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    low, high = _minute(YEAR[0]), _minute(YEAR[1])
    return [span for span in spans if span[1] > low and span[0] < high]


@functools.cache
def _published(data: bytes) -> list[tuple[int, int]]:
    spans = []
    for event in Calendar.from_ical(data).walk("VEVENT"):
        spans.append((_minute(event["DTSTART"].dt), _minute(event["DTEND"].dt)))
    return sorted(spans)


def published(store: FeedStore, name: str, zone: ZoneInfo) -> list[tuple[int, int]]:
    content = store.get(name)
    assert content is not None, name
    assert f"DTSTART;TZID={zone.key}:".encode() in content.data
    return _published(content.data)


def inputs(store: FeedStore, where: str, kind: str) -> list[bytes]:
    prefix = f"webex-demo/locations/{where}/{kind}/"
    return [store.get(n).data for n in store.names() if n.startswith(prefix)]  # type: ignore[union-attr]


@pytest.mark.parametrize("location", sorted(LOCATIONS))
def test_effective_hours_equal_an_independent_computation_over_a_year(
    store: FeedStore, location: str
) -> None:
    where, zone = LOCATIONS[location]
    opened = set().union(*(expanded(ics, zone) for ics in inputs(store, where, "businessHours")))
    closed = set().union(*(expanded(ics, zone) for ics in inputs(store, where, "holidays")))
    expected = in_year(runs(opened - closed))
    assert validate_feed(store.get(f"{location}-year-open").data) == []  # type: ignore[union-attr]
    assert in_year(published(store, f"{location}-year-open", zone)) == expected
    # "closed" is the gaps between the open intervals.
    gaps = [(a[1], b[0]) for a, b in itertools.pairwise(expected)]
    shown = in_year(published(store, f"{location}-year-closed", zone))
    assert [span for span in shown if span in gaps] == gaps[: len(gaps)]
    assert len(expected) > 240  # a year of working days really was compared


def _open_on(store: FeedStore, name: str, day: date, zone: ZoneInfo) -> list[str]:
    out = []
    for start, end in published(store, name, zone):
        begin = datetime.fromtimestamp(start * 60, zone)
        finish = datetime.fromtimestamp(end * 60, zone)
        if begin.date() == day or (finish.date() == day and finish.time() != time()):
            out.append(f"{begin:%m-%d %H:%M}-{finish:%m-%d %H:%M}")
    return out


def test_the_cases_the_issue_names(store: FeedStore) -> None:
    # Part of a day: the office opens 08:00 (reception), the Eve closes 14:00-18:00.
    assert _open_on(store, "paris-year-open", date(2026, 12, 24), PARIS) == [
        "12-24 08:00-12-24 14:00",
        "12-24 18:00-12-24 20:00",
    ]
    # A holiday on a Sunday with no hours changes nothing around it.
    assert _open_on(store, "paris-year-open", date(2026, 4, 5), PARIS) == []
    assert _open_on(store, "paris-year-open", date(2026, 4, 4), PARIS) == [
        "04-04 09:00-04-04 12:00"
    ]
    assert (
        _open_on(store, "paris-year-open", date(2026, 3, 21), PARIS)[-1]
        == "03-21 22:00-03-22 06:00"
    )
    # Both changes of clock: the night line keeps its wall times.
    assert _open_on(store, "paris-year-open", date(2026, 3, 29), PARIS) == [
        "03-28 22:00-03-29 06:00"
    ]
    spring = next(
        s
        for s in published(store, "paris-year-open", PARIS)
        if s[0] == _minute(datetime(2026, 3, 28, 22, tzinfo=PARIS))
    )
    assert spring[1] - spring[0] == 7 * 60  # an hour less: the clock went forward
    assert _open_on(store, "paris-year-open", date(2026, 10, 25), PARIS) == [
        "10-24 22:00-10-25 06:00"
    ]
    assert _open_on(store, "ny-year-open", date(2026, 11, 27), NEW_YORK) == [
        "11-27 08:30-11-27 12:00"
    ]
    assert _open_on(store, "ny-year-open", date(2026, 7, 3), NEW_YORK) == [
        "07-03 08:30-07-03 17:30"
    ]
    assert _open_on(store, "ny-year-open", date(2026, 3, 9), NEW_YORK) == [
        "03-09 08:30-03-09 17:30"
    ]


def test_intervals_keep_their_bytes_when_the_window_moves(tmp_path: Path) -> None:
    feeds = (
        '[[feeds]]\nname = "open"\nopen = ["hq/locations/*/businessHours/*"]\n'
        'closed = ["hq/*/holidays/*"]\nwindow = { past = "0d", future = "30d" }\n'
    )
    world = World(tmp_path, feeds)
    world.sync("hq", HQ)
    first = world.store.get("open")
    assert first is not None and first.events == 2
    # A new day moves the window (the feed is rendered again) but not these intervals.
    assert "open" not in world.sync("hq", HQ, later(60))
    # An input changes: a holiday on the Saturday takes that interval away.
    spec = {**HQ, FRENCH: [*HQ[FRENCH], Ev("fh-2", "Closed Saturday", 7)]}
    assert "open" in world.sync("hq", spec, later(120))
    assert world.summaries("open") == {"Open"}
    changed = world.store.get("open")
    assert changed is not None and changed.events == 1
    block = first.data[first.data.index(b"BEGIN:VEVENT") :]
    assert block.split(b"END:VEVENT")[0] in changed.data  # 2 March kept its bytes
    world.state.close()
    assert OFFICE in world.store.names()


def test_open_calendars_in_two_zones_need_the_owner_zone(tmp_path: Path) -> None:
    from icsbridge.converters.ical.model import CalendarMeta
    from icsbridge.daemon.feeds.sharing import Shaper
    from icsbridge.daemon.sync.pull import RenderedCalendar

    config = tmp_path / "config.toml"
    config.write_text(
        '[[sources]]\nname = "hq"\nkind = "webex"\ninterval = "15m"\ntoken = "env:T"\n'
        'locations = "all"\n[[feeds]]\nname = "open"\nopen = ["hq/*/businessHours/*"]\n'
    )
    (feed,) = load_settings(config).feeds
    calendars = [
        RenderedCalendar(
            CalendarMeta(key=f"hq/{where}/businessHours/x", name="x", timezone=zone), [], b""
        )
        for where, zone in (("paris", "Europe/Paris"), ("ny", "America/New_York"))
    ]
    shaper = Shaper()
    data, count = shaper.merged(feed, CalendarMeta(key="open", name="open"), calendars, NOW)
    assert count == 0 and b"BEGIN:VEVENT" not in data
    assert shaper.problems == {
        "open": 'feed "open": its open calendars do not share one time zone (America/New_York, '
        'Europe/Paris); set timezone = "Europe/Paris" (the owner\'s zone) on the feed'
    }
