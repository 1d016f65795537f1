"""Which alarms of an upload are the user's (converters.ical.upload.alarms.own_alarms): the
edges the push tests through the simulators do not reach."""

from __future__ import annotations

from icalendar import Event

from icsbridge.converters.ical.upload.alarms import own_alarms


def _event(uid: str, *triggers: str, action: str = "DISPLAY") -> Event:
    alarms = "".join(
        f"BEGIN:VALARM\r\nACTION:{action}\r\nDESCRIPTION:Reminder\r\n{t}\r\nEND:VALARM\r\n"
        for t in triggers
    )
    text = (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nSUMMARY:{uid}\r\nDTSTART:20261210T090000Z\r\n"
        f"DTEND:20261210T100000Z\r\n{alarms}END:VEVENT\r\n"
    )
    return Event.from_ical(text)


def _triggers(events: dict[str, Event]) -> dict[str, list[str]]:
    return {
        uid: [a["TRIGGER"].to_ical().decode() for a in ev.walk("VALARM")]
        for uid, ev in events.items()
    }


def test_a_reminder_the_feed_published_on_every_event_is_kept() -> None:
    upload = {u: _event(u, "TRIGGER:-PT15M") for u in ("a", "b", "c")}
    published = {u: _event(u, "TRIGGER:-PT15M") for u in ("a", "b", "c")}
    assert own_alarms(upload, published) == upload


def test_a_reminder_added_in_a_one_event_push_is_the_users() -> None:
    upload = {"a": _event("a", "TRIGGER:-PT15M")}
    assert own_alarms(upload, {"a": _event("a")}) == upload


def test_a_reminder_added_to_two_of_three_events_is_the_users() -> None:
    upload = {"a": _event("a", "TRIGGER:-PT15M"), "b": _event("b", "TRIGGER:-PT15M")}
    upload["c"] = _event("c")
    published = {u: _event(u) for u in upload}
    assert _triggers(own_alarms(upload, published)) == {"a": ["-PT15M"], "b": ["-PT15M"], "c": []}


def test_an_absolute_reminder_far_from_the_event_is_kept_when_the_feed_published_it() -> None:
    far = "TRIGGER;VALUE=DATE-TIME:20241210T090000Z"
    upload = {"a": _event("a", far), "b": _event("b", far)}
    published = {"a": _event("a", far), "b": _event("b")}
    assert _triggers(own_alarms(upload, published)) == {"a": ["20241210T090000Z"], "b": []}


def test_an_apple_placeholder_goes_even_where_the_feed_had_that_trigger() -> None:
    upload = {"a": _event("a", "TRIGGER:-PT30M", action="NONE")}
    assert _triggers(own_alarms(upload, {"a": _event("a", "TRIGGER:-PT30M")})) == {"a": []}
