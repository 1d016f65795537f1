"""A full disk, a lock held elsewhere and a damaged file are the store's errors, one line
each, and roll back whole (issue 19, item 9: every PUT answered 500 "please report it",
and a restart on a damaged state died with a traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.broken_state import PAGE, fill, good_state, held, overwritten, rows, truncated, unfill

from icsbridge.daemon.store.errors import StateFull, StateUnavailable
from icsbridge.daemon.store.state import StateError, StateStore


def test_a_write_on_a_full_disk_is_state_full_and_saves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with StateStore(path) as state:
        with state.transaction():
            state.replace_items("hq", "hq/cal", rows(3))
        fill(state)
        with pytest.raises(StateFull) as err, state.transaction():
            state.replace_items("hq", "hq/cal", rows(500))
        assert str(err.value) == (
            f"state file {path}: cannot save, the disk is full (database or disk is full); "
            "free space on it"
        )
        assert [r.uid for r in state.items("hq", "hq/cal")] == ["u0@x", "u1@x", "u2@x"]
        unfill(state)  # room again: the store goes on, no transaction left open
        with state.transaction():
            state.replace_items("hq", "hq/cal", rows(500))
        assert len(state.items("hq", "hq/cal")) == 500


def test_a_state_locked_by_another_process_is_unavailable_for_a_few_seconds(
    tmp_path: Path,
) -> None:
    with StateStore(tmp_path / "state.sqlite") as state, held(state):
        with pytest.raises(StateUnavailable) as err, state.transaction():
            state.replace_items("hq", "hq/cal", rows(1))
        assert not isinstance(err.value, StateFull)
        assert err.value.retry_after == 5
        assert "locked by another process (database is locked); try again shortly" in str(err.value)


def test_a_page_damaged_under_a_running_store_is_unavailable_not_a_traceback(
    tmp_path: Path,
) -> None:
    path = good_state(tmp_path / "state.sqlite")
    with StateStore(path) as state:
        with path.open("r+b") as file:  # the items' pages, not read by this connection yet
            file.seek(2 * PAGE)
            file.write(b"\xff" * 3 * PAGE)
        with pytest.raises(StateUnavailable) as err:
            state.items("hq", "hq/cal")
    assert str(err.value).startswith(
        f"state file {path}: damaged (database disk image is malformed); stop icsbridge and "
        "move the file aside (it holds the feed URL tokens and event UIDs"
    )


@pytest.mark.parametrize("damage", [truncated, overwritten])
def test_a_damaged_state_is_one_line_at_open(damage: object, tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    damage(path)  # type: ignore[operator]
    with pytest.raises(StateError) as err:
        StateStore(path)
    line = str(err.value)
    assert "\n" not in line
    assert line.startswith(f"state file {path}: damaged (database disk image is malformed")
    assert line.endswith("the next start begins a fresh state with new feed URLs")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.sqlite"]  # looked at only
