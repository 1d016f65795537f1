"""What goes wrong with the state while icsbridge runs, as the errors every backend raises.

A full disk or a damaged, locked or unreadable state is not a bug: each is one line
saying what is wrong and what to do, raised as :class:`StateFull` (nothing more can be
saved until there is room) or :class:`StateUnavailable` (the state cannot be read or
saved now). The web layer answers them 507 and 503 with Retry-After, a sync that meets
one says it in health and keeps serving its last good feeds, and the CLI prints the
line. Whatever the store was doing is rolled back whole (its transactions are
all-or-nothing), so nothing is half-saved; a push journal entry that could not be
marked done stays pending, and the next sync settles it by looking at the API.

:func:`state_failure` classifies SQLite's and the OS's errors; another backend raises
the same two types with its own reasons.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from icsbridge.config.errors import IcsbridgeError


class StateError(IcsbridgeError):
    """The state file cannot be opened or is from a newer icsbridge."""


class StateUnavailable(StateError):
    """The state cannot be read or saved now (damaged, locked, an I/O error); what was
    being saved is rolled back. ``retry_after``: seconds after which trying again may help."""

    retry_after: int = 60

    def __init__(self, line: str, *, retry_after: int | None = None) -> None:
        super().__init__(line)
        if retry_after is not None:
            self.retry_after = retry_after


class StateFull(StateUnavailable):
    """The state's disk (or its size limit) is full: nothing more is saved until there is
    room; what was being saved is rolled back."""


_FULL = {sqlite3.SQLITE_FULL}
_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_DAMAGED = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
_UNREADABLE = {
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_PERM,
    sqlite3.SQLITE_PROTOCOL,
    sqlite3.SQLITE_NOMEM,
}
_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


def full_line(path: Path, detail: str) -> str:
    return f"state file {path}: cannot save, the disk is full ({detail}); free space on it"


def damaged_line(path: Path, detail: str) -> str:
    """What to do with a state SQLite says is damaged; it holds the feed URLs' tokens
    and the events' UIDs, so it is moved aside, not deleted."""
    return (
        f"state file {path}: damaged ({detail}); stop icsbridge and move the file aside "
        "(it holds the feed URL tokens and event UIDs: keep it, `sqlite3 <file> .recover` "
        "may save them); the next start begins a fresh state with new feed URLs"
    )


def state_failure(exc: BaseException, path: Path) -> StateUnavailable | None:
    """``exc`` (from SQLite or the OS, met while reading or saving the state at ``path``)
    as the error to raise, or None when it is none of these (a bug: let it through)."""
    if isinstance(exc, StateUnavailable):
        return exc
    if isinstance(exc, OSError):
        detail = exc.strerror or str(exc)
        if exc.errno in _DISK_FULL_ERRNOS:
            return StateFull(full_line(path, detail))
        return StateUnavailable(
            f"state file {path}: cannot be read or saved ({detail}); check the file and its disk"
        )
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return None
    primary = code & 0xFF  # extended codes (SQLITE_IOERR_WRITE, ...) carry it in the low byte
    detail = str(exc)
    if primary in _FULL:
        return StateFull(full_line(path, detail))
    if primary in _BUSY:
        return StateUnavailable(
            f"state file {path}: locked by another process ({detail}); try again shortly",
            retry_after=5,
        )
    if primary in _DAMAGED:
        return StateUnavailable(damaged_line(path, detail))
    if primary in _UNREADABLE:
        return StateUnavailable(
            f"state file {path}: cannot be read or saved ({detail}); check the file and its disk"
        )
    return None
