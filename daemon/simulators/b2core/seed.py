"""B2CORE simulator data: the demo back office, a deterministic bulk one, and the demo's
config for ``icsbridge demo``.

For the lead's demo (daemon/cli/demo.py)::

    from icsbridge.daemon.simulators.b2core.app import create_app
    from icsbridge.daemon.simulators.b2core.seed import demo_secret_files, demo_source
    from icsbridge.daemon.simulators.b2core.state import B2coreSimState

    app = create_app(demo_state())          # events placed around today (UTC)
    ... serve app on loopback, base_url = "http://127.0.0.1:<port>" (no path) ...
    for name, text in demo_secret_files().items():   # next to config.toml
        (folder / name).write_text(text)
    config_text += demo_source(base_url)             # the [[sources]] block

The demo's window is computed from the real clock when the daemon runs, so the demo data
is built around the same "today" (pass ``today`` to pin it in tests).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from icsbridge.daemon.simulators.b2core.state import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DEMO_TOKEN,
    B2coreSimState,
)

DEMO_SOURCE_NAME = "b2core-demo"
DEMO_TOKEN_FILE = "b2core-demo-token"
DEMO_ZONE = "Europe/Paris"


def read_demo() -> dict[str, Any]:
    text = resources.files("icsbridge.daemon.simulators.b2core").joinpath("demo.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def _at(today: date, day: int, wall: str, zone: str) -> datetime:
    hour, minute = (int(part) for part in wall.split(":"))
    return datetime.combine(today + timedelta(days=day), time(hour, minute), tzinfo=ZoneInfo(zone))


def _text(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def demo_events(today: date) -> list[dict[str, Any]]:
    """The demo's events as POST bodies, placed around ``today``."""
    bodies = []
    for item in read_demo()["events"]:
        start = _at(today, item["day"], item["start"], item["zone"])
        notifications = [
            n if isinstance(n, str) else _text(_at(today, n["day"], n["time"], n["zone"]))
            for n in item["notifications"]
        ]
        bodies.append(
            {
                "caption": item["caption"],
                "description": item["description"],
                "startDate": _text(start),
                "endDate": _text(start + timedelta(minutes=item["minutes"])),
                "notifications": notifications,
                "recipients": item["recipients"],
            }
        )
    return bodies


def load_demo(state: B2coreSimState, today: date | None) -> None:
    """Fill ``state`` with the demo users, events (around ``today``) and credentials."""
    day = today if today is not None else datetime.now(UTC).date()
    for user in read_demo()["users"]:
        state.add_user(user["email"], user["name"])
    state.add_static_token(DEMO_TOKEN)
    state.add_account(DEMO_EMAIL, DEMO_PASSWORD)
    for body in demo_events(day):
        state.add_event(body)


def bulk(count: int, today: date, *, now: Any = None) -> B2coreSimState:
    """A deterministic back office with ``count`` one-hour events, one every 5 hours from
    ``today`` 08:00 UTC on (same credentials as the demo)."""
    state = B2coreSimState(now=now)
    users = [f"user{n}@bulk.example" for n in range(10)]
    for email in users:
        state.add_user(email)
    state.add_static_token(DEMO_TOKEN)
    state.add_account(DEMO_EMAIL, DEMO_PASSWORD)
    first = datetime.combine(today, time(8), tzinfo=UTC)
    for n in range(count):
        start = first + timedelta(hours=5 * n)
        state.add_event(
            {
                "caption": f"Bulk event {n + 1}",
                "description": f"Generated event number {n + 1}",
                "startDate": _text(start),
                "endDate": _text(start + timedelta(hours=1)),
                "notifications": ["PT15M"] if n % 2 else [],
                "recipients": [users[n % len(users)]],
            }
        )
    return state


def demo_source(base_url: str) -> str:
    """The ``[[sources]]`` TOML block of the demo, reading the simulator at ``base_url``
    (its root, e.g. ``http://127.0.0.1:8123``); the token comes from
    :func:`demo_secret_files`, written next to the config."""
    return (
        "[[sources]]\n"
        f'name = "{DEMO_SOURCE_NAME}"\n'
        'kind = "b2core"\n'
        f"base_url = {json.dumps(base_url)}\n"
        'interval = "15m"\n'
        f'timezone = "{DEMO_ZONE}"\n'
        f'token = "file:{DEMO_TOKEN_FILE}"\n'
        'language = "en"\n'
        "days_back = 30\n"
        "days_ahead = 180\n"
    )


def demo_secret_files() -> dict[str, str]:
    """File name (relative to the config) -> content, for the demo source's secrets."""
    return {DEMO_TOKEN_FILE: f"{DEMO_TOKEN}\n"}


def demo_state(
    today: date | None = None, *, now: Callable[[], datetime] | None = None
) -> B2coreSimState:
    """The demo back office (b2core/demo.json), its events placed around
    ``today`` (a date; default: today in UTC). Token ``demo-b2core-token``; sign-in
    ``calendar-sync@broker.example`` / ``demo-password``."""
    state = B2coreSimState(now=now)
    load_demo(state, today)
    return state
