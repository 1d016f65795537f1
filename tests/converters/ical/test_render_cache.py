"""The render cache returns exactly what prepare() would, whatever changed in between."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Event

from icsbridge.converters.ical.assembly import Stamp, assemble, prepare, stamp_prepared
from icsbridge.converters.ical.model import CalendarMeta, ConvertedEvent
from icsbridge.converters.ical.render_cache import RenderCache, fingerprint

META = CalendarMeta(key="t/cal", name="Test", refresh_seconds=900)
ZONES = ["Europe/Paris", "America/New_York", "UTC"]


@st.composite
def events(draw: st.DrawFn) -> Event:
    ev = Event()
    ev.add("summary", draw(st.sampled_from(["Open", "Closed", "Lunch", "Ferié"])))
    day = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 60)))
    if draw(st.booleans()):
        ev.add("dtstart", day)
        ev.add("dtend", day + timedelta(days=1))
    else:
        tz = ZoneInfo(draw(st.sampled_from(ZONES)))
        start = datetime(day.year, day.month, day.day, draw(st.integers(0, 3)), tzinfo=tz)
        ev.add("dtstart", start)
        ev.add("dtend", start + timedelta(hours=1))
        if draw(st.booleans()):
            ev.add("rrule", {"freq": "weekly", "until": start.astimezone(UTC) + timedelta(days=30)})
    if draw(st.booleans()):
        ev.add("description", draw(st.sampled_from(["", "a", "a, b"])))
    return ev


def _full(components: list[Event]) -> list[ConvertedEvent]:
    """Events as a source without a memo hands them over: full, with components."""
    return [ConvertedEvent(f"k{i}", c, "") for i, c in enumerate(components)]


def _bytes(prepared: list[object]) -> bytes:
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    rendered = [stamp_prepared(p, Stamp(f"{i}@t", stamp)) for i, p in enumerate(prepared)]  # type: ignore[arg-type]
    return assemble(META, rendered)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(events(), max_size=8), min_size=1, max_size=4), st.randoms())
def test_every_sync_gives_what_a_full_render_gives(syncs: list[list[Event]], rnd: object) -> None:
    """Edits, deletions, additions and reorderings between syncs: same as no cache."""
    cache = RenderCache()
    for evs in syncs:
        evs = list(evs)
        rnd.shuffle(evs)  # type: ignore[attr-defined]
        cached = cache.prepare_all(META.key, _full(evs))
        assert cached == [prepare(e) for e in evs]
        assert _bytes(cached) == _bytes([prepare(e) for e in evs])


def test_an_unchanged_sync_renders_nothing_and_a_change_renders_one() -> None:
    tz = ZoneInfo("Europe/Paris")
    evs = []
    for i in range(10):
        ev = Event()
        ev.add("summary", f"Event {i}")
        ev.add("dtstart", datetime(2026, 1, 1 + i, 9, tzinfo=tz))
        evs.append(ev)
    cache = RenderCache()
    cache.prepare_all("c", _full(evs))
    assert (cache.hits, cache.misses) == (0, 10)
    again = [Event(ev) for ev in evs]  # new objects, same content (a new pull)
    cache.prepare_all("c", _full(again))
    assert (cache.hits, cache.misses) == (10, 10)
    again[3] = Event(again[3])  # a pull makes new objects: a changed event is one
    again[3]["SUMMARY"] = "Renamed"
    assert cache.prepare_all("c", _full(again))[3] == prepare(again[3])
    assert (cache.hits, cache.misses) == (19, 11)
    cache.prepare_all("c", _full(again))  # the same content again: all found
    assert (cache.hits, cache.misses) == (29, 11)


def test_the_same_wall_time_in_two_zones_is_two_entries() -> None:
    """Equal instants compare equal in Python but render differently: never confused."""
    paris = Event()
    paris.add("dtstart", datetime(2026, 1, 1, 10, tzinfo=ZoneInfo("Europe/Paris")))
    utc = Event()
    utc.add("dtstart", datetime(2026, 1, 1, 9, tzinfo=UTC))
    assert paris["DTSTART"].dt == utc["DTSTART"].dt
    assert fingerprint(paris) != fingerprint(utc)
    cache = RenderCache()
    assert cache.prepare_all("c", _full([paris, utc])) == [prepare(paris), prepare(utc)]


def test_memory_follows_the_latest_sync() -> None:
    evs = [Event({"SUMMARY": f"e{i}"}) for i in range(5)]
    cache = RenderCache()
    cache.prepare_all("a", _full(evs))
    cache.prepare_all("b", _full(evs[:2]))
    assert len(cache) == 7
    cache.prepare_all("a", _full(evs[:1]))  # four events deleted upstream
    assert len(cache) == 3
    cache.retain(["b"])  # calendar "a" is gone
    assert len(cache) == 2
