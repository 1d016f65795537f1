"""A simulated Webex org and a config pointing at it, for daemon tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from icsbridge.daemon.simulators.webex.app import WebexSimState

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def write_config(folder: Path, sim: WebexSimState, *, extra_sources: str = "") -> Path:
    people = ", ".join(f'"{p}"' for p in sorted(sim.people))
    path = folder / "config.toml"
    path.write_text(
        "[daemon]\n"
        'state = "state.sqlite"\n'
        'output_dir = "feeds"\n\n'
        "[[sources]]\n"
        'name = "hq"\n'
        'kind = "webex"\n'
        'interval = "15m"\n'
        'timezone = "Europe/Paris"\n'
        'token = "env:ICSBRIDGE_TEST_WEBEX_TOKEN"\n'
        f"people = [{people}]\n"
        'locations = "all"\n' + extra_sources
    )
    return path


class FakeSleep:
    """Records the delays a retry loop asked for; never sleeps."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
