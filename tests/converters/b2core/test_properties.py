"""Properties: every event B2CORE can hold survives iCalendar and back, through the bytes of
a real feed (alarms and attendees included); what it cannot hold is named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Event

from icsbridge.converters.b2core.convert import Organizer, from_vevent, to_vevents
from icsbridge.converters.b2core.models import B2coreEvent
from icsbridge.converters.errors import UnsupportedByTarget
from icsbridge.converters.ical.assembly import Stamp, assemble, finalize_event, validate_feed
from icsbridge.converters.ical.model import CalendarMeta

ZONES = ["Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]
ORGANIZER = Organizer("noreply@bo.example")
STAMP = datetime(2025, 1, 1, tzinfo=UTC)

# TEXT in a feed cannot hold control characters but TAB and LF (CR becomes LF).
texts = st.text(
    st.characters(exclude_categories=("Cs", "Cc"), include_characters="\n\t"), max_size=40
)
captions = texts.filter(lambda text: bool(text.strip()))
emails = st.from_regex(r"[a-z][a-z0-9._-]{0,10}@[a-z]{1,10}\.(com|org|example)", fullmatch=True)


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    """An instant with whole seconds, spelled in a zone's offset or a fixed one."""
    moment = draw(
        st.datetimes(datetime(2000, 1, 1), datetime(2090, 12, 31), timezones=st.just(UTC))
    ).replace(microsecond=0)
    if draw(st.booleans()):
        return moment.astimezone(ZoneInfo(draw(st.sampled_from(ZONES))))
    minutes = draw(st.integers(-12 * 4, 14 * 4)) * 15
    return moment.astimezone(timezone(timedelta(minutes=minutes)))


@st.composite
def events(draw: st.DrawFn) -> B2coreEvent:
    start = draw(instants())
    length = draw(st.one_of(st.just(0), st.integers(1, 40 * 86400)))
    end = (start.astimezone(UTC) + timedelta(seconds=length)).astimezone(
        draw(st.sampled_from([start.tzinfo, UTC, timezone(timedelta(hours=-3))]))
    )
    relative = st.integers(0, 30 * 86400).map(lambda s: timedelta(seconds=s))
    notifications: list[Any] = draw(st.lists(st.one_of(relative, relative, instants()), max_size=4))
    return B2coreEvent(
        id=str(draw(st.integers(1, 10**9))),
        caption=draw(captions),
        description=draw(st.one_of(st.none(), texts)),
        startDate=start,
        endDate=end,
        notifications=notifications,
        recipients=draw(st.lists(emails, max_size=4)),
    )


def through_a_feed(event: B2coreEvent, tz: ZoneInfo | None) -> Event:
    converted = to_vevents([event], tz=tz, organizer=ORGANIZER)[0]
    stamped = finalize_event(converted.component, Stamp(f"{event.id}@test", STAMP))
    feed = assemble(CalendarMeta(key="bo/events", name="B2CORE"), [stamped])
    assert validate_feed(feed) == []
    parsed: Event = Calendar.from_ical(feed).walk("VEVENT")[0]
    return parsed


@settings(max_examples=150, deadline=None)
@given(event=events(), zone=st.one_of(st.none(), st.sampled_from(ZONES)))
def test_every_event_survives_a_feed_and_back(event: B2coreEvent, zone: str | None) -> None:
    tz = ZoneInfo(zone) if zone else None
    back = from_vevent(through_a_feed(event, tz), tz=tz, organizer=ORGANIZER)
    assert back == event.model_copy(update={"id": None})
    # The same instants, whatever offsets spell them; nothing for a PATCH to send.
    assert back.changed_fields(event) == {}


@settings(max_examples=100, deadline=None)
@given(
    event=events(),
    part=st.sampled_from(
        [
            ("RRULE", {"FREQ": "WEEKLY"}, "RRULE (B2CORE events do not repeat"),
            ("RDATE", datetime(2030, 1, 1, 10, tzinfo=UTC), "RDATE (B2CORE events do not"),
            ("EXDATE", datetime(2030, 1, 1, 10, tzinfo=UTC), "EXDATE (B2CORE events do not"),
        ]
    ),
)
def test_recurrence_is_always_refused_by_name(
    event: B2coreEvent, part: tuple[str, Any, str]
) -> None:
    name, value, words = part
    component = to_vevents([event], tz=None, organizer=ORGANIZER)[0].component
    component.add(name, value)
    try:
        from_vevent(component, tz=None, organizer=ORGANIZER)
    except UnsupportedByTarget as exc:
        assert any(p.startswith(words) for p in exc.parts), exc.parts
    else:
        raise AssertionError(f"{name} was not refused")
