"""The `icsbridge` command line: exit statuses, one line per problem, demo as a process."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import FIXTURES

from icsbridge.config.settings import Settings
from icsbridge.converters.ical.feedcheck.validate import validate_feed
from icsbridge.daemon.cli.export import Progress
from icsbridge.daemon.cli.main import main


def test_check_lists_what_each_source_will_read(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--config", str(settings.path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{settings.path}: OK, 1 source(s)\n")
    assert "source hq (webex, every 15m, https://webexapis.com/v1):" in out
    assert "every location of the organisation" in out
    assert out.count("personal schedules") == 3
    assert "demo-token" not in out


def test_bad_config_gives_one_line_per_problem_and_status_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = FIXTURES / "config" / "many_problems.toml"
    for command in ("check", "export"):
        assert main([command, "--config", str(bad)]) == 2
        err = capsys.readouterr().err.splitlines()
        assert len(err) >= 5
        assert all(line.startswith(f"{bad}: ") for line in err)


def test_missing_secret_is_a_config_problem(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ICSBRIDGE_TEST_WEBEX_TOKEN")
    assert main(["export", "--config", str(settings.path)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        f'{settings.path}: source "hq": field "token": '
        "environment variable ICSBRIDGE_TEST_WEBEX_TOKEN is not set"
    )


def test_unknown_source_name_is_one_line(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--config", str(settings.path), "--source", "nope"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line == f"icsbridge: {settings.path}: no source named 'nope' (sources: hq)"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_only() -> None:
    tty, pipe = _Tty(), io.StringIO()
    Progress(tty).say("hq: reading")
    Progress(pipe).say("hq: reading")
    assert tty.getvalue() == "hq: reading\n"
    assert pipe.getvalue() == ""


def test_demo_runs_offline_as_a_real_process(tmp_path: Path) -> None:
    """`icsbridge demo --once`: simulator and daemon on loopback, feeds served and fetched."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_PROXY")}
    folder = tmp_path / "demo"
    for _ in range(2):  # the demo starts from scratch each time
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "icsbridge.daemon.cli",
                "demo",
                "--dir",
                str(folder),
                "--once",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        out = proc.stdout
        for title in ("Webex Calling", "APIO (BroadWorks)", "Wordbee", "B2CORE back office"):
            assert f"{title} simulator serving demo data at http://127.0.0.1:" in out
        served = re.search(r"Serving (\d+) feeds; subscribe to any of these", out)
        assert served is not None
        urls = [line.strip() for line in out.splitlines() if "/feeds/" in line]
        assert len(urls) == int(served[1])
        assert all(u.startswith("http://127.0.0.1:") and u.endswith(".ics") for u in urls)
        for source in ("webex-demo", "apio-demo", "wordbee-demo", "b2core-demo"):
            assert any(f"/{source}/" in u for u in urls), source
        assert "GET all-holidays -> 200" in out
        files = sorted((folder / "feeds").rglob("*.ics"))
        assert len(files) == len(urls)
        for path in files:
            assert validate_feed(path.read_bytes()) == [], path
        assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["bogus"], "argument COMMAND: invalid choice: 'bogus'"),
        (["check"], "the following arguments are required: --config"),
        (["push", "--calendar", "hq/x"], "one of the arguments FILE.ics --delete is required"),
        (
            ["push", "--calendar", "hq/x", "edited.ics", "--delete", "u1"],
            "argument --delete: not allowed with argument FILE.ics",
        ),
        (["push", "--calendar", "hq", "edited.ics"], "argument --calendar: 'hq' is not SOURCE/"),
    ],
)
def test_command_line_usage_errors_exit_2_not_1(
    settings: Settings, args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if args[:1] == ["push"]:
        args = [*args, "--config", str(settings.path)]
    with pytest.raises(SystemExit) as caught:
        main(args)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: icsbridge")
    assert f"error: {says}" in err


def test_nul_esc_and_line_feeds_from_a_request_never_reach_a_log_line_raw() -> None:
    # A UID taken from a write URL carried NUL and ESC into the journal (issue 19, minor).
    import logging

    from icsbridge.daemon.cli.main import PrintableFormatter

    formatter = PrintableFormatter("%(levelname)s %(message)s")
    record = logging.LogRecord(
        "icsbridge.push",
        logging.WARNING,
        __file__,
        1,
        'event "%s" refused',
        ("a\x00b\x1b[2Jc\nd",),
        None,
    )
    assert formatter.format(record) == 'WARNING event "a\\x00b\\x1b[2Jc\\x0ad" refused'
