"""Non-worked and exceptionally worked days: one transparent all-day event per run."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from support import paths

from icsbridge.converters.ical.assembly import Stamp, assemble, finalize_event
from icsbridge.converters.ical.feedcheck.validate import validate_feed
from icsbridge.converters.ical.model import CalendarMeta, ConvertedEvent
from icsbridge.converters.wordbee.convert import PersonContext, day_events, merge_months
from icsbridge.converters.wordbee.models import WordbeeDay, parse_view

FIXTURES = paths.FIXTURES / "wordbee"
CTX = PersonContext(uid=635, label="Anna Weber", zone=ZoneInfo("Europe/Paris"), platform="t/a")


def runs(events: list[ConvertedEvent]) -> list[tuple[str, str, str, list[str]]]:
    """(first day, exclusive end, SUMMARY, CATEGORIES) of each run."""
    out = []
    for event in events:
        c = event.component
        out.append(
            (
                c["DTSTART"].dt.isoformat(),
                c["DTEND"].dt.isoformat(),
                str(c["SUMMARY"]),
                [str(cat) for cat in c["CATEGORIES"].cats],
            )
        )
    return out


def test_seed_weekends_are_runs_and_regular_days_are_left_out() -> None:
    data = json.loads((FIXTURES / "calendar_view_2017_07.json").read_text())
    events = day_events(parse_view(data, where="seed").days, CTX)
    assert runs(events) == [
        (f"2017-07-{a:02d}", f"2017-07-{b:02d}", "Weekend", ["Weekend", "Non-worked day"])
        for a, b in ((1, 3), (8, 10), (15, 17), (22, 24), (29, 31))
    ]
    for event in events:
        assert str(event.component["TRANSP"]) == "TRANSPARENT"
        assert not isinstance(event.component["DTSTART"].dt, datetime)  # VALUE=DATE


def test_runs_merge_across_months_and_split_by_kind() -> None:
    months = json.loads((FIXTURES / "months_2026_03_04.json").read_text())
    views = [parse_view(months[key], where=key) for key in ("2026-03", "2026-04")]
    found = runs(day_events(merge_months(views).days, CTX))
    assert ("2026-03-14", "2026-03-16", "Working day (Weekend)", ["Weekend", "Worked day"]) in found
    # Vacation Monday 30 March to Friday 3 April: one run across the month boundary.
    assert ("2026-03-30", "2026-04-04", "Vacation", ["Vacation", "Non-worked day"]) in found
    # The weekend right after is another kind; Easter Monday (a holiday) another again.
    assert ("2026-04-04", "2026-04-06", "Weekend", ["Weekend", "Non-worked day"]) in found
    assert ("2026-04-06", "2026-04-07", "Holiday", ["Holiday", "Non-worked day"]) in found
    assert not any(start == "2026-03-28" and end != "2026-03-30" for start, end, *_ in found)
    vacation = next(e for e in day_events(merge_months(views).days, CTX) if "03-30" in e.native_key)
    assert vacation.native_key == "days:2026-03-30:off"
    assert str(vacation.component["DESCRIPTION"]) == (
        "Wordbee: Vacation day(s) not worked by Anna Weber (the company works on them)"
    )


def test_workp_decides_over_workc_and_a_regular_day_off_is_a_day_off() -> None:
    def day(d: int, work: str, workc: bool, workp: bool | None) -> WordbeeDay:
        return WordbeeDay(year=2026, month=5, day=d, work=work, workc=workc, workp=workp)

    days = [
        day(4, "Regular", True, False),  # the company works, the person does not
        day(5, "Regular", True, None),  # ordinary: no event
        day(9, "Weekend", False, True),  # exceptionally worked
        day(10, "Weekend", False, None),  # the company's word: not worked
    ]
    assert runs(day_events(days, CTX)) == [
        ("2026-05-04", "2026-05-05", "Day off", ["Regular", "Non-worked day"]),
        ("2026-05-09", "2026-05-10", "Working day (Weekend)", ["Weekend", "Worked day"]),
        ("2026-05-10", "2026-05-11", "Weekend", ["Weekend", "Non-worked day"]),
    ]


def test_a_gap_breaks_a_run_and_order_does_not_matter() -> None:
    days = [
        WordbeeDay(year=2026, month=5, day=d, work="Holiday", workc=False, workp=False)
        for d in (14, 12, 13)
    ]
    assert [r[:2] for r in runs(day_events(days, CTX))] == [("2026-05-12", "2026-05-15")]
    days.append(WordbeeDay(year=2026, month=5, day=16, work="Holiday", workc=False))
    assert [r[:2] for r in runs(day_events(days, CTX))] == [
        ("2026-05-12", "2026-05-15"),
        ("2026-05-16", "2026-05-17"),
    ]


KINDS = st.sampled_from(
    [("Regular", True), ("Weekend", False), ("Weekend", True), ("Holiday", False)]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(KINDS, min_size=1, max_size=60), st.dates(date(2020, 1, 1), date(2030, 1, 1)))
def test_runs_cover_exactly_the_unusual_days(kinds: list[tuple[str, bool]], first: date) -> None:
    days = []
    for offset, (work, worked) in enumerate(kinds):
        d = date.fromordinal(first.toordinal() + offset)
        days.append(WordbeeDay(year=d.year, month=d.month, day=d.day, work=work, workc=worked))
    events = day_events(days, CTX)
    covered: dict[date, tuple[str, bool]] = {}
    for event in events:
        c = event.component
        start, end = c["DTSTART"].dt, c["DTEND"].dt
        kind = (
            str(c["X-WORDBEE-DAY-KIND"]),
            "Worked day" in [str(x) for x in c["CATEGORIES"].cats],
        )
        for ordinal in range(start.toordinal(), end.toordinal()):
            assert date.fromordinal(ordinal) not in covered
            covered[date.fromordinal(ordinal)] = kind
    expected = {d.date: (d.work, d.worked) for d in days if not (d.work == "Regular" and d.worked)}
    assert covered == expected
    # Runs are maximal: two neighbouring runs never share a kind.
    for left, right in itertools.pairwise(events):
        touching = left.component["DTEND"].dt == right.component["DTSTART"].dt
        same = str(left.component["SUMMARY"]) == str(right.component["SUMMARY"])
        assert not (touching and same)
    keys = [e.native_key for e in events]
    assert len(keys) == len(set(keys))


def test_day_runs_make_a_valid_feed() -> None:
    data: dict[str, Any] = json.loads((FIXTURES / "calendar_view_2017_07.json").read_text())
    events = day_events(parse_view(data, where="seed").days, CTX)
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    finals = [finalize_event(e.component, Stamp(f"d{i}@t", stamp)) for i, e in enumerate(events)]
    assert validate_feed(assemble(CalendarMeta(key="t/x", name="x"), finals)) == []
