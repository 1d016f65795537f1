"""Exported APIO feeds, judged by ical.js, libical and icalendar+dateutil.

``icsbridge export`` reads the demo tenant (time, holiday and advanced schedules, with the
enterprise level) through the config ``demo_source`` writes; every parser reads every feed
without complaint, and over one year the occurrence starts they find agree with each other
and with an oracle written here from the APIO JSON, day by day, never through an RRULE.
Inactive periods are in the feed (STATUS:CANCELLED), so they count too.

The oracle's readings of the unverified parts: a stopTime before startTime ends the next
day; weekly intervals count weeks starting on Sunday; intervals count from startDate's
day/month/year; recurEndDate is the last start date; counts start at the first occurrence.
"""

from __future__ import annotations

import asyncio
import calendar
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar
from support.feeds import exported_files

from icsbridge.config.loader import load_settings
from icsbridge.daemon.cli.export import run_export
from icsbridge.daemon.simulators.apio import seed as apio_seed
from icsbridge.daemon.simulators.apio.app import (
    ApioSimState,
    create_app,
    demo_secret_files,
    demo_source,
)
from realclients.harness import (
    assert_parsers_agree,
    by_summary,
    parse_problems,
)

WINDOW = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Brussels")
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = [m.lower() for m in calendar.month_name[1:]]
NTH = {"first": 1, "second": 2, "third": 3, "fourth": 4}


# --- the oracle ----------------------------------------------------------------------------


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _hm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _nth(d: date, weekday: str, week: str) -> bool:
    """Whether ``d`` is the given (First..Fourth, Last) weekday of its month."""
    if d.weekday() != DAYS.index(weekday.lower()):
        return False
    if week.lower() == "last":
        return d.day + 7 > calendar.monthrange(d.year, d.month)[1]
    return (d.day - 1) // 7 + 1 == NTH[week.lower()]


def _matches(recurrence: dict[str, Any], d: date, start: date) -> bool:
    months = (d.year - start.year) * 12 + d.month - start.month
    if "recurDaily" in recurrence:
        return (d - start).days % recurrence["recurDaily"].get("recurInterval", 1) == 0
    if "recurWeekly" in recurrence:
        p = recurrence["recurWeekly"]
        sunday = lambda x: x - timedelta(days=(x.weekday() + 1) % 7)  # noqa: E731
        weeks = (sunday(d) - sunday(start)).days // 7
        return bool(p.get(DAYS[d.weekday()])) and weeks % p.get("recurInterval", 1) == 0
    if "recurMonthlyByDay" in recurrence:
        p = recurrence["recurMonthlyByDay"]
        return months % p.get("recurInterval", 1) == 0 and d.day == p["dayOfMonth"]
    if "recurMonthlyByWeek" in recurrence:
        p = recurrence["recurMonthlyByWeek"]
        every = months % p.get("recurInterval", 1) == 0
        return every and _nth(d, p["dayOfWeek"], p["dayOfWeekInMonth"])
    key = "recurYearlyByDay" if "recurYearlyByDay" in recurrence else "recurYearlyByWeek"
    p = recurrence[key]
    if (d.year - start.year) % p.get("recurInterval", 1) or MONTHS[d.month - 1] != p[
        "month"
    ].lower():
        return False
    if key == "recurYearlyByDay":
        return d.day == p["dayOfMonth"]
    return _nth(d, p["dayOfWeek"], p["dayOfWeekInMonth"])


def _advanced_dates(event: dict[str, Any], until: date) -> list[date]:
    start = date.fromisoformat(event["startDate"])
    recurrence = event.get("recurrence")
    if not recurrence:
        return [start]
    end = None if recurrence.get("recurForEver") else recurrence.get("recurEndDate")
    last = min(until, date.fromisoformat(end)) if end else until
    count = None if recurrence.get("recurForEver") or end else recurrence["recurEndOccurrence"]
    found = [d for d in _days(start, last) if _matches(recurrence, d, start)]
    return found if count is None else found[:count]


