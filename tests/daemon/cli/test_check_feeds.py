"""`icsbridge check --feeds`: each published feed against its max_bytes (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from icsbridge.daemon.cli.demo import free_port
from icsbridge.daemon.cli.main import main


def test_check_feeds_reads_the_published_feeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ICSBRIDGE_TEST_WEBEX_TOKEN", "demo-token")
    path = tmp_path / "config.toml"
    path.write_text(
        f'[daemon]\nstate = "state.sqlite"\nlisten = "127.0.0.1:{free_port()}"\n\n'
        '[[sources]]\nname = "hq"\nkind = "webex"\ninterval = "15m"\n'
        'token = "env:ICSBRIDGE_TEST_WEBEX_TOKEN"\npeople = ["person-1"]\n'
    )
    assert main(["check", "--config", str(path)]) == 0
    assert "feeds:" not in capsys.readouterr().out
    assert main(["check", "--config", str(path), "--feeds"]) == 0
    out = capsys.readouterr().out
    assert out.endswith("feeds: none published yet (they appear after the first sync)\n")
    assert not (tmp_path / "state.sqlite").exists()  # a check creates no state
