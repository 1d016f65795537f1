"""One daemon per state file: an ``flock`` on ``<state>.lock``, held while it runs.

Two daemons on one state both wrote it (a client's UID was replaced under concurrent
PUTs). The lock is separate from the per-source push locks (``<state>.push-<source>.lock``,
``daemon.push.journal``), so ``icsbridge push`` still runs beside a daemon. The kernel
drops the lock when the process dies; the file stays (removing it would let a third
process lock a new file while a second still holds the old one).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from icsbridge.config.daemon.state import StateLocation
from icsbridge.daemon.store.state import StateError, state_problem


class StateInUse(StateError):
    """Another process holds the state file's daemon lock."""


def lock_path(state: Path) -> Path:
    return state.with_name(f"{state.name}.lock")


@contextmanager
def daemon_lock(state: StateLocation) -> Iterator[None]:
    """Hold ``<state>.lock`` for the ``with`` block, or raise :class:`StateInUse` at once.

    The holder's pid is written into the file, so the refusal can name it. A PostgreSQL
    state takes no such lock: several daemons share it, one sync per source at a time
    (``daemon.store.advisory``).
    """
    if not isinstance(state, Path):
        yield
        return
    problem = state_problem(state)
    if problem is not None:  # said as check says it, not as the lock file's error
        raise StateError(problem)
    path = lock_path(state)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise StateError(
            f"state file {state}: cannot open its lock {path.name}: {exc.strerror}; "
            "check [daemon].state and permissions"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            pid = f" (pid {holder})" if holder.isdigit() else ""
            raise StateInUse(
                f"state file {state} is in use by another icsbridge run{pid}; "
                "stop that one, or give this one its own [daemon].state"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
