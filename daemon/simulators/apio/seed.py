"""Data for the APIO simulator: the demo tenant (apio/demo.json), a bulk builder, and
the hooks ``icsbridge demo`` needs to point a source at a running simulator.

Demo hooks (for daemon/cli/demo.py):

- ``demo_state()`` builds the state; ``create_app(state)`` serves it;
- :func:`demo_source` gives the ``[[sources]]`` TOML block of source ``apio-demo``; its
  credentials are ``file:`` references, so the demo must also write
  :func:`demo_secret_files` (file name -> contents) next to its config file, mode 0600.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from typing import Any

from icsbridge.daemon.simulators.apio.state import (
    DEMO_PASSWORD,
    DEMO_PROXY,
    DEMO_USERNAME,
    ApioSimState,
)

DEMO_FILE = "demo.json"
DEMO_SOURCE_NAME = "apio-demo"
DEMO_TENANT = "foo"
DEMO_GROUPS = ("foogroup", "bargroup")
DEMO_ZONE = "Europe/Brussels"
DEMO_USERNAME_FILE = "apio-demo-username"
DEMO_PASSWORD_FILE = "apio-demo-password"
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def read_demo() -> dict[str, Any]:
    text = (
        resources.files("icsbridge.daemon.simulators.apio").joinpath(DEMO_FILE).read_text("utf-8")
    )
    data: dict[str, Any] = json.loads(text)
    return data


def load_demo(state: ApioSimState, data: dict[str, Any] | None = None) -> None:
    """Add the seed's tenants, groups and schedules to ``state``."""
    for tenant in (data or read_demo())["tenants"]:
        _add(state, tenant["id"], None, tenant.get("schedules", {}))
        for group in tenant.get("groups", []):
            state.add_group(tenant["id"], group["id"])
            _add(state, tenant["id"], group["id"], group.get("schedules", {}))


def _add(state: ApioSimState, tenant: str, group: str | None, stores: dict[str, Any]) -> None:
    for store, schedules in stores.items():
        for schedule in schedules:
            state.add_schedule(tenant, group, store, schedule["name"], schedule["periods"])


def demo_source(base_url: str) -> str:
    """The ``[[sources]]`` TOML block of the demo tenant served at ``base_url``.

    ``base_url`` is either the simulator's root (``http://127.0.0.1:8123``: the APIO Core
    proxy ``/api/v01/demo`` is used, with JWT login) or a full API prefix ending in
    ``/api/v1`` (gateway session login) or ``/api/v01/demo`` (Core). The username and
    password are ``file:`` references: write :func:`demo_secret_files` beside the config.
    """
    url = base_url.rstrip("/")
    if "/api/v1" not in url and "/api/v01/" not in url:
        url = f"{url}/api/v01/{DEMO_PROXY}"
    groups = ", ".join(f'"{g}"' for g in DEMO_GROUPS)
    return (
        "[[sources]]\n"
        f'name = "{DEMO_SOURCE_NAME}"\n'
        'kind = "apio"\n'
        f'base_url = "{url}"\n'
        'interval = "15m"\n'
        f'timezone = "{DEMO_ZONE}"\n'
        f'tenant = "{DEMO_TENANT}"\n'
        f"groups = [{groups}]\n"
        'families = ["time", "holiday", "advanced"]\n'
        "all_levels = true\n"
        f'username = "file:{DEMO_USERNAME_FILE}"\n'
        f'password = "file:{DEMO_PASSWORD_FILE}"\n'
    )


def demo_secret_files() -> dict[str, str]:
    """The files :func:`demo_source` refers to (relative to the config file) and their text."""
    return {DEMO_USERNAME_FILE: f"{DEMO_USERNAME}\n", DEMO_PASSWORD_FILE: f"{DEMO_PASSWORD}\n"}


def fill_bulk(
    state: ApioSimState, tenant: str, groups: int, schedules_per_group: int, periods: int
) -> None:
    """A deterministic tenant for benchmarks: ``groups`` groups, each with time schedules of
    ``periods`` weekly periods and one holiday schedule of ``periods`` full days."""
    for g in range(groups):
        group = f"group-{g:03d}"
        for s in range(schedules_per_group):
            time_periods = [
                {
                    "name": f"Period {k:04d}",
                    "type": "Day of the week",
                    "dayOfWeek": _DAYS[k % 7],
                    "startTime": f"{7 + k % 4}:00",
                    "stopTime": f"{12 + k % 6}:30",
                    "active": k % 11 != 10,
                }
                for k in range(periods)
            ]
            state.add_schedule(tenant, group, "time_schedules", f"Hours {s:03d}", time_periods)
        days = [
            {
                "name": f"Closed {k:04d}",
                "type": "Full days",
                "startDay": f"{2026 + k // 300}-{1 + k // 25 % 12:02d}-{1 + k % 25:02d}",
                "stopDay": f"{2026 + k // 300}-{1 + k // 25 % 12:02d}-{1 + k % 25:02d}",
            }
            for k in range(periods)
        ]
        state.add_schedule(tenant, group, "calendar_schedules", "Holidays", days)


def demo_state(now: Callable[[], datetime] | None = None) -> ApioSimState:
    """The demo tenant from apio/demo.json, with the demo user and machine token."""
    state = ApioSimState(now=now)
    load_demo(state)
    state.add_demo_credentials()
    return state


def bulk_state(
    groups: int,
    schedules_per_group: int,
    periods: int,
    now: Callable[[], datetime] | None = None,
) -> ApioSimState:
    """A deterministic large tenant "bench" (same credentials as the demo)."""
    state = ApioSimState(now=now)
    fill_bulk(state, "bench", groups, schedules_per_group, periods)
    state.add_demo_credentials()
    return state