def _starts(period: dict[str, Any], store: str) -> list[datetime]:
    """Every start of one period in the window: UTC, all-day ones at 00:00 UTC."""
    lo, hi = WINDOW
    local_days = _days(lo.date() - timedelta(days=1), hi.date())
    if store == "time_schedules":
        if period["type"] == "Day of the week":
            days = [d for d in local_days if DAYS[d.weekday()] == period["dayOfWeek"].lower()]
        else:
            days = [d for d in local_days if d.day == period["dayOfMonth"]]
        stamps = [datetime.combine(d, _hm(period["startTime"]), ZONE) for d in days]
    elif store == "calendar_schedules":
        day = date.fromisoformat(period["startDay"])
        if period["type"] == "Full days":
            stamps = [datetime.combine(day, time(), UTC)]
        else:
            stamps = [datetime.combine(day, _hm(period["startTime"]), ZONE)]
    else:
        days = _advanced_dates(period, hi.date())
        if period.get("allDayEvent"):
            stamps = [datetime.combine(d, time(), UTC) for d in days]
        else:
            stamps = [datetime.combine(d, _hm(period["startTime"]), ZONE) for d in days]
    return sorted(s.astimezone(UTC) for s in stamps if lo <= s.astimezone(UTC) < hi)


def expected(sim: ApioSimState, key: str) -> dict[str, list[datetime]]:
    """What the APIO data says calendar ``key`` holds in the window, by period name."""
    _source, owner, kind, name = key.split("/")
    scope = sim.scope("foo", None if owner == "enterprise" else owner)
    simple = "time_schedules" if kind == "time" else "calendar_schedules"
    store = simple if name in scope.stores[simple] else f"advanced_{simple}"
    periods = scope.stores[store][name].periods
    found = {p: _starts(body, store) for p, body in periods.items()}
    return {p: starts for p, starts in found.items() if starts}


# --- the export ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[ApioSimState, dict[str, bytes]]:
    folder = tmp_path_factory.mktemp("apio-export")
    sim = apio_seed.demo_state(now=lambda: NOW)
    for name, text in demo_secret_files().items():
        (folder / name).write_text(text)
    config = folder / "config.toml"
    config.write_text(
        '[daemon]\nstate = "state.sqlite"\noutput_dir = "feeds"\n\n'
        + demo_source("https://apio.sim")
    )
    settings = load_settings(config)
    app = create_app(sim)
    report = asyncio.run(
        run_export(settings, now=NOW, transport_for=lambda _s: httpx.ASGITransport(app=app))
    )
    assert report.failures == []
    files = exported_files(settings.daemon.output_dir)
    assert sorted(files) == [
        "apio-demo/bargroup/holiday/Closures",
        "apio-demo/bargroup/time/Reception",
        "apio-demo/enterprise/time/Enterprise Hours",
        "apio-demo/foogroup/holiday/Belgian Holidays 2026",
        "apio-demo/foogroup/holiday/Recurring Holidays",
        "apio-demo/foogroup/time/APIO Test Time Schedule",
        "apio-demo/foogroup/time/Office Hours",
        "apio-demo/foogroup/time/Support Rota",
    ]
    return sim, files


def test_every_parser_reads_every_apio_feed_without_complaint(
    exported: tuple[ApioSimState, dict[str, bytes]],
) -> None:
    _sim, files = exported
    for key, data in sorted(files.items()):
        assert parse_problems(data) == [], key


def test_parsers_agree_with_the_apio_data_over_a_year(
    exported: tuple[ApioSimState, dict[str, bytes]],
) -> None:
    sim, files = exported
    checked = 0
    for key, data in sorted(files.items()):
        by_uid = assert_parsers_agree(data, *WINDOW)
        by_name = by_summary(data, by_uid)
        assert by_name == expected(sim, key), key
        checked += sum(len(s) for s in by_name.values())
    assert checked > 700  # the window really holds the demo's recurring schedules


def test_an_inactive_period_is_published_as_cancelled(
    exported: tuple[ApioSimState, dict[str, bytes]],
) -> None:
    _sim, files = exported
    feed = Calendar.from_ical(files["apio-demo/foogroup/time/APIO Test Time Schedule"])
    status = {str(e["SUMMARY"]): str(e.get("STATUS", "")) for e in feed.walk("VEVENT")}
    assert status == {"APIO Test Group Period 1": "", "APIO Test Group Period 2": "CANCELLED"}
