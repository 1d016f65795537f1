"""``validate_feed``: the checks of ICALENDAR.md as a pure function over feed bytes."""
