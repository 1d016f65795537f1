"""Exported Wordbee feeds, judged by ical.js, libical and icalendar+dateutil.

The demo company is exported through ``icsbridge export`` (simulator over ASGI, real
config, state and files). Every parser must read every feed without complaint, and the
occurrence starts they find must agree with each other and with an independent reading
of the JSON the simulator served: day runs from ``days``, appointments from their
``dtfrom`` (each ``appid`` once), work items from their deadline or start.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from freezegun import freeze_time
from icalendar import Calendar
from support.feeds import exported_files

from icsbridge.config.loader import load_settings
from icsbridge.daemon.cli.export import run_export
from icsbridge.daemon.simulators.wordbee import seed as wordbee_seed
from icsbridge.daemon.simulators.wordbee.app import (
    WordbeeSimState,
    create_app,
    demo_secret_files,
    demo_source,
)
from realclients.harness import (
    assert_parsers_agree,
    by_summary,
    parse_problems,
)

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
MONTHS = [(2026, m) for m in range(2, 10)]  # one month back, six ahead
ZONES = {143: ZoneInfo("Europe/Paris"), 3: ZoneInfo("Europe/London")}
WIDE = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC))

Starts = dict[str, list[datetime]]


def read_window(zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime(2026, 2, 1, tzinfo=zone)
    return start.astimezone(UTC), datetime(2026, 10, 1, tzinfo=zone).astimezone(UTC)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[WordbeeSimState, dict[str, bytes]]:
    folder: Path = tmp_path_factory.mktemp("wordbee-export")
    sim = wordbee_seed.demo_state(lambda: NOW)
    for name, content in demo_secret_files().items():
        (folder / name).write_text(content)
    config = folder / "config.toml"
    config.write_text(
        '[daemon]\nstate = "state.sqlite"\noutput_dir = "feeds"\n\n'
        + demo_source("http://wordbee.test/api")
    )
    settings = load_settings(config)
    app = create_app(sim)
    # The source reads "this month" from the clock; freeze it on the demo's month.
    with freeze_time(NOW):
        report = asyncio.run(
            run_export(settings, now=NOW, transport_for=lambda _s: httpx.ASGITransport(app=app))
        )
    assert report.failures == []
    files = exported_files(settings.daemon.output_dir)
    assert sorted(files) == [
        "wordbee-demo/143/calendar",
        "wordbee-demo/143/work-items",
        "wordbee-demo/3/calendar",
        "wordbee-demo/3/work-items",
    ]
    return sim, files


# --- the oracle: the served JSON, read without the converter -------------------------------


def served(sim: WordbeeSimState, uid: int) -> list[dict[str, Any]]:
    """The month views the export read for ``uid``, as the simulator answers them."""
    person = sim.persons[uid]
    return [sim.view(person, sim.month_days(y, m), NOW) for y, m in MONTHS]


def midnight(text: str, zone: ZoneInfo) -> bool:
    local = datetime.fromisoformat(text).astimezone(zone)
    return local.time() == time()


def calendar_oracle(sim: WordbeeSimState, uid: int) -> Starts:
    zone = ZONES[uid]
    views = served(sim, uid)
    out: Starts = defaultdict(list)
    run_kind: tuple[str, bool] | None = None
    previous: date | None = None
    for view in views:
        for day in view["days"]:
            today = date(day["year"], day["month"], day["day"])
            worked = day["workp"] if "workp" in day else day["workc"]
            kind = (day["work"], worked)
            unusual = not (day["work"] == "Regular" and worked)
            if unusual and not (kind == run_kind and previous == today - timedelta(days=1)):
                name = f"Working day ({day['work']})" if worked else day["work"]
                out[name if name != "Regular" else "Day off"].append(
                    datetime.combine(today, time(), UTC)
                )
            run_kind, previous = (kind if unusual else None), today
    seen: set[int] = set()
    for view in views:
        for app in view["appointments"]:
            if app["appid"] in seen:
                continue
            seen.add(app["appid"])
            start, end = app["dtfrom"], app["dtto"]
            if start != end and midnight(start, zone) and midnight(end, zone):
                local = datetime.fromisoformat(start).astimezone(zone).date()
                out[app["subject"]].append(datetime.combine(local, time(), UTC))
            else:
                out[app["subject"]].append(datetime.fromisoformat(start))
    return {name: sorted(starts) for name, starts in out.items()}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def work_oracle(sim: WordbeeSimState, uid: int) -> Starts:
    person = sim.persons[uid]
    out: Starts = defaultdict(list)
    for project in person.projects or []:
        if project.get("dline"):
            out[f"Deadline: project {project['ref']}"].append(utc(project["dline"]))
        elif project.get("dtstart") and project.get("dtend"):
            out[f"Project {project['ref']}"].append(utc(project["dtstart"]).replace(microsecond=0))
    for order in person.orders or []:
        if order.get("dline"):
            out[f"Deadline: order {order['ref']}"].append(utc(order["dline"]))
    for job in person.jobs or []:
        languages = f" ({job['src/srct']} → {job['trg/trgt']})"
        if job.get("deadline"):
            out[f"Deadline: job {job['reference']}{languages}"].append(utc(job["deadline"]))
        elif job.get("dtstart") and job.get("dtend") and job["dtend"] > job["dtstart"]:
            out[f"Job {job['reference']}{languages}"].append(utc(job["dtstart"]))
    return {name: sorted(starts) for name, starts in out.items()}


# --- the checks ----------------------------------------------------------------------------


def test_every_parser_reads_every_feed_without_complaint(
    exported: tuple[WordbeeSimState, dict[str, bytes]],
) -> None:
    _sim, files = exported
    for key, data in sorted(files.items()):
        assert parse_problems(data) == [], key


def test_parsers_agree_with_the_wordbee_json(
    exported: tuple[WordbeeSimState, dict[str, bytes]],
) -> None:
    sim, files = exported
    checked = 0
    for uid in (143, 3):
        data = files[f"wordbee-demo/{uid}/calendar"]
        found = by_summary(data, assert_parsers_agree(data, *read_window(ZONES[uid])))
        assert found == calendar_oracle(sim, uid), uid
        checked += sum(len(s) for s in found.values())
        items = files[f"wordbee-demo/{uid}/work-items"]
        found_items = by_summary(items, assert_parsers_agree(items, *WIDE))
        assert found_items == work_oracle(sim, uid), uid
        checked += sum(len(s) for s in found_items.values())
    assert checked > 150


def test_the_weekly_series_crosses_dst_as_one_rrule(
    exported: tuple[WordbeeSimState, dict[str, bytes]],
) -> None:
    _sim, files = exported
    data = files["wordbee-demo/143/calendar"]
    calendar = Calendar.from_ical(data)
    (sync,) = [
        e for e in calendar.walk("VEVENT") if str(e["SUMMARY"]) == "Weekly localisation sync"
    ]
    assert "RRULE" in sync and sync["DTSTART"].params["TZID"] == "Europe/Paris"
    starts = by_summary(data, assert_parsers_agree(data, *read_window(ZONES[143])))
    hours = {s.hour for s in starts["Weekly localisation sync"]}
    assert hours == {8, 9}  # 10:00 Paris before and after 29 March
    assert len(starts["Weekly localisation sync"]) == 30
