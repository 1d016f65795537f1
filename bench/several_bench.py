"""Several daemons on one PostgreSQL state (issue 17): parts (f) and (g) of the suite.

- ``scale``: 200 Webex sources (one person each, 2 schedules x 5 events) behind
  :mod:`bench.sim_server` with 20 ms added to every request, synced by one daemon and by
  three daemons sharing one database, rounds interleaved (1, 3, 1, 3, ...), a fresh
  database each time. Each daemon is a process of its own (``daemon`` below) running the
  daemon's own sync job (``Daemon._sync_job``: source lock, turn, pull, publish, record)
  for every source at once, as its scheduler does when every job fires together. Round
  one is each daemon's first sync of every source (never skipped: a daemon serves from
  what it rendered itself); then all daemons are told to go at the same moment with
  their clocks an hour on, and the figure is the wall time from that moment until every
  source is synced once by someone: with three, each source is taken by the first
  daemon to reach it and skipped by the others. Checked: 200 syncs in all, each source
  once.
- ``state``: the per-sync cost of the state, PostgreSQL vs SQLite: one daemon
  (``Daemon._sync_job``) syncs the bulk org of (a)/(b) (10,040 events, 408 calendars)
  from the recording of ``bench/sync_bench.py snapshot`` (no network, no simulator), on
  a SQLite file and on a PostgreSQL database of a throwaway cluster on a unix socket,
  interleaved: a cold sync (every row written), then re-syncs with 0% and 1% changed;
  the ratios are PostgreSQL/SQLite per kind (medians).

The cluster is the tests' (``tests/support/postgres.py``: ``initdb`` in a temporary
folder, a unix socket only, ``fsync=off``, as the postgres user when run as root).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.sim_server import sim_server
from bench.sync_bench import NOW

ROOT = Path(__file__).resolve().parent.parent


def _cluster() -> Any:
    sys.path.insert(0, str(ROOT / "tests"))
    from support.postgres import Cluster

    return Cluster()


def _sources_config(state: str, base_url: str, people: list[str], interval: str) -> str:
    text = f'[daemon]\nstate = "{state}"\noutput_dir = "feeds"\n\n'
    for number, person in enumerate(people):
        text += (
            f'[[sources]]\nname = "s{number:03d}"\nkind = "webex"\nbase_url = "{base_url}"\n'
            f'interval = "{interval}"\ntimezone = "UTC"\ntoken = "file:token"\n'
            f'people = ["{person}"]\n\n'
        )
    return text


class _Clock:
    """The wall clock moved on by ``offset``; with ``fixed``, that time plus ``offset``."""

    def __init__(self, fixed: datetime | None = None) -> None:
        self.fixed = fixed
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return (self.fixed or datetime.now(UTC)) + self.offset


async def daemon(args: argparse.Namespace) -> dict[str, Any]:
    """One daemon process of ``scale``: round one, a "ready" line, then on "go" (stdin)
    round two an hour later by its clock; prints what it synced and when it finished."""
    from icsbridge.daemon.service.daemon import Daemon
    from icsbridge.daemon.sources.pool import SourceClients
    from icsbridge.daemon.store.state import StateStore

    clock = _Clock()
    d = Daemon(Path(args.config), clock=clock)
    names = [s.name for s in d.settings.sources]
    with StateStore(d.settings.daemon.state) as state:
        d.open(state)
        start = time.perf_counter()
        await asyncio.gather(*(d._sync_job(n) for n in names))
        first = time.perf_counter() - start
        before = {n: d.health_by_source[n].last_success for n in names}
        # Round two opens fresh connections, as the one daemon does: a daemon that waited
        # for the others' first round would find its kept-alive ones closed by the server.
        await d.clients.aclose()
        d.clients = SourceClients()
        print(json.dumps({"ready": first}), flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        clock.offset = timedelta(hours=1)
        cpu = time.process_time()
        await asyncio.gather(*(d._sync_job(n) for n in names))
        done, cpu = time.time(), time.process_time() - cpu
        synced = [n for n in names if d.health_by_source[n].last_success != before[n]]
        failed = [n for n in names if d.health_by_source[n].last_error]
        await d.clients.aclose()
    return {"first_s": first, "done": done, "cpu_s": cpu, "synced": synced, "failed": failed}


def _round(cluster: Any, folder: Path, port: int, people: list[str], count: int) -> dict[str, Any]:
    """``count`` daemon processes on a fresh database: round two's wall time and split."""
    dsn = cluster.database()
    children, logs = [], []
    for number in range(count):
        here = folder / f"n{count}-{number}-{time.monotonic_ns()}"
        here.mkdir()
        (here / "token").write_text("demo-token")
        config = here / "config.toml"
        config.write_text(_sources_config(dsn, f"http://127.0.0.1:{port}/v1", people, "15m"))
        cmd = [sys.executable, "-m", "bench.several_bench", "daemon", "--config", str(config)]
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        with (here / "daemon.log").open("w") as log:  # its warnings (retries), counted after
            children.append(
                subprocess.Popen(
                    cmd,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                    cwd=ROOT,
                    env=env,
                )
            )
        logs.append(here / "daemon.log")
    firsts = []
    for child in children:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line:
            raise SystemExit("a bench daemon stopped before its first round")
        firsts.append(json.loads(line)["ready"])
    go = time.time()
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    results = []
    for child in children:
        out, _ = child.communicate(timeout=600)
        results.append(json.loads(out.strip().splitlines()[-1]))
    synced = [n for r in results for n in r["synced"]]
    failed = [n for r in results for n in r["failed"]]
    if failed or len(synced) != len(people) or len(set(synced)) != len(people):
        raise SystemExit(f"{count} daemons: {len(synced)} syncs, failed {failed[:5]}")
    return {
        "wall_s": max(r["done"] for r in results) - go,
        "first_s": max(firsts),
        "cpu_s": sum(r["cpu_s"] for r in results),
        "split": sorted((len(r["synced"]) for r in results), reverse=True),
        "retries": sum(log.read_text().count("retry in") for log in logs),
    }


