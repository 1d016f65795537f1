"""Whether a path can hold the state file, found by looking only (nothing is created,
opened for writing or locked), so ``icsbridge check`` can ask while a daemon runs on it.
Looking includes SQLite's own ``quick_check`` of an existing file, read-only, so a damaged
state (truncated, overwritten in part) is one line at start, not a traceback later.

``StateStore`` asks the same question before it opens the file: ``check`` and ``run``
refuse a state path with the same line.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from icsbridge.daemon.store.errors import damaged_line

# The first 100 bytes of a SQLite file: a magic string, and PRAGMA user_version (our
# schema version) as a 4-byte big-endian integer at offset 60.
_HEADER_SIZE = 100
_MAGIC = b"SQLite format 3\x00"
_USER_VERSION = slice(60, 64)


def not_sqlite_line(path: Path, reason: str) -> str:
    return (
        f"state file {path}: cannot be used as a SQLite database ({reason}); "
        "move it aside and run again to start a fresh state"
    )


def newer_schema_line(path: Path, version: int, understood: int) -> str:
    return (
        f"state file {path}: schema version {version} is newer than this "
        f"icsbridge understands ({understood}); upgrade icsbridge"
    )


def state_path_problem(path: Path, schema_version: int) -> str | None:
    """Why ``path`` cannot be the state file of an icsbridge whose schema is
    ``schema_version``; None when it can (an absent file in a folder that can hold it is
    fine: it is created)."""
    if path.is_dir():
        return (
            f"state file {path}: is a folder; give a file path in [daemon].state "
            f'(e.g. "{path / "state.sqlite"}")'
        )
    if not path.exists():
        return _folder_problem(path)
    if not os.access(path, os.R_OK | os.W_OK):
        return f"state file {path}: not readable and writable by this user; check its permissions"
    # SQLite in WAL mode writes <state>-wal and -shm beside the file.
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return (
            f"state file {path}: its folder {path.parent} is not writable by this user "
            "(SQLite writes journal files beside the state); check its permissions"
        )
    try:
        with path.open("rb") as file:
            header = file.read(_HEADER_SIZE)
    except OSError as exc:
        return f"state file {path}: {exc.strerror}; check [daemon].state and permissions"
    if not header:
        return None  # created empty by a run that stopped before SQLite wrote into it
    if len(header) < _HEADER_SIZE or not header.startswith(_MAGIC):
        return not_sqlite_line(path, "file is not a database")
    version = int.from_bytes(header[_USER_VERSION], "big")
    if version > schema_version:
        return newer_schema_line(path, version, schema_version)
    return _damage(path)


def _damage(path: Path) -> str | None:
    """SQLite's ``quick_check`` of the state at ``path``, read-only: the damaged line, or
    None. With a ``-wal`` beside it (a daemon has it open, or stopped without closing it)
    it is read as SQLite readers do, with its locks; otherwise as an immutable file, which
    creates no ``-wal`` or ``-shm`` file beside it."""
    wal = path.with_name(f"{path.name}-wal")
    mode = "mode=ro" if wal.exists() else "immutable=1"
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True, timeout=2)
        try:
            found = [str(row[0]) for row in db.execute("PRAGMA quick_check(1)").fetchall()]
        finally:
            db.close()
    except sqlite3.Error as exc:
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return None  # a daemon is writing it: it reads, so it is not damaged
        return damaged_line(path, str(exc))
    if found == ["ok"]:
        return None
    lines = [line for text in found for line in text.splitlines() if not line.startswith("***")]
    first = lines[0] if lines else found[0]
    return damaged_line(path, f"database disk image is malformed: {first}")


def _folder_problem(path: Path) -> str | None:
    """Why the absent ``path`` cannot be created: its nearest existing folder."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"state file {path}: {folder} is a file, not a folder; check [daemon].state"
    if not os.access(folder, os.W_OK | os.X_OK):
        return (
            f"state file {path}: cannot be created: {folder} is not writable by this user; "
            "check [daemon].state and permissions"
        )
    return None
