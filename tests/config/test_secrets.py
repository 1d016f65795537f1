from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from icsbridge.config import secrets
from icsbridge.config.errors import ConfigError
from icsbridge.config.secrets import SecretRef

LITERAL = "secrets are written as env:NAME, file:PATH or credential:NAME, not a literal value"
NOT_ENV = "does not name an environment variable (letters, digits and _, e.g. env:WEBEX_TOKEN)"
NOT_CREDENTIAL = "does not name a credential (the name given in LoadCredential=, without /)"
WHERE = 'source "hq": field "token"'


def resolve_problem(ref: SecretRef) -> str:
    with pytest.raises(ConfigError) as caught:
        ref.resolve()
    assert len(caught.value.problems) == 1
    return caught.value.problems[0]


@pytest.mark.parametrize(
    ("text", "scheme", "target"),
    [
        ("env:WEBEX_TOKEN", "env", "WEBEX_TOKEN"),
        ("env:_x1", "env", "_x1"),
        ("file:/etc/icsbridge/token", "file", "/etc/icsbridge/token"),
        ("credential:webex-token", "credential", "webex-token"),
    ],
)
def test_parse_references(text: str, scheme: str, target: str) -> None:
    ref = SecretRef.parse(text)
    assert (ref.scheme, ref.target, ref.reference) == (scheme, target, text)


def test_relative_file_reference_is_joined_to_the_base_dir(tmp_path: Path) -> None:
    ref = SecretRef.parse("file:secrets/../token", base_dir=tmp_path)
    assert ref.target == str(tmp_path / "token")


def test_absolute_file_reference_ignores_the_base_dir(tmp_path: Path) -> None:
    assert SecretRef.parse("file:/run/token", base_dir=tmp_path).target == "/run/token"


