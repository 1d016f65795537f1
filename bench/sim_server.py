"""A bulk Webex simulator served by uvicorn on loopback, in a process of its own.

The network and memory parts of the suite sync against it over real HTTP, so the
simulator's CPU time is not charged to the process under test. It prints one JSON line
(port, people ids) once it listens, then serves until SIGTERM.

python -m bench.sim_server --people 1000 --schedules 2 --events 25 --latency 0.02
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from icsbridge.daemon.simulators.webex import seed as webex_seed


async def _serve(args: argparse.Namespace) -> None:
    from icsbridge.daemon.cli.demo import serve_on_loopback
    from icsbridge.daemon.simulators.webex.app import create_app

    sim = webex_seed.bulk_state(args.people, args.schedules, args.events)
    sim.requests = _Counted()  # type: ignore[assignment]  # keep a count, not every request
    server, task, port = await serve_on_loopback(create_app(sim, latency=args.latency))
    print(json.dumps({"port": port, "people": sorted(sim.people)}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.should_exit = True
    await task


class _Counted(list[Any]):
    """The simulator's request log, reduced to a count (a bulk run would hold 100,000s)."""

    count = 0

    def append(self, item: Any) -> None:
        self.count += 1


@contextmanager
def sim_server(
    people: int, schedules: int, events: int, latency: float = 0.0
) -> Iterator[tuple[int, list[str]]]:
    """Start the server in a child process; yields (port, person ids); stops it after."""
    cmd = [sys.executable, "-m", "bench.sim_server", "--people", str(people)]
    cmd += ["--schedules", str(schedules), "--events", str(events), "--latency", str(latency)]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line:
            raise SystemExit("the simulator server did not start")
        info = json.loads(line)
        yield int(info["port"]), list(info["people"])
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--schedules", type=int, default=2)
    parser.add_argument("--events", type=int, default=25)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    asyncio.run(_serve(parser.parse_args()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
