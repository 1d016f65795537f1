"""States that cannot be saved or read, made with SQLite itself (issue 19, item 9).

- :func:`fill`: the state's disk is "full": ``PRAGMA max_page_count`` at the pages it
  has, so SQLite itself answers the next write that needs a page with SQLITE_FULL
  ("database or disk is full"), as on a full disk, with no root mount;
- :func:`held`: another process's write lock (``BEGIN EXCLUSIVE``), with the store's busy
  timeout at 0, so the store meets SQLITE_BUSY at once instead of after 30 s;
- :func:`truncated` and :func:`overwritten`: a real state cut short, or with pages
  overwritten, as a crash of a disk or a careless copy leaves one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from icsbridge.daemon.store.state import ItemRow, StateStore

PAGE = 4096


def fill(state: StateStore) -> None:
    """No page more for ``state`` (see the module doc); :func:`unfill` makes room again."""
    pages = state._db.execute("PRAGMA page_count").fetchone()[0]
    state._db.execute(f"PRAGMA max_page_count = {pages}")


def unfill(state: StateStore) -> None:
    state._db.execute("PRAGMA max_page_count = 1073741823")


@contextmanager
def held(state: StateStore) -> Iterator[None]:
    """Another connection holds the write lock of ``state``'s file for the block."""
    state._db.execute("PRAGMA busy_timeout = 0")
    other = sqlite3.connect(state.path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()
        state._db.execute("PRAGMA busy_timeout = 30000")


def rows(count: int, calendar: str = "hq/cal") -> list[ItemRow]:
    """``count`` items, each with a long hint, so they take many pages."""
    when = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    return [
        ItemRow(f"u{i}@x", "hq", calendar, f"k{i}", "h" * 200, f"c{i}", when, 0)
        for i in range(count)
    ]


def good_state(path: Path, count: int = 500) -> Path:
    """A state at ``path`` with ``count`` items, checkpointed into the one file."""
    with StateStore(path) as state:
        with state.transaction():
            state.replace_items("hq", "hq/cal", rows(count))
        state._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def truncated(path: Path) -> Path:
    """A real state cut after two pages (its header still says SQLite)."""
    good_state(path)
    with path.open("r+b") as file:
        file.truncate(2 * PAGE)
    return path


def overwritten(path: Path) -> Path:
    """A real state whose pages 3 to 5 (its tables' pages) are overwritten with 0xff."""
    good_state(path)
    with path.open("r+b") as file:
        file.seek(2 * PAGE)
        file.write(b"\xff" * 3 * PAGE)
    return path