async def scale(args: argparse.Namespace) -> dict[str, Any]:
    cluster = _cluster()
    try:
        with (
            sim_server(args.sources, 2, 5, args.latency) as (port, people),
            tempfile.TemporaryDirectory(prefix="icsbridge-several-") as folder,
        ):
            runs: dict[int, list[dict[str, Any]]] = {1: [], 3: []}
            for _ in range(args.rounds):
                for count in (1, 3):
                    runs[count].append(_round(cluster, Path(folder), port, people, count))
    finally:
        cluster.stop()
    one = [r["wall_s"] for r in runs[1]]
    three = [r["wall_s"] for r in runs[3]]
    return {
        "one_s": statistics.median(one),
        "three_s": statistics.median(three),
        "ratio": statistics.median(t / o for t, o in zip(three, one, strict=True)),
        "cpu_one_s": statistics.median(r["cpu_s"] for r in runs[1]),
        "cpu_three_s": statistics.median(r["cpu_s"] for r in runs[3]),
        "retries": sum(r["retries"] for rs in runs.values() for r in rs),
        "first_one_s": statistics.median(r["first_s"] for r in runs[1]),
        "first_three_s": statistics.median(r["first_s"] for r in runs[3]),
        "split": runs[3][-1]["split"],
        "sources": args.sources,
        "rounds": args.rounds,
    }


class _Rows:
    def __init__(self, rows: Any, timer: _Timer) -> None:
        self.rows, self.timer = rows, timer

    def fetchone(self) -> Any:
        return self.timer.run(self.rows.fetchone)

    def fetchall(self) -> Any:
        return self.timer.run(self.rows.fetchall)


class _Timer:
    """Times every call into one backend (``execute``, ``executemany``, ``begin``,
    ``commit``, ``rollback``) and every fetch of the rows it returns (SQLite steps
    through a result as it is fetched): the state's share of a sync, in ``spent``."""

    def __init__(self, db: Any) -> None:
        self.spent = 0.0
        for name in ("executemany", "begin", "commit", "rollback"):
            setattr(db, name, self._timed(getattr(db, name)))
        execute = db.execute
        db.execute = lambda *a: _Rows(self.run(lambda: execute(*a)), self)

    def run(self, call: Any) -> Any:
        start = time.perf_counter()
        try:
            return call()
        finally:
            self.spent += time.perf_counter() - start

    def _timed(self, method: Any) -> Any:
        return lambda *a: self.run(lambda: method(*a))


