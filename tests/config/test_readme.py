"""The config examples in README.md are valid configs (docs that cannot rot)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.paths import REPO

from icsbridge.config.loader import load_settings

README = REPO / "README.md"


def test_readme_config_examples_load(tmp_path: Path) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 2
    # The [feeds] pattern "hq/..." needs the webex source of the first block; the second
    # block adds the other kinds.
    config = tmp_path / "config.toml"
    config.write_text("\n".join(blocks))
    settings = load_settings(config)
    assert {s.kind for s in settings.sources} == {"webex", "apio", "wordbee", "b2core"}
    assert [f.name for f in settings.feeds] == ["support-hours", "team", "customers", "paris-open"]


def test_readme_examples_would_fail_on_a_typo(tmp_path: Path) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(), flags=re.DOTALL)
    config = tmp_path / "config.toml"
    config.write_text("\n".join(blocks).replace("days_ahead", "days_ahaed"))
    with pytest.raises(Exception, match="days_ahaed"):
        load_settings(config)
