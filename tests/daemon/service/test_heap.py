"""The daemon's GC policy (daemon/service/heap.py): what a sync leaves alive is frozen out
of the collector's scans, and frozen garbage in cycles is still collected once an hour."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from icsbridge.daemon.service.heap import FULL_EVERY, HeapPolicy


class Cycle:
    """An object that only the cyclic collector can free."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def _thawed() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the suite runs with the collector as it found it


def test_a_settle_freezes_what_is_alive_and_the_first_one_collects_in_full() -> None:
    now = [100.0]
    policy = HeapPolicy(clock=lambda: now[0])
    assert policy.settle() is True
    assert gc.get_freeze_count() > 0
    now[0] += FULL_EVERY - 1
    assert policy.settle() is False
    now[0] += 1
    assert policy.settle() is True


def test_frozen_garbage_in_a_cycle_waits_for_the_hourly_full_collection() -> None:
    now = [0.0]
    policy = HeapPolicy(clock=lambda: now[0])
    policy.settle()
    survivor = Cycle()
    alive = weakref.ref(survivor)
    policy.settle()  # the sync's survivor is frozen ...
    del survivor  # ... then dies in its cycle
    gc.collect()
    assert alive() is not None, "a frozen object is not scanned by a collection"
    now[0] += FULL_EVERY
    policy.settle()
    assert alive() is None, "the hourly full collection frees frozen cycles"
