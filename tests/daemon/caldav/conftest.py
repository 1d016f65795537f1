"""The CalDAV tests' world (see ``support.caldav_world``): one daemon per test module,
started before its first test; stopping it checks its log (no traceback, no password)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from support.caldav_world import VIEWER_PASSWORD, World, make_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    os.environ["VIEWER_DAV_PASSWORD"] = VIEWER_PASSWORD  # read by the daemon it starts
    world = make_world(tmp_path_factory.mktemp("caldav"))
    try:
        world.start()
        yield world
        world.stop()
    finally:
        os.environ.pop("VIEWER_DAV_PASSWORD", None)
        if world.daemon is not None:
            world.daemon.stop()
        for served in world.served:
            served.stop()
