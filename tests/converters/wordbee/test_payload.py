"""Wordbee calendar view payloads: the seed's example parses, bad answers are one line,
reminders and Windows zone ids are read without guessing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support import paths

from icsbridge.converters.errors import PayloadError
from icsbridge.converters.ical.windows_zones import iana_zone
from icsbridge.converters.wordbee.convert import merge_months
from icsbridge.converters.wordbee.models import parse_view, reminder_before

FIXTURES = paths.FIXTURES / "wordbee"


def seed() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "calendar_view_2017_07.json").read_text())
    return data


def test_the_seed_example_parses() -> None:
    view = parse_view(seed(), where="person 143, 2017-07")
    assert view.timezone == "Romance Standard Time"
    assert view.offset == 120.0
    assert len(view.days) == 31
    assert view.days[0].date.isoformat() == "2017-07-01"
    # The example sends no workp: the company's day decides.
    assert view.days[0].workp is None and view.days[0].worked is False
    assert view.days[2].worked is True
    first = view.appointments[0]
    assert (first.appid, first.dtfrom) == (88, datetime(2017, 7, 6, 22, tzinfo=UTC))
    assert first.unm is None and first.series_id is None  # " " is no name, "" no rule
    assert [a.unm for a in first.attendees] == ["Younes Guarssifi"]
    assert view.projects is not None and view.projects[0].mname is None
    assert view.projects[3].mname == "Florent Mauer"
    # Naive work item times are UTC; sub-second digits dropped.
    assert view.projects[0].dtstart == datetime(2017, 6, 14, 10, 2, 39, tzinfo=UTC)
    assert view.jobs is not None
    job = view.jobs[0]
    assert (job.src, job.trg, job.status_text) == ("en", "fr-FR", "In progress")
    assert view.orders is not None and view.orders[0].uname == "Stephan Bohmig"


def _with(path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    data = seed()
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("appointments", 0, "dtfrom"), "yesterday",
         'appointment #1 (appid 88): field "dtfrom": "yesterday" is not a date-time '
         "(e.g. 2017-07-06T22:00:00Z)"),
        (("appointments", 1, "dtto"), "2017-07-01T00:00:00Z",
         "appointment #2 (appid 89): dtto 2017-07-01T00:00:00Z is before dtfrom"),
        (("appointments", 0, "appid"), "88",
         'appointment #1 (appid "88"): field "appid": "88" is not an integer'),
        (("appointments", 0, "attendees"), {"uid": 1},
         'appointment #1 (appid 88): field "attendees": {"uid": 1} is not a JSON array'),
        (("appointments", 0, "reminder"), [15],
         'appointment #1 (appid 88): field "reminder": [15] is not a number or a text'),
        (("days", 3, "workc"), "yes", 'day #4: field "workc": "yes" is not true or false'),
        (("days", 1, "month"), 13, "day #2: 2017-13-2 is not a date"),
        (("jobs", 3, "deadline"), "27/07/2017",
         'job #4 (jobid 9524): field "deadline": "27/07/2017" is not a date-time '
         "(e.g. 2017-07-06T22:00:00Z)"),
        (("projects", 0, "pid"), None, 'project #1: field "pid": null is not an integer'),
        (("days",), 7, 'field "days": 7 is not a JSON array'),
    ],
)  # fmt: skip
def test_bad_answers_are_one_line(path: tuple[str | int, ...], value: object, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_view(_with(path, value), where="person 143, 2017-07")
    assert str(caught.value) == f"wordbee: person 143, 2017-07: {message}"


def test_missing_day_kind_and_a_non_object() -> None:
    data = seed()
    del data["days"][0]["work"]
    with pytest.raises(PayloadError, match=r'day #1: field "work": missing$'):
        parse_view(data, where="w")
    with pytest.raises(PayloadError, match=r"^wordbee: w: expected a JSON object, got \[\]$"):
        parse_view([], where="w")


def test_null_lists_mean_empty_or_no_access() -> None:
    view = parse_view({"days": None, "appointments": None, "projects": None}, where="w")
    assert (view.days, view.appointments, view.projects, view.jobs) == ([], [], None, None)


@pytest.mark.parametrize(
    ("value", "before"),
    [
        (None, None),
        ("", None),
        (15, timedelta(minutes=15)),
        ("15", timedelta(minutes=15)),
        ("00:15:00", timedelta(minutes=15)),
        ("1.00:00:00", timedelta(days=1)),
        ("01:30", timedelta(hours=1, minutes=30)),
        ("PT15M", timedelta(minutes=15)),
        ("-PT1H", timedelta(hours=1)),
        ("P1D", timedelta(days=1)),
        ("-00:15:00", None),
        ("25:00:00", None),
        ("soon", None),
        ("P", None),
        (-5, None),
    ],
)
def test_reminder_forms(value: str | int | None, before: timedelta | None) -> None:
    assert reminder_before(value) == before


@pytest.mark.parametrize(
    ("windows_id", "iana"),
    [
        ("Romance Standard Time", "Europe/Paris"),
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("GMT Standard Time", "Europe/London"),
        ("Eastern Standard Time", "America/New_York"),
        ("Tokyo Standard Time", "Asia/Tokyo"),
        ("UTC", "Etc/UTC"),
        ("  romance   STANDARD time ", "Europe/Paris"),
        ("Europe/Paris", "Europe/Paris"),  # an IANA id is taken as it is
        ("Atlantis Standard Time", None),
        ("Europe", None),
        ("+02:00", None),
        ("", None),
    ],
)
def test_windows_zone_ids_map_to_iana(windows_id: str, iana: str | None) -> None:
    assert iana_zone(windows_id) == iana


def test_merging_months_keeps_each_object_once() -> None:
    months = json.loads((FIXTURES / "months_2026_03_04.json").read_text())
    march = parse_view(months["2026-03"], where="march")
    april = parse_view(months["2026-04"], where="april")
    merged = merge_months([march, april])
    assert merged.zone_ids == ["Romance Standard Time"]
    ids = [a.appid for a in merged.appointments]
    assert len(ids) == len(set(ids)) == 10  # 6 of the series, 600, 601, 602, 603
    # 600 spans the boundary: both months list it; the later answer is kept.
    both = [a for a in merged.appointments if a.appid == 600]
    assert both == [a for a in april.appointments if a.appid == 600]
    assert len(merged.days) == 31 + 30
    assert merged.jobs is not None and [j.jobid for j in merged.jobs] == [801, 802]
    # March says null (no access), April lists one: the order is kept.
    assert merged.orders is not None and [o.oid for o in merged.orders] == [900]
    assert merge_months([march]).orders is None
