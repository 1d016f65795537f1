"""A throwaway PostgreSQL cluster for the tests: one per session, one database per test.

Debian's server binaries (``scripts/install-test-deps.sh`` installs them; nothing is
skipped when they are missing, the test command installs them). The cluster lives in a
temporary folder owned by the postgres user, listens on a unix socket in that folder
only (no TCP port), trusts local connections, and syncs nothing to disk: ``initdb`` and
``pg_ctl`` run through ``runuser -u postgres`` when the tests run as root (initdb refuses
root), as the user itself otherwise. Nothing is written to /etc.

Test databases use a language collation (ICU ``en-US``) as their default, so a key
column that forgot ``COLLATE "C"`` sorts differently from Python and a test sees it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from itertools import count
from pathlib import Path

import psycopg

_PORT = 5432  # names the socket file only: no TCP is opened


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if not found:
        raise RuntimeError(
            "PostgreSQL server binaries not found under /usr/lib/postgresql: run "
            "scripts/install-test-deps.sh (scripts/test.sh does)"
        )
    return Path(found[-1]).parent


def _version_key(path: str) -> int:
    return int(Path(path).parent.parent.name.split(".")[0])


class Cluster:
    """One running cluster; :meth:`database` makes a fresh database and gives its state."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="icsbridge-pg-"))
        self.data = self.root / "data"
        self.socket_dir = str(self.root)
        self._names = count(1)
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "--no-sync", "-U", "postgres",
            "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        options = f"-k {self.root} -c listen_addresses='' -c fsync=off -p {_PORT}"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-o", options,
            "start",
        )  # fmt: skip
        self.admin = psycopg.connect(self.dsn("postgres"), autocommit=True)

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self._as, str(self.bin / tool), *args], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stderr.strip() or done.stdout.strip()}")

    def dsn(self, database: str) -> str:
        return f"postgresql:///{database}?host={self.socket_dir}&port={_PORT}&user=postgres"

    def database(self) -> str:
        """A new empty database (language collation by default): its DSN."""
        name = f"t{next(self._names)}"
        self.admin.execute(
            f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
        )
        return self.dsn(name)

    def stop(self) -> None:
        self.admin.close()
        # immediate: waits for the postmaster's exit (its pid file gone), not for kill -0.
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
