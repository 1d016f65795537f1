"""Every source kind the config names has a settings model and a registered source."""

from __future__ import annotations

from icsbridge.config.settings import SOURCE_KINDS, SOURCE_MODELS
from icsbridge.daemon.sources.kinds import SOURCE_KINDS as REGISTERED


def test_every_kind_has_a_model_and_a_source() -> None:
    assert set(SOURCE_KINDS) == set(SOURCE_MODELS) == set(REGISTERED)
