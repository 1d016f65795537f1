"""Parts (a) and (b) of the suite: a full export and warm re-syncs of ~10,000 events.

The API is a *recording* of the bulk Webex simulator (:mod:`bench.replay`), made once per
run by ``snapshot``: every GET answer of a full sync, and the same after 1% of the events
changed (each renamed, as Control Hub does: a new name and a new event id). The timed
syncs are then icsbridge alone: httpx, JSON validation, conversion, identity in SQLite,
rendering and assembly (and for the export, the atomic file writes). The simulator's own
time is excluded, as a real API's server time would be; the simulator is not even in the
timed process (its objects would slow the garbage collector down for nothing).

- ``export``: ``icsbridge export`` (``daemon.cli.export.run_export``), fresh state and client.
- ``resync``: the daemon's path, ``pull_source`` with its ``SourceClients`` (pooled client,
  render cache, lean memo): one cold sync, then re-syncs alternating between the two
  recordings: 0% changed (the same answers again) and 1% changed (the other recording).
  Each figure is the median of ``--reps`` syncs in one process, so what a steady daemon
  pays (garbage collection included) is counted.

Each part prints one JSON line; ``python -m bench`` runs them in child processes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pickle
import pstats
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from icsbridge.daemon.simulators.webex import seed as webex_seed

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CHANGED = 0.01


def config_text(people: list[str], base_url: str = "https://webexapis.com/v1") -> str:
    quoted = ", ".join(f'"{p}"' for p in people)
    return (
        '[daemon]\nstate = "state.sqlite"\noutput_dir = "feeds"\n\n[[sources]]\n'
        f'name = "bench"\nkind = "webex"\nbase_url = "{base_url}"\ninterval = "15m"\n'
        f'timezone = "UTC"\ntoken = "file:token"\npeople = [{quoted}]\nlocations = "all"\n'
    )


def _settings(folder: Path, people: list[str]) -> Any:
    from icsbridge.config.loader import load_settings

    (folder / "token").write_text("demo-token")
    (folder / "config.toml").write_text(config_text(people))
    return load_settings(folder / "config.toml")


def change_events(sim: Any, fraction: float) -> int:
    """Rename every 1/fraction-th event of the org (spread over its schedules)."""
    owners = [*sim.people.values(), *sim.locations.values()]
    events = [ev for owner in owners for s in owner.schedules for ev in s.events.values()]
    picked = events[:: round(1 / fraction)]
    for event in picked:
        event["name"] = event["name"] + " (moved)"
    return len(picked)


async def snapshot(args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    from bench.replay import Recorder
    from icsbridge.daemon.simulators.webex.app import create_app
    from icsbridge.daemon.store.state import StateStore
    from icsbridge.daemon.sync.pull import pull_source

    sim = webex_seed.bulk_state(args.people, args.schedules, args.events)
    recorder = Recorder(httpx.ASGITransport(app=create_app(sim)))
    with tempfile.TemporaryDirectory() as folder:
        src = _settings(Path(folder), sorted(sim.people)).sources[0]
        with StateStore(Path(folder) / "state.sqlite") as state:
            first = await pull_source(src, state, now=NOW, settle=None, transport=recorder)
    base = await recorder.snapshot()
    changed = change_events(sim, CHANGED)
    moved = await recorder.snapshot()
    data = {
        "people": sorted(sim.people),
        "events": sum(len(c.events) for c in first),
        "calendars": len(first),
        "changed": changed,
        "base": base.answers,
        "moved": moved.answers,
    }
    Path(args.snapshot).write_bytes(pickle.dumps(data))
    return {"events": data["events"], "changed": changed, "requests": len(base.answers)}


def _load(path: str) -> dict[str, Any]:
    data: dict[str, Any] = pickle.loads(Path(path).read_bytes())
    return data


async def export(args: argparse.Namespace) -> dict[str, Any]:
    from bench.replay import Replay
    from icsbridge.daemon.cli.export import run_export

    data = _load(args.snapshot)
    replay = Replay(data["base"])
    with tempfile.TemporaryDirectory() as folder:
        settings = _settings(Path(folder), data["people"])
        start = time.perf_counter()
        report = await run_export(settings, now=NOW, transport_for=lambda _s: replay)
        wall = time.perf_counter() - start
    if report.failures:
        raise SystemExit(f"export failed: {report.failures}")
    return {"wall_s": wall, "events": report.events, "requests": replay.requests}


async def bare_gets(src: Any, urls: list[str], transport: Any = None) -> float:
    """Seconds for bare httpx, built with the daemon's client settings
    (:func:`~icsbridge.daemon.sources.pool.new_client`), to send every GET of ``urls``
    (``concurrency`` at a time, a bearer token, like the source) and decode each JSON
    body; nothing of ours runs. The floor both the re-sync and the network sync quote."""
    from icsbridge.daemon.sources.pool import new_client

    slots = asyncio.Semaphore(src.concurrency)
    headers = {"Authorization": "Bearer demo-token"}
    async with new_client(src, transport) as client:

        async def get(url: str) -> Any:
            async with slots:
                return json.loads((await client.get(url, headers=headers)).content)

        start = time.perf_counter()
        await asyncio.gather(*(get(url) for url in urls))
        return time.perf_counter() - start


async def http_floor(replay: Any, src: Any) -> float:
    """The HTTP floor of a re-sync: :func:`bare_gets` of every recorded GET, answered
    from the recording. Returns the seconds of one pass."""
    return await bare_gets(src, list(replay.answers), replay)


async def resync(args: argparse.Namespace) -> dict[str, Any]:
    from bench.replay import Replay
    from icsbridge.daemon.service.heap import HeapPolicy
    from icsbridge.daemon.sources.pool import SourceClients
    from icsbridge.daemon.store.state import StateStore
    from icsbridge.daemon.sync.pull import pull_source

    data = _load(args.snapshot)
    replay = Replay(data["base"])
    clients = SourceClients(lambda _s: replay)
    heap = HeapPolicy()  # the daemon's: settled after each sync, as its run loop does
    times: dict[str, list[float]] = {"0%": [], "1%": [], "floor": []}
    settles: list[float] = []
    # CPU seconds of the same passes: on a shared machine, the ratio that load on other
    # processes moves least (the wall ratio is the target's).
    cpus: dict[str, list[float]] = {"0%": [], "1%": [], "floor": []}
    with tempfile.TemporaryDirectory() as folder:
        src = _settings(Path(folder), data["people"]).sources[0]
        with StateStore(Path(folder) / "state.sqlite") as state:
            now = NOW

            async def sync(profile: Any = None) -> tuple[float, list[Any]]:
                start = time.perf_counter()
                if profile is not None:
                    profile.enable()
                out = await pull_source(src, state, now=now, settle=None, clients=clients)
                if profile is not None:
                    profile.disable()
                seconds = time.perf_counter() - start
                # What the daemon does after publishing (service/daemon.py _after_publish):
                # gc.freeze of what survived, a full collection first on the first settle
                # and hourly. Timed apart: it is not part of the sync's wait.
                start = time.perf_counter()
                heap.settle()
                settles.append(time.perf_counter() - start)
                return seconds, out

            profile = cProfile.Profile() if args.profile else None
            cold, out = await sync()
            current = "base"
            for _ in range(args.reps):
                for kind in ("floor", "0%", "1%"):
                    cpu = time.process_time()  # this process's CPU: what load elsewhere
                    if kind == "floor":  # interleaved with ours, in the same process
                        times[kind].append(await http_floor(Replay(data[current]), src))
                        cpus[kind].append(time.process_time() - cpu)
                        continue
                    now += timedelta(minutes=15)
                    if kind == "1%":
                        current = "moved" if current == "base" else "base"
                        replay.answers = data[current]
                    before = {c.meta.key: c.data for c in out}
                    seconds, out = await sync(profile if kind == args.profile else None)
                    times[kind].append(seconds)
                    cpus[kind].append(time.process_time() - cpu)  # (settle included: ~10 us)
                    if kind == "0%" and {c.meta.key: c.data for c in out} != before:
                        raise SystemExit("a re-sync with nothing changed changed the feeds")
    await clients.aclose()
    if profile is not None:  # to stderr: stdout is the JSON line
        if args.profile_out:
            profile.dump_stats(args.profile_out)
        else:
            pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(40)
    return {
        "cold_s": cold,
        "first_settle_s": settles[0],  # after the cold sync: the full collection
        "settle_s": statistics.median(settles[1:]),
        "zero_s": statistics.median(times["0%"]),
        "one_s": statistics.median(times["1%"]),
        "floor_s": statistics.median(times["floor"]),
        # each 0% re-sync over the floor measured just before it, then the median
        "zero_over_floor": statistics.median(
            z / f for z, f in zip(times["0%"], times["floor"], strict=True)
        ),
        "zero_cpu_over_floor": statistics.median(
            z / f for z, f in zip(cpus["0%"], cpus["floor"], strict=True)
        ),
        "one_extra_cpu_s": statistics.median(
            o - z for z, o in zip(cpus["0%"], cpus["1%"], strict=True)
        ),
        # what the changed 1% costs over the 0% re-sync just before it, then the median
        "one_extra_s": statistics.median(
            o - z for z, o in zip(times["0%"], times["1%"], strict=True)
        ),
        "events": data["events"],
        "changed": data["changed"],
        "requests_per_sync": replay.requests // (1 + 2 * args.reps),
    }


PARTS = {"snapshot": snapshot, "export": export, "resync": resync}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=sorted(PARTS))
    parser.add_argument("--snapshot", required=True, help="the recording's pickle file")
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--schedules", type=int, default=2)
    parser.add_argument("--events", type=int, default=25)
    parser.add_argument("--reps", type=int, default=5, help="re-syncs of each kind")
    parser.add_argument(
        "--profile",
        choices=["0%", "1%"],
        help="resync: cProfile those re-syncs (all reps), top functions to stderr",
    )
    parser.add_argument("--profile-out", help="with --profile: write the stats to this file")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(PARTS[args.part](args))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
