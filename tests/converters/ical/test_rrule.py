"""RRULE parts RFC 5545 does not allow are refused when read, not taken as a default."""

from __future__ import annotations

import pytest
from icalendar.prop import vRecur

from icsbridge.converters.ical.rrule import read_rule


@pytest.mark.parametrize("interval", ["0", "-2"])
def test_an_interval_that_is_not_positive_is_refused_not_read_as_1(interval: str) -> None:
    # Issue 19 (minor): INTERVAL=0 was sent to the API as interval 1.
    with pytest.raises(ValueError) as err:
        read_rule(vRecur.from_ical(f"FREQ=WEEKLY;INTERVAL={interval};BYDAY=MO"))
    assert str(err.value) == f"INTERVAL={interval}: RFC 5545 wants a positive integer, e.g. 1"
    assert read_rule(vRecur.from_ical("FREQ=WEEKLY;BYDAY=MO")).interval == 1
    assert read_rule(vRecur.from_ical("FREQ=WEEKLY;INTERVAL=3")).interval == 3


def test_an_rrule_kept_as_text_is_a_value_error_not_an_attribute_error() -> None:
    # RRULE;VALUE=TEXT:... parses as a vText; a converter reading it crashed (found by
    # tests/converters/ical/test_upload_malformed.py).
    from icalendar.prop import vText

    with pytest.raises(ValueError, match="not a recurrence rule"):
        read_rule(vText("FREQ=WEEKLY;COUNT=4"))  # type: ignore[arg-type]


def test_a_zero_length_event_in_a_dst_gap_ends_at_its_start_not_an_hour_later() -> None:
    # Found by tests/converters/webex/test_properties.py: a Webex event 02:00-02:00 on
    # the March change in Europe/Paris (no DTEND written) read back as 02:00-03:00.
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from icsbridge.converters.ical.rrule import end_of_duration

    paris = ZoneInfo("Europe/Paris")
    start = datetime(2024, 3, 31, 2, 0, tzinfo=paris)  # a wall time the clock skips
    assert end_of_duration(start, timedelta(0), paris).replace(tzinfo=None) == datetime(
        2024, 3, 31, 2, 0
    )
    one_hour = end_of_duration(
        datetime(2024, 3, 31, 1, 30, tzinfo=paris), timedelta(hours=1), paris
    )
    assert one_hour.replace(tzinfo=None) == datetime(2024, 3, 31, 3, 30)  # exact time
