"""The push tests' state, once per backend, for the modules that ask (``push_state``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from support import push_world

from icsbridge.config.daemon.state import StateLocation


@pytest.fixture
def push_state(monkeypatch: pytest.MonkeyPatch, new_state: Callable[[str], StateLocation]) -> None:
    """Every ``PushWorld`` of the test keeps its state on the backend of ``new_state``."""
    made: dict[Path, StateLocation] = {}

    def state_for(folder: Path) -> StateLocation:
        return made.setdefault(folder, new_state("state.sqlite"))

    monkeypatch.setattr(push_world, "STATE_FOR", state_for)
