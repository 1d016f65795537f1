"""The systemd units: hardening score, the settings the daemon relies on, and unit syntax.

These run Debian's `systemd-analyze` offline (no running systemd needed). A machine
without it fails here on purpose: scripts/install-test-deps.sh installs it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from support.paths import REPO

from icsbridge.daemon.web.limits import ServerLimits

UNITS = REPO / "systemd"
SERVICE = UNITS / "icsbridge.service"
EXPORT_SERVICE = UNITS / "icsbridge-export.service"
EXPORT_TIMER = UNITS / "icsbridge-export.timer"
POSTGRESQL_DROP_IN = UNITS / "icsbridge-postgresql.conf"
MAX_EXPOSURE = 2.0
OVERALL = re.compile(r"Overall exposure level for (\S+): (\d+\.\d+)")
# The one thing `verify` may report here: the program is not installed on the test machine.
NOT_INSTALLED = re.compile(
    r"^icsbridge(-export)?\.service: Command /usr/bin/icsbridge is not executable: .*$"
)

Unit = dict[str, dict[str, list[str]]]


def _systemd_analyze(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("systemd-analyze")
    if exe is None:
        pytest.fail(
            "systemd-analyze not found: run scripts/install-test-deps.sh "
            "(installs Debian's systemd package)",
            pytrace=False,
        )
    return subprocess.run(
        [exe, *args], capture_output=True, text=True, timeout=60, check=False, cwd=UNITS
    )


def _parse_unit(path: Path) -> Unit:
    """Sections -> key -> every value in order (systemd allows a key several times)."""
    unit: Unit = {}
    section: dict[str, list[str]] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = unit.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not a KEY=value line: {raw!r}"
        section.setdefault(key.strip(), []).append(value.strip())
    return unit


@pytest.mark.parametrize("unit", [SERVICE, EXPORT_SERVICE], ids=lambda p: p.name)
def test_security_exposure_is_at_most_2(unit: Path) -> None:
    result = _systemd_analyze("security", "--offline=yes", "--threshold=20", str(unit))
    match = OVERALL.search(result.stdout)
    assert match, f"no overall exposure line in:\n{result.stdout}\n{result.stderr}"
    assert match.group(1) == unit.name
    exposure = float(match.group(2))
    assert exposure <= MAX_EXPOSURE, f"{unit.name}: exposure {exposure}\n{result.stdout}"
    assert result.returncode == 0, result.stderr  # --threshold=20 agrees


def test_service_settings_the_daemon_relies_on() -> None:
    service = _parse_unit(SERVICE)["Service"]
    one = {key: values[-1] for key, values in service.items()}
    assert one["Type"] == "notify"
    assert one["NotifyAccess"] == "main"
    assert one["ExecStart"] == (
        "/usr/bin/icsbridge run --config ${CONFIGURATION_DIRECTORY}/config.toml"
    )
    assert one["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert one["Restart"] == "on-failure"
    assert re.fullmatch(r"\d+s", one["WatchdogSec"]) and 10 <= int(one["WatchdogSec"][:-1]) <= 300
    assert one["DynamicUser"] == "yes"
    assert one["StateDirectory"] == "icsbridge"
    assert one["ConfigurationDirectory"] == "icsbridge"
    assert one["MemoryDenyWriteExecute"] == "yes"
    # The feed server binds TCP, sources call HTTPS, sd_notify needs AF_UNIX.
    assert set(one["RestrictAddressFamilies"].split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}
    assert service.get("PrivateNetwork", ["no"])[-1] == "no"
    assert service.get("IPAddressDeny", []) == []


def test_the_unit_leaves_files_beyond_the_feed_servers_sockets_and_bounds_memory() -> None:
    # 1,100 idle connections took the default 1024 descriptors: syncs failed with "Too
    # many open files". The feed server now keeps at most max_sockets; the unit must
    # leave at least as many again for everything else.
    one = {key: values[-1] for key, values in _parse_unit(SERVICE)["Service"].items()}
    assert int(one["LimitNOFILE"]) >= 2 * ServerLimits().max_sockets
    match = re.fullmatch(r"(\d+)([MG])", one["MemoryMax"])
    assert match, one["MemoryMax"]
    megabytes = int(match.group(1)) * (1024 if match.group(2) == "G" else 1)
    assert 512 <= megabytes <= 4096


def test_service_shows_how_to_load_credentials() -> None:
    text = SERVICE.read_text(encoding="utf-8")
    assert "credential:NAME" in text
    assert re.search(r"^# LoadCredential=[a-z-]+:/etc/icsbridge/credentials/", text, re.M)


def test_export_timer_runs_the_export_service() -> None:
    export = _parse_unit(EXPORT_SERVICE)["Service"]
    assert export["Type"] == ["oneshot"]
    assert export["ExecStart"][-1].startswith("/usr/bin/icsbridge export --config ")
    timer = _parse_unit(EXPORT_TIMER)
    # A timer with no Unit= starts the service of the same name.
    assert "Unit" not in timer["Timer"]
    assert EXPORT_TIMER.with_suffix(".service") == EXPORT_SERVICE


def _verify_problems(*units: Path) -> list[str]:
    result = _systemd_analyze("verify", "--man=no", *map(str, units))
    output = (result.stdout + result.stderr).splitlines()
    return [line for line in output if line.strip() and not NOT_INSTALLED.match(line)]


def test_units_pass_systemd_analyze_verify() -> None:
    assert _verify_problems(SERVICE, EXPORT_SERVICE, EXPORT_TIMER) == []


def test_the_postgresql_drop_in_verifies_and_keeps_the_exposure(tmp_path: Path) -> None:
    """The service with the drop-in applied (its sections appended, as systemd merges
    them): it still verifies, is still rated <= 2.0, and loads the database password."""
    merged = tmp_path / "icsbridge.service"
    drop_in = POSTGRESQL_DROP_IN.read_text(encoding="utf-8")
    merged.write_text(SERVICE.read_text(encoding="utf-8") + drop_in, encoding="utf-8")
    assert _verify_problems(merged) == []
    result = _systemd_analyze("security", "--offline=yes", "--threshold=20", str(merged))
    match = OVERALL.search(result.stdout)
    assert match and float(match.group(2)) <= MAX_EXPOSURE, result.stdout
    service = _parse_unit(merged)["Service"]
    assert "icsbridge-db:/etc/icsbridge/credentials/icsbridge-db" in service["LoadCredential"]
    assert 'state_password = "credential:icsbridge-db"' in drop_in
    assert "postgresql.service" in _parse_unit(merged)["Unit"]["After"]


def test_verify_reports_a_broken_unit(tmp_path: Path) -> None:
    # Proves the filter above lets real problems through.
    broken = tmp_path / "icsbridge.service"
    text = SERVICE.read_text(encoding="utf-8").replace("Restart=on-failure", "Restart=sometimes")
    broken.write_text(text + "NoSuchSetting=1\n", encoding="utf-8")
    problems = _verify_problems(broken)
    assert any("Failed to parse service restart specifier" in line for line in problems)
    assert any("Unknown key 'NoSuchSetting'" in line for line in problems)
