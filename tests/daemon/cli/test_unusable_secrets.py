"""`icsbridge check` refuses, at once and in one line, secrets `run` could not use."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from icsbridge.config.settings import Settings
from icsbridge.daemon.cli.main import main

WHERE = 'source "hq": field "token"'


def with_file_token(settings: Settings) -> Path:
    """The config of ``settings`` with its token read from the file ``token`` beside it."""
    text = settings.path.read_text()
    settings.path.write_text(text.replace("env:ICSBRIDGE_TEST_WEBEX_TOKEN", "file:token"))
    return settings.path.parent / "token"


def finishes(work: Callable[[], object], seconds: float = 10.0) -> None:
    """Run ``work`` in a thread and fail, instead of hanging, if it is not done in time."""
    done = threading.Event()

    def run() -> None:
        try:
            work()
        finally:
            done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(seconds), "check blocked"


def test_check_refuses_a_secret_file_with_an_inner_newline(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    token = with_file_token(settings)
    token.write_text("demo-token\nsecond-half\n")
    assert main(["check", "--config", str(settings.path)]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"{settings.path}: {WHERE}: file {token} has a line break inside the secret; "
        "a secret is one line: remove it (one final newline is fine)"
    ]
    assert "demo-token" not in captured.out + captured.err
    assert "second-half" not in captured.out + captured.err


def test_check_still_takes_a_secret_file_with_one_final_newline(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with_file_token(settings).write_text("demo-token\n")
    assert main(["check", "--config", str(settings.path)]) == 0
    assert capsys.readouterr().out.startswith(f"{settings.path}: OK, 1 source(s)\n")


def test_check_refuses_a_fifo_secret_promptly(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    token = with_file_token(settings)
    os.mkfifo(token)  # no writer: opening it for reading would wait for ever
    statuses: list[int] = []
    finishes(lambda: statuses.append(main(["check", "--config", str(settings.path)])))
    assert statuses == [2]
    assert capsys.readouterr().err.splitlines() == [
        f"{settings.path}: {WHERE}: file {token} is a named pipe (FIFO), not a regular file, "
        "and reading it could block; put the secret in a plain file"
    ]
