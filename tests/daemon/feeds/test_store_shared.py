"""Two feed stores on one PostgreSQL state (two daemons): whichever syncs, both serve the
same bytes, ETag and Last-Modified for every feed, merged ones included, once the other
has caught up (``daemon.feeds.shared``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from support.feed_world import (
    BRANCH,
    BRANCH_OFFICE,
    FRENCH,
    HQ,
    LEAVE,
    OFFICE,
    SECOND,
    Ev,
    World,
    later,
    pulled,
)

from icsbridge.config.daemon.state import PostgresState
from icsbridge.daemon.cli.check import budget_lines
from icsbridge.daemon.feeds.files import strong_etag
from icsbridge.daemon.feeds.pieces import decode, encode
from icsbridge.daemon.sync.pull import render_pulled


@pytest.fixture
def two(tmp_path: Path, postgres_dsn: str) -> Iterator[tuple[World, World]]:
    worlds = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        worlds.append(World(tmp_path / name, state=PostgresState(postgres_dsn)))
    yield worlds[0], worlds[1]
    for world in worlds:
        world.state.close()


def validators(world: World) -> dict[str, tuple[bytes, str, object]]:
    served = world.served()
    return {n: (c.data, c.etag, c.last_modified) for n, c in served.items() if c is not None}


def test_a_merged_feed_spanning_sources_synced_apart_is_the_same_on_both(
    two: tuple[World, World],
) -> None:
    a, b = two
    a.sync("hq", HQ)
    # b assembles "support" and "holidays" from hq's pieces as a stored them.
    assert b.sync("branch", BRANCH, later(1)) == [
        *sorted(BRANCH),
        "support",
        "holidays",
    ]
    assert b.summaries("holidays") == {"Mid-Lent", "Alice away", "Bank holiday"}
    assert sorted(a.store.refresh()) == sorted([*BRANCH, "support", "holidays"])
    assert validators(a) == validators(b)
    assert len(validators(a)) == 9
    # Each serves its own copy of the files, the very bytes served.
    a.all_valid()
    b.all_valid()
    assert a.output != b.output


def test_the_same_bytes_keep_the_stored_last_modified(two: tuple[World, World]) -> None:
    a, b = two
    a.sync("hq", HQ)
    a.sync("branch", BRANCH, later(1))
    before = validators(a)
    # b's own first syncs, later: nothing changes, not even a date.
    assert b.sync("branch", BRANCH, later(10)) == []
    assert b.sync("hq", HQ, later(11)) == []
    assert validators(b) == before
    edited = {**HQ, OFFICE: [Ev("oh-1", "Office hours", 2)]}
    assert b.sync("hq", edited, later(20)) == [OFFICE, "support", "all-hq"]
    assert a.store.refresh() == ["all-hq", OFFICE, "support"]
    support = a.store.get("support")
    assert support is not None and support.last_modified == later(20).replace(microsecond=0)
    assert validators(a) == validators(b)
    # The calendar as CalDAV serves it, and what it was rendered from, follow too.
    assert a.store.rendered(OFFICE) == b.store.rendered(OFFICE)
    assert not a.store.rows_moved("hq", OFFICE)


def test_a_calendar_removed_by_one_is_removed_by_the_other(two: tuple[World, World]) -> None:
    a, b = two
    a.sync("hq", HQ)
    a.sync("branch", BRANCH, later(1))
    b.store.load_published()
    leave = b.store.get(LEAVE)
    assert leave is not None and leave.path.exists()
    without = {key: events for key, events in HQ.items() if key != LEAVE}
    assert a.sync("hq", without, later(5)) == [LEAVE, "holidays", "all-hq"]
    assert b.store.refresh() == ["all-hq", "holidays", LEAVE]
    assert b.store.get(LEAVE) is None
    assert not leave.path.exists()
    assert b.store.rendered(LEAVE) is None
    assert validators(a) == validators(b)


def test_a_restart_serves_from_the_state_before_any_sync(two: tuple[World, World]) -> None:
    a, b = two
    a.sync("hq", HQ)
    a.sync("branch", BRANCH, later(1))
    b.store.load_published()
    assert validators(b) == validators(a)
    support = b.store.get("support")
    assert support is not None and support.last_modified == later(1).replace(microsecond=0)
    assert support.last_modified != SECOND  # the date of branch's sync, as a stored it


def test_pieces_give_back_the_calendar_they_were_stored_from(two: tuple[World, World]) -> None:
    a, _b = two
    cal = render_pulled(pulled({FRENCH: HQ[FRENCH]}), "hq", a.state, now=later(0))[0]
    stored = encode(cal)
    assert decode(stored, strong_etag(cal.data)) == cal
    with pytest.raises(ValueError, match="do not give the bytes"):
        decode(stored, strong_etag(cal.data + b"x"))
    with pytest.raises(ValueError, match="unreadable"):
        decode(stored[:-3], strong_etag(cal.data))


def test_a_sqlite_state_stores_neither_bytes_nor_pieces(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.sync("hq", HQ)
    world.sync("branch", BRANCH, later(1))
    assert world.state.stored_feeds([OFFICE, BRANCH_OFFICE, "support"]) == {}
    assert world.state.piece_digests() == {}
    assert world.store.refresh() == []
    world.state.close()


def test_check_feeds_on_another_machine_reads_the_stored_bytes(
    two: tuple[World, World],
) -> None:
    a, b = two
    a.sync("hq", HQ)
    a.sync("branch", BRANCH, later(1))
    # b's output folder has no file yet: the records' bytes are what every daemon serves.
    assert not any(b.output.rglob("*.ics"))
    lines = budget_lines(b.settings, later(2))
    assert len(lines) == 9
    assert all(line.endswith(": OK") for line in lines), lines


def test_stored_bytes_that_do_not_match_their_etag_are_not_served(
    two: tuple[World, World], postgres_dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = two
    a.sync("hq", HQ)
    b.store.load_published()
    served = b.store.get(OFFICE)
    a.sync("hq", {**HQ, OFFICE: [Ev("oh-1", "Office hours", 2)]}, later(5))
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        admin.execute("UPDATE feeds SET data = %s WHERE name = %s", (b"damaged", OFFICE))
    assert OFFICE not in b.store.refresh()
    assert OFFICE not in b.store.refresh()
    assert b.store.get(OFFICE) == served  # kept as it was
    damaged = [r for r in caplog.records if "do not match its ETag" in r.getMessage()]
    assert len(damaged) == 1  # said once
