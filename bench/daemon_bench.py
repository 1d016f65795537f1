"""Parts (c) and (e) of the suite: a sync at the network limit, and the daemon's peak RSS.

Both run against :mod:`bench.sim_server`, the bulk Webex simulator served by uvicorn on
loopback in a process of its own (its CPU time is not ours).

- ``network``: one sync (``pull_source``, the daemon's pooled client, ``concurrency`` 8)
  of ``--people`` people with their schedules, the server adding ``--latency`` to every
  request. The requests actually sent are counted (an httpx event hook); the lower bound
  is requests x latency / concurrency.
- ``rss``: a real ``icsbridge run`` child syncs the org once (its /healthz turns 200) and
  holds the feeds; its peak RSS is its VmHWM, against the feeds' size on disk (every
  per-calendar ``.ics`` it wrote).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.sim_server import sim_server
from bench.sync_bench import NOW, bare_gets, config_text


async def network(args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    from icsbridge.config.loader import load_settings
    from icsbridge.daemon.sources.pool import SourceClients
    from icsbridge.daemon.store.state import StateStore
    from icsbridge.daemon.sync import pull
    from icsbridge.daemon.sync.pull import pull_source

    # Where the wall time goes: the render starts when the whole pull is done.
    render_s: list[float] = []
    render = pull.render_pulled_off_loop

    async def timed_render(*a: Any, **k: Any) -> Any:
        start = time.perf_counter()
        try:
            return await render(*a, **k)
        finally:
            render_s.append(time.perf_counter() - start)

    pull.render_pulled_off_loop = timed_render  # type: ignore[assignment]

    with (
        sim_server(args.people, args.schedules, args.events, args.latency) as (port, people),
        tempfile.TemporaryDirectory() as folder,
    ):
        (Path(folder) / "token").write_text("demo-token")
        config = Path(folder) / "config.toml"
        config.write_text(config_text(people, f"http://127.0.0.1:{port}/v1"))
        src = load_settings(config).sources[0]
        clients = SourceClients()
        sent = 0
        urls: list[str] = []

        async def count(request: httpx.Request) -> None:
            nonlocal sent
            sent += 1
            urls.append(str(request.url))

        clients.client(src).event_hooks["request"].append(count)
        with StateStore(Path(folder) / "state.sqlite") as state:
            start, cpu = time.perf_counter(), time.process_time()
            out = await pull_source(src, state, now=NOW, settle=None, clients=clients)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        await clients.aclose()
        floor = await http_floor(urls, src)
    bound = sent * args.latency / src.concurrency
    return {
        "wall_s": wall,
        "bound_s": bound,
        "requests": sent,
        "cpu_s": cpu,  # the client's (this process's) CPU during the sync
        "render_s": sum(render_s),  # of the wall time, after the last answer
        "floor_s": floor,
        "concurrency": src.concurrency,
        "events": sum(len(c.events) for c in out),
        "calendars": len(out),
    }


async def http_floor(urls: list[str], src: Any) -> float:
    """The same GETs from bare httpx on the same server (the daemon's client settings,
    ``concurrency`` at a time, a bearer token, each JSON body decoded), nothing of
    ours: what this machine, httpx and the simulator allow at this latency. Seconds."""
    return await bare_gets(src, urls)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _vm(pid: int, field: str) -> int:
    """A VmXXX line of /proc/<pid>/status, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise SystemExit(f"no {field} for process {pid}")


async def rss(args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    with (
        sim_server(args.people, args.schedules, args.events) as (port, people),
        tempfile.TemporaryDirectory() as folder,
    ):
        listen = f"127.0.0.1:{_free_port()}"
        (Path(folder) / "token").write_text("demo-token")
        config = Path(folder) / "config.toml"
        text = config_text(people, f"http://127.0.0.1:{port}/v1")
        config.write_text(text.replace("[daemon]\n", f'[daemon]\nlisten = "{listen}"\n', 1))
        icsbridge = Path(sys.executable).with_name("icsbridge")
        child = subprocess.Popen(
            [str(icsbridge), "run", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"},
        )
        try:
            start = time.perf_counter()
            async with httpx.AsyncClient() as client:
                while True:
                    if child.poll() is not None:
                        err = child.stderr.read().decode() if child.stderr else ""
                        raise SystemExit(f"icsbridge run stopped: {err[-2000:]}")
                    try:
                        health = await client.get(f"http://{listen}/healthz")
                        if health.status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.perf_counter() - start > args.timeout:
                        raise SystemExit("icsbridge run did not finish its first sync in time")
                    await asyncio.sleep(0.5)
            synced = time.perf_counter() - start
            peak, now_rss = _vm(child.pid, "VmHWM"), _vm(child.pid, "VmRSS")
        finally:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        files = list((Path(folder) / "feeds").rglob("*.ics"))
        feed_bytes = sum(f.stat().st_size for f in files)
    return {
        "peak_rss": peak,
        "rss": now_rss,
        "feed_bytes": feed_bytes,
        "feeds": len(files),
        "first_sync_s": synced,
    }


PARTS = {"network": network, "rss": rss}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=sorted(PARTS))
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--schedules", type=int, default=2)
    parser.add_argument("--events", type=int, default=25)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(PARTS[args.part](args))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