@pytest.mark.parametrize(
    "value", ["NjQ2ZTU5-SUPERSECRET", "Bearer SUPERSECRET", "ENV:SUPERSECRET", "", 12345, None]
)
def test_literal_values_are_refused_without_being_repeated(value: object) -> None:
    with pytest.raises(ValueError) as caught:
        SecretRef.parse(value)
    assert str(caught.value) == LITERAL


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("env:", f'"env:" {NOT_ENV}'),
        ("env:1BAD", f'"env:1BAD" {NOT_ENV}'),
        ("file:", '"file:" needs a path (e.g. file:secrets/webex-token)'),
        ("credential:", f'"credential:" {NOT_CREDENTIAL}'),
        ("credential:a/b", f'"credential:a/b" {NOT_CREDENTIAL}'),
        ("credential:..", f'"credential:.." {NOT_CREDENTIAL}'),
    ],
)
def test_malformed_references(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        SecretRef.parse(text)
    assert str(caught.value) == message


def test_repr_and_str_show_the_reference_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBEX_TOKEN", "SUPERSECRET")
    ref = SecretRef.parse("env:WEBEX_TOKEN", where=WHERE)
    assert ref.resolve() == "SUPERSECRET"
    assert repr(ref) == "SecretRef('env:WEBEX_TOKEN')"
    assert str(ref) == "env:WEBEX_TOKEN"
    assert "SUPERSECRET" not in repr(ref) + str(ref) + f"{ref!r} {ref}"


def test_where_does_not_take_part_in_equality() -> None:
    plain = SecretRef.parse("env:WEBEX_TOKEN")
    named = plain.with_where(WHERE)
    assert named == plain
    assert hash(named) == hash(plain)
    assert named.where == WHERE
    assert plain.where == ""


def test_env_resolves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBEX_TOKEN", "abc ")
    # Only files lose their final newline; an environment value is taken as is.
    assert SecretRef.parse("env:WEBEX_TOKEN").resolve() == "abc "


def test_an_env_secret_with_a_newline_is_refused_not_stripped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEBEX_TOKEN", "abc-secret\n")
    ref = SecretRef.parse("env:WEBEX_TOKEN", where=WHERE)
    assert resolve_problem(ref) == (
        f"{WHERE}: environment variable WEBEX_TOKEN has a line break in its value; "
        "set it to the secret alone, on one line"
    )


def test_env_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBEX_TOKEN", raising=False)
    ref = SecretRef.parse("env:WEBEX_TOKEN", where=WHERE)
    assert resolve_problem(ref) == f"{WHERE}: environment variable WEBEX_TOKEN is not set"


def test_env_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBEX_TOKEN", "")
    ref = SecretRef.parse("env:WEBEX_TOKEN", where=WHERE)
    assert resolve_problem(ref) == f"{WHERE}: environment variable WEBEX_TOKEN is empty"


def test_problem_without_where_is_just_the_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBEX_TOKEN", raising=False)
    assert resolve_problem(SecretRef.parse("env:WEBEX_TOKEN")) == (
        "environment variable WEBEX_TOKEN is not set"
    )


@pytest.mark.parametrize("content", ["tok-123\n", "tok-123", "tok-123\r\n", "tok-123\n\n"])
def test_file_resolves_without_trailing_newlines(tmp_path: Path, content: str) -> None:
    (tmp_path / "token").write_bytes(content.encode())
    assert SecretRef.parse("file:token", base_dir=tmp_path).resolve() == "tok-123"


def test_file_missing(tmp_path: Path) -> None:
    ref = SecretRef.parse("file:token", base_dir=tmp_path, where=WHERE)
    assert resolve_problem(ref) == (
        f"{WHERE}: file {tmp_path / 'token'} is not readable: No such file or directory"
    )


def test_file_is_a_directory(tmp_path: Path) -> None:
    ref = SecretRef.parse(f"file:{tmp_path}", where=WHERE)
    assert resolve_problem(ref) == f"{WHERE}: file {tmp_path} is not readable: Is a directory"


def test_file_empty_or_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n")
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00")
    empty = SecretRef.parse("file:empty", base_dir=tmp_path, where=WHERE)
    binary = SecretRef.parse("file:binary", base_dir=tmp_path, where=WHERE)
    assert resolve_problem(empty) == f"{WHERE}: file {tmp_path / 'empty'} is empty"
    assert resolve_problem(binary) == f"{WHERE}: file {tmp_path / 'binary'} is not UTF-8 text"


def test_credential_resolves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "webex-token").write_text("cred-value\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert SecretRef.parse("credential:webex-token").resolve() == "cred-value"


def test_credential_without_credentials_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    ref = SecretRef.parse("credential:webex-token", where=WHERE)
    assert resolve_problem(ref) == (
        f'{WHERE}: credential "webex-token": $CREDENTIALS_DIRECTORY is not set '
        "(run under systemd with LoadCredential=, or use env:/file:)"
    )


def test_credential_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    ref = SecretRef.parse("credential:webex-token", where=WHERE)
    assert resolve_problem(ref) == (
        f'{WHERE}: credential "webex-token": file {tmp_path / "webex-token"} '
        "is not readable: No such file or directory"
    )


def finishes(work: Callable[[], object], seconds: float = 10.0) -> None:
    """Run ``work`` in a thread and fail, instead of hanging, if it is not done in time."""
    done = threading.Event()

    def run() -> None:
        try:
            work()
        finally:
            done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(seconds), "it blocked"


@pytest.mark.parametrize(
    ("content", "what"),
    [
        ("tok-123\nsecret-456\n", "a line break"),
        ("tok-123\r\nsecret-456", "a line break"),
        ("tok-123\u2028secret-456", "a line break"),
        ("tok-123\tsecret-456", "a control character (U+0009)"),
        ("tok-123\x00secret-456", "a control character (U+0000)"),
        ("tok-123\x1b[0msecret-456", "a control character (U+001B)"),
        ("\ntok-123secret-456", "a line break"),
    ],
)
def test_a_secret_file_with_an_inner_newline_is_refused(
    tmp_path: Path, content: str, what: str
) -> None:
    (tmp_path / "token").write_text(content, newline="")
    line = resolve_problem(SecretRef.parse("file:token", base_dir=tmp_path, where=WHERE))
    assert line == (
        f"{WHERE}: file {tmp_path / 'token'} has {what} inside the secret; "
        "a secret is one line: remove it (one final newline is fine)"
    )
    assert "tok-123" not in line and "secret-456" not in line


def test_a_credential_with_an_inner_newline_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "webex-token").write_text("tok-123\nsecret-456\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    ref = SecretRef.parse("credential:webex-token", where=WHERE)
    assert resolve_problem(ref) == (
        f'{WHERE}: credential "webex-token": file {tmp_path / "webex-token"} has a line '
        "break inside the secret; a secret is one line: remove it (one final newline is fine)"
    )


def test_a_fifo_secret_is_refused_without_opening_it(tmp_path: Path) -> None:
    fifo = tmp_path / "token"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer
    ref = SecretRef.parse("file:token", base_dir=tmp_path, where=WHERE)
    lines: list[str] = []
    finishes(lambda: lines.append(resolve_problem(ref)))
    assert lines == [
        f"{WHERE}: file {fifo} is a named pipe (FIFO), not a regular file, and reading it "
        "could block; put the secret in a plain file"
    ]


def test_a_device_secret_is_refused(tmp_path: Path) -> None:
    ref = SecretRef.parse("file:/dev/zero", where=WHERE)  # would read for ever
    lines: list[str] = []
    finishes(lambda: lines.append(resolve_problem(ref)))
    assert lines == [
        f"{WHERE}: file /dev/zero is a character device, not a regular file, and reading "
        "it could block; put the secret in a plain file"
    ]


def test_a_secret_read_that_hangs_gives_up_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "token").write_text("tok-123\n")
    release = threading.Event()

    def hung_read(path: Path, limit: int) -> bytes:  # a hung network file system
        release.wait(10)
        return b"tok-123\n"

    monkeypatch.setattr(secrets, "read_regular_file", hung_read)
    monkeypatch.setattr(secrets, "READ_TIMEOUT", 0)  # do not wait at all
    ref = SecretRef.parse("file:token", base_dir=tmp_path, where=WHERE)
    try:
        lines: list[str] = []
        finishes(lambda: lines.append(resolve_problem(ref)))
    finally:
        release.set()
    assert lines == [
        f"{WHERE}: file {tmp_path / 'token'} could not be read within 0 s (a hung network "
        "file system?); put the secret in a file on a local disk"
    ]


def test_a_secret_file_too_large_is_refused(tmp_path: Path) -> None:
    (tmp_path / "token").write_bytes(b"x" * (secrets.MAX_SECRET_BYTES + 1))
    ref = SecretRef.parse("file:token", base_dir=tmp_path, where=WHERE)
    assert resolve_problem(ref) == (
        f"{WHERE}: file {tmp_path / 'token'} is larger than 64 KiB, too large for a secret; "
        "check the path"
    )
    (tmp_path / "token").write_bytes(b"x" * secrets.MAX_SECRET_BYTES)
    assert ref.resolve() == "x" * secrets.MAX_SECRET_BYTES
