"""Windows of [[feeds]] at their edges, the daily move, and the size budget (issue 16)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Event
from support.feed_world import HQ, LEAVE, NOW, PARIS, Ev, World

from icsbridge.config.loader import load_settings
from icsbridge.converters.ical.assembly import RenderedEvent, Stamp, prepare, stamp_prepared
from icsbridge.daemon.cli.check import budget_lines
from icsbridge.daemon.feeds.sharing import Shaper, window_bounds
from icsbridge.daemon.web.health import health_report
from icsbridge.daemon.web.metrics import Metrics


def windowed(future: str, past: str = "0d") -> str:
    return (
        '[[feeds]]\nname = "soon"\ncalendars = ["hq/*"]\n'
        f'window = {{ past = "{past}", future = "{future}" }}\n'
    )


@pytest.fixture
def make(tmp_path: Path) -> Iterator[type[World]]:
    worlds: list[World] = []

    def build(feeds: str) -> World:
        folder = tmp_path / str(len(worlds))
        folder.mkdir()
        world = World(folder, feeds)
        worlds.append(world)
        return world

    yield build  # type: ignore[misc]
    for world in worlds:
        world.state.close()


def test_a_single_event_on_the_last_day_of_the_window_stays(make) -> None:  # type: ignore[no-untyped-def]
    # Today is 2 March; "5d" reaches to the end of 7 March (UTC): the Saturday desk of
    # 7 March (09:00-17:00 Paris) is inside, Alice's day on the 10th and Mid-Lent are not.
    world = make(windowed("5d"))
    world.sync("hq", HQ)
    assert world.summaries("soon") == {"Office hours", "Saturday desk"}


def test_a_single_event_just_past_the_window_is_left_out(make) -> None:  # type: ignore[no-untyped-def]
    world = make(windowed("4d"))
    world.sync("hq", HQ)
    assert world.summaries("soon") == {"Office hours"}
    assert world.store.get("soon").events == 1  # type: ignore[union-attr]


def test_the_window_moves_with_the_day_even_when_nothing_changed(make) -> None:  # type: ignore[no-untyped-def]
    world = make(windowed("5d"))
    world.sync("hq", HQ)
    same_day = world.sync("hq", HQ, NOW + timedelta(hours=10))
    assert "soon" not in same_day
    # Three days on: 2 March falls out behind, 10 March comes in ahead.
    assert "soon" in world.sync("hq", HQ, NOW + timedelta(days=3))
    assert world.summaries("soon") == {"Saturday desk", "Alice away"}
    world.all_valid()


def test_window_bounds_are_whole_utc_days() -> None:
    from icsbridge.config.sharing import WindowSettings

    window = WindowSettings(past=timedelta(days=1), future=timedelta(hours=1))
    start, end = window_bounds(window, datetime(2026, 3, 2, 23, 59, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC))


def rendered(uid: str, start: datetime, rule: dict[str, object] | None = None) -> RenderedEvent:
    event = Event()
    event.add("summary", uid)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(hours=8))
    if rule:
        event.add("rrule", rule)
    return stamp_prepared(prepare(event), Stamp(uid, NOW))


def test_a_recurring_event_stays_while_an_occurrence_falls_inside(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[[sources]]\nname = "hq"\nkind = "webex"\ninterval = "15m"\ntoken = "env:T"\n'
        'locations = "all"\n[[feeds]]\nname = "w"\ncalendars = ["hq/*"]\n'
        'window = { past = "7d", future = "30d" }\n'
    )
    (feed,) = load_settings(config).feeds
    old = datetime(2025, 1, 6, 22, tzinfo=PARIS)
    events = [
        rendered("forever", old, {"FREQ": "WEEKLY", "BYDAY": ["MO"]}),
        # Its last night began on Monday 23 February, the first day of "7d" of 2 March.
        rendered("ended", old, {"FREQ": "WEEKLY", "UNTIL": datetime(2026, 2, 24, 21, tzinfo=UTC)}),
        rendered(
            "ended before", old, {"FREQ": "WEEKLY", "UNTIL": datetime(2026, 2, 22, tzinfo=UTC)}
        ),
        rendered("long ago", old, {"FREQ": "DAILY", "COUNT": 3}),
        rendered("ahead", datetime(2026, 4, 1, 9, tzinfo=PARIS), {"FREQ": "DAILY"}),
        rendered("next month", datetime(2026, 4, 2, 9, tzinfo=PARIS)),
    ]
    kept = Shaper().in_window(feed, events, PARIS, NOW)
    assert [e.uid for e in kept] == ["forever", "ended", "ahead"]
    # The window is [23 February, 2 April) UTC: an event ending at its start is outside.
    edge = [rendered("edge", datetime(2026, 2, 22, 17, tzinfo=PARIS))]  # to 00:00 UTC
    assert Shaper().in_window(feed, edge, PARIS, NOW) == []
    inside = [rendered("inside", datetime(2026, 4, 1, 23, 59, tzinfo=UTC))]
    assert [e.uid for e in Shaper().in_window(feed, inside, PARIS, NOW)] == ["inside"]


BIG = "Long notes. " * 4_000  # about 48 KB per event


def test_a_feed_over_its_budget_is_named_with_a_window_that_fits(make, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    world = make('[[feeds]]\nname = "all"\ncalendars = ["hq/*"]\nmax_bytes = 200000\n')
    away = [Ev(f"al-{n}", f"Away {n}", 1 + (3 * n) % 28, BIG) for n in range(10)]
    world.sync("hq", {**HQ, LEAVE: away})
    over = world.store.over_budget()
    assert sorted(over) == ["all"]  # the calendar alone is under the default 1 MB
    fit = over["all"].fit
    assert fit is not None and fit.size <= 200_000
    line = world.store.warnings()["all"][0]
    assert line.startswith('feed "all" is ')
    assert line.endswith(
        "Google stops reading subscribed feeds near 1 MB (its max_bytes is 200,000); "
        f"{fit.text()} would bring it to {fit.size:,} bytes"
    )
    # The window named really brings it under once configured.
    past, future = f"{fit.past_days}d", f"{fit.future_days}d"
    again = make(
        '[[feeds]]\nname = "all"\ncalendars = ["hq/*"]\nmax_bytes = 200000\n'
        f'window = {{ past = "{past}", future = "{future}" }}\n'
    )
    again.sync("hq", {**HQ, LEAVE: away})
    assert again.store.over_budget() == {}
    assert len(again.store.get("all").data) == fit.size  # type: ignore[union-attr]

    _status, body = health_report({}, world.store, now=NOW)
    assert body["feeds"]["all"]["over_budget"] == {"max_bytes": 200_000, "window": fit.text()}
    assert body["feeds"][LEAVE]["over_budget"] is None
    metrics = Metrics()
    metrics.set_over_budget({n: (o.window, o.size) for n, o in over.items()})
    size = len(world.store.get("all").data)  # type: ignore[union-attr]
    assert (
        f'icsbridge_feed_over_budget_bytes{{feed="all",window="{_escaped(fit.text())}"}} {size}'
        in metrics.render()
    )
    lines = budget_lines(world.settings, NOW)
    assert line in lines
    assert f'feed "{LEAVE}": ' in "\n".join(lines)


def _escaped(text: str) -> str:
    return text.replace('"', '\\"')


def test_check_feeds_before_any_sync(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.state.close()
    world.settings.daemon.state.unlink()
    assert budget_lines(world.settings, NOW) == [
        "feeds: none published yet (they appear after the first sync)"
    ]
