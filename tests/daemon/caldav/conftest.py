"""The CalDAV tests' world (see ``support.caldav_world``), stopped after each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.caldav_world import VIEWER_PASSWORD, World, make_world


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("VIEWER_DAV_PASSWORD", VIEWER_PASSWORD)
    world = make_world(tmp_path)
    try:
        yield world
    finally:
        if world.daemon is not None:
            world.daemon.stop()
        for served in world.served:
            served.stop()
