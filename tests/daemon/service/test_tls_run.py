"""`icsbridge run` with ``[daemon].tls_certificate`` / ``tls_key`` as a real process:
READY comes after the HTTPS socket serves, a SIGHUP after a renewal (new files at the
same paths, as a renewal hook leaves them) serves the new certificate without a restart,
and a renewal that is not a pair is refused with the old certificate serving on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from support.daemon_process import Notifications
from support.loopback import WAIT, ServedApp
from support.tls import TestCa, served_common_name

from icsbridge.daemon.cli.demo import free_port
from icsbridge.daemon.simulators.webex import seed as webex_seed
from icsbridge.daemon.simulators.webex.app import create_app


def _served_name(url: str, ca: TestCa) -> str:
    with httpx.Client(verify=ca.client_context(), timeout=WAIT, trust_env=False) as client:
        answer = client.get(url)
        assert set(answer.json()) >= {"status", "sources", "feeds"}
        return served_common_name(answer.extensions["network_stream"])


def test_icsbridge_run_serves_https_and_a_reload_renews_the_certificate(tmp_path: Path) -> None:
    ca = TestCa(tmp_path)
    first = ca.issue("first")
    port = free_port()
    sim = webex_seed.demo_state()
    simulator = ServedApp(create_app(sim))
    people = ", ".join(f'"{p}"' for p in sorted(sim.people))
    config = tmp_path / "config.toml"
    config.write_text(
        f'[daemon]\nstate = "state.sqlite"\noutput_dir = "feeds"\nlisten = "127.0.0.1:{port}"\n'
        f'tls_certificate = "{first.certificate.name}"\ntls_key = "{first.key.name}"\n\n'
        '[[sources]]\nname = "hq"\nkind = "webex"\ninterval = "1h"\n'
        f'base_url = "http://127.0.0.1:{simulator.port}/v1"\ntimezone = "Europe/Paris"\n'
        f'token = "env:ICSBRIDGE_TEST_WEBEX_TOKEN"\npeople = [{people}]\nlocations = "all"\n'
    )
    notes = Notifications(tmp_path / "notify")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_PROXY")}
    env |= {"NOTIFY_SOCKET": str(tmp_path / "notify"), "ICSBRIDGE_TEST_WEBEX_TOKEN": "demo-token"}
    log = (tmp_path / "daemon.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "icsbridge.daemon.cli", "run", "--config", str(config)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"https://127.0.0.1:{port}/healthz"
    try:
        notes.wait_for(r"^READY=1")
        assert _served_name(url, ca) == "first"
        notes.wait_for(r"STATUS=sync hq ok")  # no sync in flight across the reloads

        renewed = ca.issue("renewed")
        os.replace(renewed.certificate, first.certificate)  # same paths, new contents
        os.replace(renewed.key, first.key)
        proc.send_signal(signal.SIGHUP)
        notes.wait_for(r"^RELOADING=1")
        assert "STATUS=reloaded: 1 sources" in notes.wait_for(r"^READY=1")
        assert _served_name(url, ca) == "renewed"

        # Half a renewal (a certificate whose key is not there yet): refused, old one serves.
        os.replace(ca.issue("half").certificate, first.certificate)
        proc.send_signal(signal.SIGHUP)
        notes.wait_for(r"^RELOADING=1")
        ready = notes.wait_for(r"^READY=1")
        assert "reload refused, the old config stays: TLS key" in ready
        assert "is not the key of" in ready
        assert _served_name(url, ca) == "renewed"

        proc.send_signal(signal.SIGTERM)
        notes.wait_for(r"^STOPPING=1")
        assert proc.wait(timeout=WAIT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=WAIT)
        log.close()
        notes.sock.close()
        simulator.stop()
    assert "Traceback" not in (tmp_path / "daemon.log").read_text()