async def state(args: argparse.Namespace) -> dict[str, Any]:
    """The same daemon syncs on SQLite and on PostgreSQL, interleaved (module doc)."""
    from bench.replay import Replay
    from bench.sync_bench import config_text
    from icsbridge.daemon.service.daemon import Daemon
    from icsbridge.daemon.store.state import StateStore

    data: dict[str, Any] = pickle.loads(Path(args.snapshot).read_bytes())
    cluster = _cluster()
    times: dict[tuple[str, str], list[float]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="icsbridge-state-") as folder:
            daemons = {}
            replays = {}
            for backend in ("sqlite", "postgresql"):
                here = Path(folder) / backend
                here.mkdir()
                (here / "token").write_text("demo-token")
                text = config_text(data["people"])
                if backend == "postgresql":
                    text = text.replace('"state.sqlite"', f'"{cluster.database()}"')
                (here / "config.toml").write_text(text)
                replays[backend] = replay = Replay(data["base"])
                clock = _Clock(NOW)
                d = Daemon(here / "config.toml", clock=clock, transport_for=lambda _s, r=replay: r)
                d.open(StateStore(d.settings.daemon.state))
                daemons[backend] = (d, clock, _Timer(d.state._db))
            await _warm_up(Path(folder), data)
            current = "base"
            for turn, kind in enumerate(["cold"] + ["0%", "1%"] * args.reps):
                if kind == "1%":
                    current = "moved" if current == "base" else "base"
                order = list(daemons.items())
                for backend, (d, clock, timer) in order[:: 1 if turn % 2 else -1]:
                    replays[backend].answers = data[current]
                    clock.offset += timedelta(minutes=15)  # the source's interval
                    start, spent = time.perf_counter(), timer.spent
                    await d._sync_job("bench")
                    wall = time.perf_counter() - start
                    times.setdefault((backend, kind), []).append(wall)
                    times.setdefault((backend, kind + " state"), []).append(timer.spent - spent)
                    health = d.health_by_source["bench"]
                    if health.last_error or health.last_success != clock():
                        raise SystemExit(f"{backend} {kind}: {health.last_error or 'skipped'}")
            for d, _clock, _timer in daemons.values():
                await d.clients.aclose()
                d.state.close()
    finally:
        cluster.stop()
    out: dict[str, Any] = {"events": data["events"], "reps": args.reps}
    for kind in ("cold", "0%", "1%", "cold state", "0% state", "1% state"):
        sqlite = statistics.median(times["sqlite", kind])
        postgres = statistics.median(times["postgresql", kind])
        out[kind] = {"sqlite_s": sqlite, "postgresql_s": postgres, "ratio": postgres / sqlite}
    return out


async def _warm_up(folder: Path, data: dict[str, Any]) -> None:
    """One untimed sync on a throwaway SQLite state first: the process's own caches
    (zone scans, imports) are then warm for whichever backend goes first."""
    from bench.replay import Replay
    from bench.sync_bench import config_text
    from icsbridge.daemon.service.daemon import Daemon
    from icsbridge.daemon.store.state import StateStore

    here = folder / "warm-up"
    here.mkdir()
    (here / "token").write_text("demo-token")
    (here / "config.toml").write_text(config_text(data["people"]))
    replay = Replay(data["base"])
    d = Daemon(here / "config.toml", clock=_Clock(NOW), transport_for=lambda _s: replay)
    with StateStore(d.settings.daemon.state) as state:
        d.open(state)
        await d._sync_job("bench")
        await d.clients.aclose()


PARTS = {"daemon": daemon, "scale": scale, "state": state}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=sorted(PARTS))
    parser.add_argument("--config", help="daemon: its config file")
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--rounds", type=int, default=3, help="scale: (1, 3) pairs")
    parser.add_argument("--snapshot", help="state: the recording of sync_bench snapshot")
    parser.add_argument("--reps", type=int, default=3, help="state: re-syncs of each kind")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(PARTS[args.part](args))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
