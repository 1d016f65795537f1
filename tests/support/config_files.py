"""Config files written from text, loaded or refused, for config tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from icsbridge.config.errors import ConfigError
from icsbridge.config.loader import load_settings
from icsbridge.config.settings import Settings


def load_config(tmp_path: Path, text: str) -> Settings:
    """``text`` as tmp_path/config.toml, loaded (it must be valid)."""
    file = tmp_path / "config.toml"
    file.write_text(text)
    return load_settings(file)


def config_problems(tmp_path: Path, text: str, prefix: str = "") -> list[str]:
    """The problem lines of an invalid ``text``, each checked to start with the file name
    and ``prefix`` (e.g. 'source "hq": '), which are removed."""
    file = tmp_path / "config.toml"
    file.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(file)
    head = f"{file}: {prefix}"
    assert all(line.startswith(head) for line in caught.value.problems), caught.value.problems
    return [line.removeprefix(head) for line in caught.value.problems]
