"""The prepare-once path gives exactly the bytes of finalize_event + assemble."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from icalendar import Event

from icsbridge.converters.ical.assembly import (
    Stamp,
    assemble,
    content_hash,
    finalize_event,
    prepare,
    published_hash,
    stamp_prepared,
)
from icsbridge.converters.ical.model import CalendarMeta
from icsbridge.converters.ical.text import component_lines

META = CalendarMeta(key="t/cal", name="Test", refresh_seconds=900)
ZONES = ["Europe/Paris", "America/New_York", "Asia/Kolkata"]


@st.composite
def events(draw: st.DrawFn) -> Event:
    ev = Event()
    ev.add("summary", draw(st.text(min_size=1, max_size=40).filter(str.strip)))
    day = date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 900)))
    if draw(st.booleans()):
        ev.add("dtstart", day)
        ev.add("dtend", day + timedelta(days=draw(st.integers(1, 5))))
    else:
        tz = ZoneInfo(draw(st.sampled_from(ZONES)))
        start = datetime(day.year, day.month, day.day, draw(st.integers(0, 22)), tzinfo=tz)
        ev.add("dtstart", start)
        ev.add("dtend", start + timedelta(minutes=draw(st.integers(15, 600))))
        if draw(st.booleans()):
            until = (start + timedelta(days=draw(st.integers(7, 400)))).astimezone(UTC)
            ev.add("rrule", {"freq": "weekly", "until": until})
    if draw(st.booleans()):
        ev.add("description", draw(st.text(max_size=200)))
    ev.add("categories", ["Business hours", draw(st.text(min_size=1, max_size=10))])
    return ev


@given(st.lists(events(), max_size=6), st.integers(0, 3))
def test_prepared_path_gives_the_same_bytes_and_hash(evs: list[Event], seq: int) -> None:
    stamps = [
        Stamp(uid=f"{i}@t", modified=datetime(2026, 1, 1, tzinfo=UTC), sequence=seq)
        for i in range(len(evs))
    ]
    classic = assemble(META, [finalize_event(e, s) for e, s in zip(evs, stamps, strict=True)])
    prepared = [prepare(e) for e in evs]
    fast = assemble(META, [stamp_prepared(p, s) for p, s in zip(prepared, stamps, strict=True)])
    assert fast == classic
    assert [p.content_hash for p in prepared] == [content_hash(e) for e in evs]


def test_normalising_leaves_the_callers_component_alone() -> None:
    ev = Event()
    ev.add("summary", "Weekly")
    ev.add("dtstart", datetime(2026, 1, 5, 9, tzinfo=ZoneInfo("Europe/Paris")))
    ev.add(
        "rrule",
        {"freq": "weekly", "until": datetime(2026, 3, 1, 9, tzinfo=ZoneInfo("Europe/Paris"))},
    )
    ev.add("description", "")
    before = ev.to_ical()
    prepare(ev)
    finalize_event(ev, Stamp(uid="u@t", modified=datetime(2026, 1, 1, tzinfo=UTC)))
    assert ev.to_ical() == before


def test_a_vtodo_takes_the_prepared_path_to_the_same_bytes() -> None:
    from icalendar import Todo

    todo = Todo()
    todo.add("summary", "Deliver the translation")
    todo.add("dtstart", datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("Europe/Paris")))
    todo.add("due", datetime(2026, 3, 6, 17, tzinfo=ZoneInfo("Europe/Paris")))
    todo.add("status", "IN-PROCESS")
    stamp = Stamp(uid="job-1@t", modified=datetime(2026, 1, 1, tzinfo=UTC), sequence=2)
    classic = assemble(META, [finalize_event(todo, stamp)])
    fast = assemble(META, [stamp_prepared(prepare(todo), stamp)])
    assert fast == classic
    assert b"BEGIN:VTODO\r\nUID:job-1@t\r\nDTSTAMP:" in fast


@given(events(), st.text(min_size=1, max_size=90).filter(str.strip), st.integers(0, 3))
def test_the_kept_bytes_give_back_the_published_lines(ev: Event, uid: str, seq: int) -> None:
    """Only folded bytes are kept per event: unfolding them must give exactly the lines a
    full render publishes (long UIDs and descriptions fold; text may be non-ASCII), and
    the published hash is the hash of those lines."""
    stamp = Stamp(uid=uid, modified=datetime(2026, 1, 1, tzinfo=UTC), sequence=seq)
    lines = tuple(component_lines(finalize_event(ev, stamp)))
    rendered = stamp_prepared(prepare(ev), stamp)
    assert rendered.lines == lines
    assert published_hash(rendered) == hashlib.sha256("\r\n".join(lines).encode()).hexdigest()
