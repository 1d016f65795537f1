"""`icsbridge run` as a real process: loopback HTTP both ways, signals, sd_notify.

The Webex simulator is served by uvicorn in a thread of the test; the daemon runs as a
subprocess with NOTIFY_SOCKET pointing at a datagram socket the test reads. The test
waits on those notifications (READY, STATUS after each sync, RELOADING, STOPPING)
instead of sleeping or polling.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from icalendar import Calendar
from support.daemon_process import Notifications
from support.loopback import WAIT, ServedApp

from icsbridge.daemon.cli.demo import free_port
from icsbridge.daemon.simulators.webex import seed as webex_seed
from icsbridge.daemon.simulators.webex.app import WebexSimState, create_app


class SimulatorThread(ServedApp):
    """The Webex simulator on a loopback port, served from its own thread and loop."""

    def __init__(self, sim: WebexSimState) -> None:
        self.sim = sim
        super().__init__(create_app(sim))


def _config(folder: Path, sim_port: int, listen_port: int, sim: WebexSimState) -> Path:
    (folder / "token").write_text("demo-token\n")
    people = ", ".join(f'"{p}"' for p in sorted(sim.people))
    path = folder / "config.toml"
    path.write_text(
        f'[daemon]\nstate = "state.sqlite"\noutput_dir = "feeds"\n'
        f'listen = "127.0.0.1:{listen_port}"\npublic_url = "http://127.0.0.1:{listen_port}"\n\n'
        f'[[sources]]\nname = "hq"\nkind = "webex"\n'
        f'base_url = "http://127.0.0.1:{sim_port}/v1"\ninterval = "1h"\n'
        f'timezone = "Europe/Paris"\ntoken = "file:token"\npeople = [{people}]\n'
        f'locations = "all"\n\n'
        f'[[feeds]]\nname = "holidays"\ncalendars = ["hq/*/holidays/*"]\n'
    )
    return path


def _feed_urls(config: Path) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-m", "icsbridge.daemon.cli", "feeds", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=True,
    ).stdout.splitlines()
    return {out[i]: out[i + 1].strip() for i in range(0, len(out), 3)}


def _summaries(data: bytes) -> dict[str, str]:
    return {str(e["SUMMARY"]): str(e["UID"]) for e in Calendar.from_ical(data).walk("VEVENT")}


@pytest.fixture
def simulator() -> Iterator[SimulatorThread]:
    thread = SimulatorThread(webex_seed.demo_state())
    yield thread
    thread.stop()


def test_icsbridge_run_serves_syncs_reloads_and_stops(
    tmp_path: Path, simulator: SimulatorThread
) -> None:
    config = _config(tmp_path, simulator.port, free_port(), simulator.sim)
    notes = Notifications(tmp_path / "notify")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_PROXY")}
    env["NOTIFY_SOCKET"] = str(tmp_path / "notify")
    log = (tmp_path / "daemon.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "icsbridge.daemon.cli", "run", "--config", str(config)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        notes.wait_for(r"^READY=1")
        notes.wait_for(r"STATUS=sync hq ok: 11 calendars")
        urls = _feed_urls(config)
        assert "holidays" in urls and len(urls) == 12
        with httpx.Client(timeout=WAIT) as http:
            first = http.get(urls["holidays"])
            assert first.status_code == 200
            assert first.headers["content-type"] == "text/calendar; charset=utf-8"
            before = _summaries(first.content)
            assert "Fete du Travail 2025" in before
            assert http.get(urls["holidays"].replace("/feeds/", "/feeds/x")).status_code == 404
            assert (
                http.get(
                    f"http://127.0.0.1:{urls['holidays'].split(':')[2].split('/')[0]}/healthz"
                ).json()["status"]
                == "ok"
            )

            # An admin renames a holiday in Control Hub; SIGUSR1 syncs now.
            paris = next(i for i, loc in simulator.sim.locations.items() if loc.name == "Paris HQ")
            simulator.call(
                lambda: simulator.sim.rename_event(
                    paris, "holidays", "French Holidays", "Fete du Travail 2025", "Labour Day 2025"
                )
            )
            proc.send_signal(signal.SIGUSR1)
            notes.wait_for(r"STATUS=sync hq ok: .* [1-9]\d* feeds changed")
            second = http.get(urls["holidays"])
            assert second.headers["etag"] != first.headers["etag"]
            after = _summaries(second.content)
            assert "Fete du Travail 2025" not in after
            assert (
                after["Labour Day 2025"] == before["Fete du Travail 2025"]
            )  # the UID survived the rename
            cached = http.get(urls["holidays"], headers={"If-None-Match": second.headers["etag"]})
            assert cached.status_code == 304
            assert cached.headers["etag"] == second.headers["etag"]

            # A new merged feed in the config; SIGHUP applies it, served feeds stay up.
            with config.open("a") as fh:
                fh.write('\n[[feeds]]\nname = "paris"\ncalendars = ["hq/locations/Paris HQ/*"]\n')
            proc.send_signal(signal.SIGHUP)
            notes.wait_for(r"^RELOADING=1")
            notes.wait_for(r"^READY=1")
            assert http.get(urls["holidays"]).status_code == 200
            paris_url = _feed_urls(config)["paris"]
            assert "Office Hours" in http.get(paris_url).text

        proc.send_signal(signal.SIGTERM)
        notes.wait_for(r"^STOPPING=1")
        assert proc.wait(timeout=WAIT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=WAIT)
        log.close()
        notes.sock.close()
    assert "Traceback" not in (tmp_path / "daemon.log").read_text()


def test_a_taken_port_is_one_line_and_status_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        sim = webex_seed.demo_state()
        config = _config(tmp_path, 9, port, sim)
        proc = subprocess.run(
            [sys.executable, "-m", "icsbridge.daemon.cli", "run", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=WAIT,
        )
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"icsbridge: cannot listen on 127.0.0.1:{port}: ")
    assert line.endswith("change [daemon].listen or stop what uses that port")
