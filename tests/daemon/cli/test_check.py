"""`icsbridge check` finds what `icsbridge run` would stop at, in the same words (issue 19,
item 10: check passed configs that run refused), and survives a reader that goes away."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.broken_state import truncated
from support.loopback import WAIT, ServedApp
from support.paths import FIXTURES

from icsbridge.daemon.cli.demo import free_port
from icsbridge.daemon.cli.main import main
from icsbridge.daemon.web import binding
from icsbridge.daemon.web.health import health_route

TOKEN = "abcdefghijklmnopqrstuvwxyz0123"  # long enough, URL-safe
HINT = 'python3 -c "import secrets; print(secrets.token_urlsafe(24))"'


def _config(folder: Path, *, listen: str, state: str = "state.sqlite", feeds: str = "") -> Path:
    path = folder / "config.toml"
    path.write_text(
        f'[daemon]\nstate = "{state}"\noutput_dir = "feeds"\nlisten = "{listen}"\n\n'
        '[[sources]]\nname = "hq"\nkind = "webex"\ninterval = "15m"\n'
        'token = "env:ICSBRIDGE_TEST_WEBEX_TOKEN"\npeople = ["person-1"]\n' + feeds
    )
    return path


def _feed(name: str, secret: str) -> str:
    return f'\n[[feeds]]\nname = "{name}"\ncalendars = ["hq/*"]\ntoken = "{secret}"\n'


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ICSBRIDGE_TEST_WEBEX_TOKEN", "demo-token")
    monkeypatch.setenv("FEED_SHORT", "short-token")
    monkeypatch.setenv("FEED_SLASHED", "has/slash-and-is-long-enough-0123")
    monkeypatch.setenv("FEED_SHARED", TOKEN)


@pytest.fixture
def taken() -> Iterator[int]:
    """A port bound by someone else (not listening: a connection is refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


Setup = Callable[[Path, int], tuple[Path, str]]


def _short_token(folder: Path, port: int) -> tuple[Path, str]:
    path = _config(folder, listen=f"127.0.0.1:{port}", feeds=_feed("all", "env:FEED_SHORT"))
    return path, (
        f'{path}: feed "all": field "token": too short (11 characters); use at least 22 '
        f"random ones (e.g. the output of: {HINT})"
    )


def _slashed_token(folder: Path, port: int) -> tuple[Path, str]:
    path = _config(folder, listen=f"127.0.0.1:{port}", feeds=_feed("all", "env:FEED_SLASHED"))
    return path, (
        f'{path}: feed "all": field "token": use only the characters A-Z a-z 0-9 - _ . ~ '
        f"(e.g. the output of: {HINT})"
    )


def _shared_token(folder: Path, port: int) -> tuple[Path, str]:
    feeds = _feed("a", "env:FEED_SHARED") + _feed("b", "env:FEED_SHARED")
    path = _config(folder, listen=f"127.0.0.1:{port}", feeds=feeds)
    return path, (
        f'{path}: feeds "a" and "b": field "token": both use the same token; give each feed its own'
    )


def _state_is_a_folder(folder: Path, port: int) -> tuple[Path, str]:
    (folder / "var").mkdir()
    path = _config(folder, listen=f"127.0.0.1:{port}", state="var")
    return path, (
        f"icsbridge: state file {folder / 'var'}: is a folder; give a file path in "
        f'[daemon].state (e.g. "{folder / "var" / "state.sqlite"}")'
    )


def _state_is_not_sqlite(folder: Path, port: int) -> tuple[Path, str]:
    (folder / "state.sqlite").write_text("these are my notes, not a database\n" * 10)
    path = _config(folder, listen=f"127.0.0.1:{port}")
    return path, (
        f"icsbridge: state file {folder / 'state.sqlite'}: cannot be used as a SQLite "
        "database (file is not a database); move it aside and run again to start a fresh state"
    )


def _state_is_damaged(folder: Path, port: int) -> tuple[Path, str]:
    state = truncated(folder / "state.sqlite")  # a real state, cut short
    path = _config(folder, listen=f"127.0.0.1:{port}")
    return path, (
        f"icsbridge: state file {state}: damaged (database disk image is malformed); stop "
        "icsbridge and move the file aside (it holds the feed URL tokens and event UIDs: keep "
        "it, `sqlite3 <file> .recover` may save them); the next start begins a fresh state "
        "with new feed URLs"
    )


def _state_under_a_file(folder: Path, port: int) -> tuple[Path, str]:
    (folder / "var").write_text("a file where a folder should be\n")
    path = _config(folder, listen=f"127.0.0.1:{port}", state="var/state.sqlite")
    return path, (
        f"icsbridge: state file {folder / 'var' / 'state.sqlite'}: {folder / 'var'} is a "
        "file, not a folder; check [daemon].state"
    )


def _state_read_only(folder: Path, port: int) -> tuple[Path, str]:
    state = folder / "state.sqlite"
    state.touch(mode=0o400)
    path = _config(folder, listen=f"127.0.0.1:{port}")
    return path, (
        f"icsbridge: state file {state}: not readable and writable by this user; "
        "check its permissions"
    )


CASES: dict[str, Setup] = {
    "short token": _short_token,
    "slashed token": _slashed_token,
    "shared token": _shared_token,
    "state is a folder": _state_is_a_folder,
    "state is not SQLite": _state_is_not_sqlite,
    "state is damaged": _state_is_damaged,
    "state under a file": _state_under_a_file,
}


def _both(path: Path, capsys: pytest.CaptureFixture[str]) -> list[tuple[int, list[str]]]:
    """What `check` and then `run` say about the config at ``path``: status, stderr lines."""
    said = []
    for command in ("check", "run"):
        code = main([command, "--config", str(path)])
        said.append((code, capsys.readouterr().err.splitlines()))
    return said


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_refuses_what_run_refuses_in_the_same_line(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, line = CASES[case](tmp_path, free_port())
    (check_code, check_says), (run_code, run_says) = _both(path, capsys)
    assert check_says == [line]
    assert run_says == check_says
    assert check_code == run_code == (2 if line.startswith(str(path)) else 1)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write a read-only file")
def test_check_refuses_a_state_file_run_cannot_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, line = _state_read_only(tmp_path, free_port())
    assert _both(path, capsys) == [(1, [line]), (1, [line])]


def test_check_refuses_a_taken_listen_address_as_run_does(
    tmp_path: Path, taken: int, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _config(tmp_path, listen=f"127.0.0.1:{taken}")
    line = (
        f"icsbridge: cannot listen on 127.0.0.1:{taken}: Address already in use; "
        "change [daemon].listen or stop what uses that port"
    )
    assert _both(path, capsys) == [(1, [line]), (1, [line])]


def test_check_refuses_a_listen_host_that_does_not_resolve_as_run_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = socket.getaddrinfo

    def resolve(host: str, *args: object, **kwargs: object) -> object:
        if host == "ics.nowhere.test":  # answered here: no resolver is asked
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(binding.socket, "getaddrinfo", resolve)
    path = _config(tmp_path, listen="ics.nowhere.test:8080")
    line = (
        "icsbridge: cannot listen on ics.nowhere.test:8080: ics.nowhere.test does not "
        "resolve (Name or service not known); change [daemon].listen"
    )
    assert _both(path, capsys) == [(1, [line]), (1, [line])]


def test_check_lists_every_problem_run_would_meet_one_by_one(
    tmp_path: Path, taken: int, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "var").mkdir()
    path = _config(
        tmp_path, listen=f"127.0.0.1:{taken}", state="var", feeds=_feed("all", "env:FEED_SHORT")
    )
    assert main(["check", "--config", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert [line.split(":")[1].strip() for line in err] == [
        "cannot listen on 127.0.0.1",
        f"state file {tmp_path / 'var'}",
        'feed "all"',
    ]
    assert capsys.readouterr().out == ""


def test_a_huge_interval_is_refused_by_check_with_the_expected_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = FIXTURES / "config" / "huge_interval.toml"
    assert main(["check", "--config", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f'{path}: source "hq": field "interval": "3000000d" is longer than the maximum "30d" '
        '(an interval is from "1m" to "30d")'
    ]


def test_check_notes_a_running_icsbridge_on_its_address_instead_of_refusing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from starlette.applications import Starlette

    report = {"status": "ok", "sources": {"hq": {}}, "feeds": {}}
    served = ServedApp(Starlette(routes=[health_route(lambda: (200, report))]))
    try:
        path = _config(tmp_path, listen=f"127.0.0.1:{served.port}")
        assert main(["check", "--config", str(path)]) == 0
    finally:
        served.stop()
    captured = capsys.readouterr()
    assert captured.err == ""
    assert (
        f"  note: a running icsbridge holds 127.0.0.1:{served.port}: fine for a reload, "
        "but another `icsbridge run` there would fail\n"
    ) in captured.out


def _check_command(config: Path) -> list[str]:
    return [sys.executable, "-m", "icsbridge.daemon.cli", "check", "--config", str(config)]


def test_check_into_a_pipe_closed_before_it_writes_exits_cleanly(tmp_path: Path) -> None:
    config = _config(tmp_path, listen=f"127.0.0.1:{free_port()}")
    read, write = os.pipe()
    os.close(read)  # nobody will ever read: the first write gets EPIPE
    try:
        proc = subprocess.run(
            _check_command(config),
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=WAIT,
            env={**os.environ, "ICSBRIDGE_TEST_WEBEX_TOKEN": "demo-token"},
        )
    finally:
        os.close(write)
    assert proc.stderr == ""
    assert proc.returncode == 0


def test_check_piped_into_head_exits_cleanly(tmp_path: Path) -> None:
    config = _config(tmp_path, listen=f"127.0.0.1:{free_port()}")
    command = shlex.join(_check_command(config))
    proc = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command} | head -1"],
        capture_output=True,
        text=True,
        timeout=WAIT,
        env={**os.environ, "ICSBRIDGE_TEST_WEBEX_TOKEN": "demo-token"},
    )
    assert proc.stdout == f"{config}: OK, 1 source(s)\n"
    assert proc.stderr == ""
    assert proc.returncode == 0


def test_check_refuses_an_unreachable_postgresql_state_as_run_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn = f"postgresql:///icsbridge?host={tmp_path}&user=icsbridge"  # no server there
    path = _config(tmp_path, listen=f"127.0.0.1:{free_port()}", state=dsn)
    (check_code, check_says), (run_code, run_says) = _both(path, capsys)
    assert check_code == run_code == 1
    assert run_says == check_says
    (line,) = check_says
    assert line.startswith(f"icsbridge: state database {dsn}: ")
    assert line.endswith(
        "check [daemon].state, that the server runs and that the role may connect and create tables"
    )


def test_check_connects_to_a_postgresql_state_and_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], postgres_dsn: str
) -> None:
    path = _config(tmp_path, listen=f"127.0.0.1:{free_port()}", state=postgres_dsn)
    assert main(["check", "--config", str(path)]) == 0
    assert f"  state database: {postgres_dsn}" in capsys.readouterr().out.splitlines()
