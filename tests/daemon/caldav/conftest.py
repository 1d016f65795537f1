"""The CalDAV tests' world (see ``support.caldav_world``): one daemon per test module,
started before its first test; stopping it checks its log (no traceback, no password)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.caldav_world import World, running_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(tmp_path_factory.mktemp("caldav")) as world:
        yield world
