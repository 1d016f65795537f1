"""Atomic file replacement: readers see the old file or the new one, never a torn one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes, mode: int = 0o644, *, sync_dir: bool = True) -> None:
    """Replace ``path`` with ``data`` through a temp file in the same folder + rename.

    The data is fsynced before the rename and the folder after it, so a crash leaves
    either the previous content or the new one. A caller writing many files in one
    folder may pass ``sync_dir=False`` and call :func:`sync_dirs` once at the end.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if sync_dir:
        _fsync_dir(path.parent)


def sync_dirs(folders: set[Path]) -> None:
    """Make the renames done in ``folders`` durable (one fsync per folder)."""
    for folder in sorted(folders):
        _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a directory; the rename is still atomic
    finally:
        os.close(fd)
