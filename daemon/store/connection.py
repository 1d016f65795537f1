"""The state's SQLite connection, with SQLite's failures said as the store's errors.

Every statement the store runs, and every row it fetches (SQLite reads pages as rows are
stepped, so a damaged page can fail a ``fetchall``), goes through :class:`StateConnection`,
which raises :class:`~icsbridge.daemon.store.errors.StateFull` or
:class:`~icsbridge.daemon.store.errors.StateUnavailable` (see
:func:`~icsbridge.daemon.store.errors.state_failure`) instead of a bare
``sqlite3.Error``: the one place where SQLite's errors are classified.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from icsbridge.daemon.store.errors import state_failure


@contextmanager
def said_as_state(path: Path) -> Iterator[None]:
    """Raise SQLite's and the OS's state failures inside as the store's errors."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        failure = state_failure(exc, path)
        if failure is None:
            raise
        raise failure from exc


class StateCursor(sqlite3.Cursor):
    """A cursor of a :class:`StateConnection` (see the module doc)."""

    def _path(self) -> Path:
        connection = self.connection
        assert isinstance(connection, StateConnection)
        return connection.state_path

    def execute(self, sql: str, parameters: Any = (), /) -> StateCursor:
        with said_as_state(self._path()):
            super().execute(sql, parameters)
        return self

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any], /) -> StateCursor:
        with said_as_state(self._path()):
            super().executemany(sql, seq_of_parameters)
        return self

    def fetchone(self) -> Any:
        with said_as_state(self._path()):
            return super().fetchone()

    def fetchall(self) -> list[Any]:
        with said_as_state(self._path()):
            return super().fetchall()


class StateConnection(sqlite3.Connection):
    """A connection whose statements raise the store's errors (see the module doc).
    Open it with :func:`connect`."""

    state_path: Path

    def execute(self, sql: str, parameters: Any = (), /) -> StateCursor:
        return self.cursor(StateCursor).execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> StateCursor:
        return self.cursor(StateCursor).executemany(sql, parameters)


def connect(path: Path, *, timeout: float) -> StateConnection:
    """The state at ``path`` opened in autocommit mode (the store runs its own BEGIN)."""
    with said_as_state(path):
        db = sqlite3.connect(path, timeout=timeout, isolation_level=None, factory=StateConnection)
    db.state_path = path
    return db
