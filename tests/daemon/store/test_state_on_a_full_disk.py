"""A state on a really full filesystem (issue 19, item 9): the kernel's ENOSPC, through
SQLite's WAL, is :class:`StateFull` in one line, rolls back whole, and the store goes on
once there is room.

``support.broken_state.fill`` makes SQLite's own "database or disk is full" with a page
limit, but a page limit never stops the WAL from growing, which a full disk does. So this
one test mounts a 1 MiB tmpfs in a mount namespace of its own (``unshare``: nothing is
mounted for anyone else, and the kernel drops it with the process), in a subprocess.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import os, subprocess, sys
    from datetime import UTC, datetime
    from pathlib import Path

    sys.path.insert(0, sys.argv[2])
    from support.broken_state import rows
    from icsbridge.daemon.store.errors import StateFull
    from icsbridge.daemon.store.state import StateStore

    mnt = Path(sys.argv[1])
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], check=True)
    with StateStore(mnt / "state.sqlite") as state:
        with state.transaction():
            state.replace_items("hq", "hq/cal", rows(3))
        filler = mnt / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)  # the rest of the disk
        try:
            while True:
                os.write(fd, b"x" * 4096)
        except OSError as exc:
            assert exc.errno == 28, exc
        os.close(fd)
        try:
            with state.transaction():
                state.replace_items("hq", "hq/cal", rows(400))
        except StateFull as exc:
            print(exc)
        else:
            raise AssertionError("a write on a full disk went through")
        print(len(state.items("hq", "hq/cal")))
        filler.unlink()  # room again: no transaction was left open
        with state.transaction():
            state.replace_items("hq", "hq/cal", rows(400))
        print(len(state.items("hq", "hq/cal")))
    """
)


def test_a_state_on_a_full_filesystem_is_state_full_and_saves_nothing(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1) to mount a small filesystem of our own")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    support = Path(__file__).resolve().parents[2]  # tests/, where support/ is
    run = subprocess.run(
        [unshare, "-rm", sys.executable, "-c", SCRIPT, str(mnt), str(support)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if run.returncode != 0 and "unshare failed" in run.stderr:
        pytest.skip(f"no mount namespace here: {run.stderr.strip()}")
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        f"state file {mnt / 'state.sqlite'}: cannot save, the disk is full (database or disk "
        "is full); free space on it",
        "3",
        "400",
    ]
