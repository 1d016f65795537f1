"""B2CORE event payloads: parsing, canonical form, list shapes, one-line PayloadErrors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from support import paths

from icsbridge.converters.b2core.models import (
    B2coreEvent,
    page_items,
    parse_duration,
    parse_event,
    unwrap_object,
)
from icsbridge.converters.errors import PayloadError

FIXTURES = paths.FIXTURES / "b2core"
PARIS_WINTER = timezone(timedelta(hours=1))


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def base(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": 9,
        "caption": "Client call",
        "startDate": "2025-03-01T10:00:00+00:00",
        "endDate": "2025-03-01T11:00:00+00:00",
    }
    event.update(changes)
    return event


def test_a_full_event_with_unknown_fields() -> None:
    event = parse_event(load("event.json"), where="event list")
    assert event.id == "42"
    assert event.caption == "KYC review: ACME Trading Ltd"
    assert event.startDate == datetime(2025, 3, 3, 14, 0, tzinfo=PARIS_WINTER)
    assert event.startDate.utcoffset() == timedelta(hours=1)  # the offset is kept
    assert event.duration == timedelta(hours=1)
    # Sets to the API: sorted, earliest reminder first.
    assert event.notifications == [timedelta(days=1), timedelta(hours=2)]
    assert event.recipients == ["anna.keller@broker.example", "marco.rossi@broker.example"]


def test_wire_form_is_canonical() -> None:
    event = parse_event(load("event.json"), where="event list")
    assert event.to_wire() == {
        "caption": "KYC review: ACME Trading Ltd",
        "description": "Check UBO declarations; escalate to the MLRO, if needed.",
        "startDate": "2025-03-03T14:00:00+01:00",
        "endDate": "2025-03-03T15:00:00+01:00",
        "notifications": ["P1D", "PT2H"],
        "recipients": ["anna.keller@broker.example", "marco.rossi@broker.example"],
    }


def test_null_and_empty_mean_none() -> None:
    event = parse_event(base(description="", notifications=None, recipients=None), where="x")
    assert (event.description, event.notifications, event.recipients) == (None, [], [])
    assert event.to_wire()["description"] == ""


def test_duplicates_collapse_and_instants_compare_across_offsets() -> None:
    one = parse_event(
        base(notifications=["PT2H", "PT120M", "PT2H"], recipients=["a@x.org", "a@x.org"]),
        where="x",
    )
    assert one.notifications == [timedelta(hours=2)]
    assert one.recipients == ["a@x.org"]
    other = parse_event(base(startDate="2025-03-01T11:00:00+01:00"), where="x")
    assert other.startDate == parse_event(base(), where="x").startDate


def test_absolute_notifications_and_sub_seconds() -> None:
    event = parse_event(
        base(
            startDate="2025-03-01T10:00:00.123456Z",
            notifications=["2025-03-01T08:00:00+01:00", "PT15M"],
        ),
        where="x",
    )
    assert event.startDate == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    assert event.notifications == [
        timedelta(minutes=15),
        datetime(2025, 3, 1, 7, 0, tzinfo=UTC),
    ]
    assert event.to_wire()["notifications"] == ["PT15M", "2025-03-01T08:00:00+01:00"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT2H", 7200), ("P1D", 86400), ("P1W", 604800), ("PT0S", 0), ("P1DT1H30M5S", 91805)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"startDate": "2025-03-01T10:00:00"},
            'b2core: event list: event 9 "Client call": field "startDate": '
            '"2025-03-01T10:00:00" has no UTC offset (e.g. +00:00); its instant is unknown',
        ),
        (
            {"endDate": "tomorrow"},
            'b2core: event list: event 9 "Client call": field "endDate": "tomorrow" is not '
            "an ISO 8601 date-time with a UTC offset",
        ),
        (
            {"endDate": "2025-03-01T09:00:00+00:00"},
            'b2core: event list: event 9 "Client call": endDate 2025-03-01T09:00:00+00:00 is '
            "before startDate 2025-03-01T10:00:00+00:00",
        ),
        (
            {"notifications": ["PT2H", "P1M"]},
            'b2core: event list: event 9 "Client call": field "notifications" item 2: "P1M" '
            "counts years or months, which have no fixed length (an iCalendar alarm needs "
            "weeks, days, hours, minutes or seconds)",
        ),
        (
            {"notifications": ["-PT5M"]},
            'b2core: event list: event 9 "Client call": field "notifications" item 1: '
            '"-PT5M" is negative; a notification comes before the start',
        ),
        (
            {"notifications": ["soon"]},
            'b2core: event list: event 9 "Client call": field "notifications" item 1: '
            '"soon" is not an ISO 8601 date-time with a UTC offset',
        ),
        (
            {"recipients": "a@x.org"},
            'b2core: event list: event 9 "Client call": field "recipients": "a@x.org" is not '
            "a JSON array",
        ),
        (
            {"caption": None},
            'b2core: event list: event 9: field "caption": null is not a string',
        ),
        (
            {"id": None},
            'b2core: event list: event: field "id": missing',
        ),
        (
            {"id": True},
            'b2core: event list: event: field "id": true is not an event id',
        ),
    ],
)
def test_bad_events_are_one_line(changes: dict[str, Any], message: str) -> None:
    data = base(**changes)
    if changes.get("id", 0) is None:
        del data["id"]
    with pytest.raises(PayloadError) as caught:
        parse_event(data, where="event list")
    assert str(caught.value) == message


def test_an_answer_that_is_not_an_object() -> None:
    with pytest.raises(PayloadError) as caught:
        parse_event(["x"], where="event 3")
    assert str(caught.value) == 'b2core: event 3: expected a JSON object, got ["x"]'


@pytest.mark.parametrize(
    ("name", "count", "total"),
    [("list_bare.json", 2, None), ("list_data.json", 1, 1), ("list_items_meta.json", 1, 31)],
)
def test_list_shapes(name: str, count: int, total: int | None) -> None:
    items, found_total = page_items(load(name), where="event list")
    assert (len(items), found_total) == (count, total)
    events = [parse_event(item, where="event list") for item in items]
    assert all(isinstance(e, B2coreEvent) for e in events)


def test_a_list_answer_of_another_shape() -> None:
    with pytest.raises(PayloadError) as caught:
        page_items({"events": []}, where="event list (offset 0)")
    assert str(caught.value) == (
        'b2core: event list (offset 0): expected a JSON array of events (or an object with "data"'
        ' or "items"), got {"events": []}; check base_url points at the B2CORE host'
    )


def test_unwrap_object() -> None:
    event = base()
    assert unwrap_object({"data": event}) == event
    assert unwrap_object(event) == event


def test_changed_fields_compares_instants_and_sets() -> None:
    before = parse_event(load("event.json"), where="x")
    same = before.model_copy(
        update={
            "startDate": before.startDate.astimezone(UTC),
            "id": None,
        }
    )
    assert same.changed_fields(before) == {}
    moved = parse_event(
        {**load("event.json"), "caption": "KYC review (moved)", "notifications": ["PT2H"]},
        where="x",
    )
    assert moved.changed_fields(before) == {
        "caption": "KYC review (moved)",
        "notifications": ["PT2H"],
    }
