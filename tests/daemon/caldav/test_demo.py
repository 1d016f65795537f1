"""`icsbridge demo` serves CalDAV with a demo user and says how to try it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from support.loopback import WAIT


def test_the_demo_prints_the_caldav_url_user_password_and_a_command(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "icsbridge.daemon.cli", "demo", "--dir", str(tmp_path), "--once"],
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert done.returncode == 0, done.stderr
    url = re.search(r"CalDAV for calendar apps: (http://127\.0\.0\.1:\d+/dav/)\n", done.stdout)
    assert url, done.stdout
    assert "  user demo, password demo-dav-password\n" in done.stdout
    assert f"curl -u demo:demo-dav-password -X PROPFIND -H 'Depth: 1' {url[1]}demo/" in done.stdout
    assert 'caldav.DAVClient("' + url[1] in done.stdout
    config = (tmp_path / "config.toml").read_text()
    assert '[caldav]\npath = "/dav/"' in config
    assert 'password = "file:demo-dav-password"' in config  # a reference, as always
