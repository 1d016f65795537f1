"""References to secrets: the config names where a secret lives, never the secret.

A reference is written ``env:NAME`` (environment variable), ``file:PATH`` (a file,
relative to the config file's directory) or ``credential:NAME`` (a systemd credential,
read from ``$CREDENTIALS_DIRECTORY/NAME``, see ``LoadCredential=``). The value is read
only by :meth:`SecretRef.resolve`, on demand, and is never kept on the settings.

Nothing in this module puts a secret value into a message or a repr: a string that is
not a reference may be the secret itself, so errors call it "a literal value".

A secret is one line: a value with a line break or another control character inside is
refused (it would be sent broken in a header, and an error quoting that header shows the
secret escaped, where no scrubbing looks for it). A file is read only when it is a regular
file (opening a FIFO waits for a writer), at most :data:`MAX_SECRET_BYTES`, in a thread
given :data:`READ_TIMEOUT` seconds: a hung network file system must not freeze the
daemon's event loop, SIGTERM included, nor `icsbridge check`.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeAlias, TypeVar

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from icsbridge.config.errors import ConfigError
from icsbridge.config.wording import quote

SecretScheme: TypeAlias = Literal["env", "file", "credential"]

LITERAL_SECRET_PROBLEM = (
    "secrets are written as env:NAME, file:PATH or credential:NAME, not a literal value"
)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SCHEMES: tuple[SecretScheme, ...] = ("env", "file", "credential")

READ_TIMEOUT = 3.0
"""Seconds a secret file may take to read (a local file takes microseconds)."""
MAX_SECRET_BYTES = 64 * 1024
"""The largest secret file read: tokens and JWTs are a few KiB at most."""
# What str.splitlines() breaks a line at, named so in messages.
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
_FILE_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True, repr=False)
class SecretRef:
    """Where a secret lives. ``str()`` and ``repr()`` show the reference only.

    ``target`` is the variable name, the absolute (or as-given) file path, or the
    credential name. ``where`` names the setting, e.g. ``source "hq": field "token"``,
    so that :meth:`resolve` errors say which setting failed; it does not take part in
    equality.
    """

    scheme: SecretScheme
    target: str
    where: str = field(default="", compare=False)

    @classmethod
    def parse(cls, value: object, *, base_dir: Path | None = None, where: str = "") -> SecretRef:
        """Parse ``env:NAME`` | ``file:PATH`` | ``credential:NAME``.

        Relative ``file:`` paths are joined to ``base_dir`` when it is given.
        Raises ValueError with one user-facing phrase that never repeats a literal value.
        """
        if not isinstance(value, str):
            raise ValueError(LITERAL_SECRET_PROBLEM)
        scheme, colon, target = value.partition(":")
        if not colon or scheme not in _SCHEMES:
            raise ValueError(LITERAL_SECRET_PROBLEM)
        if scheme == "env":
            if not _ENV_NAME.fullmatch(target):
                raise ValueError(
                    f"{quote(value)} does not name an environment variable "
                    "(letters, digits and _, e.g. env:WEBEX_TOKEN)"
                )
            return cls("env", target, where)
        if scheme == "file":
            if not target:
                raise ValueError('"file:" needs a path (e.g. file:secrets/webex-token)')
            path = Path(target)
            if base_dir is not None and not path.is_absolute():
                path = Path(os.path.abspath(base_dir / path))
            return cls("file", str(path), where)
        if not target or "/" in target or target in (".", ".."):
            raise ValueError(
                f"{quote(value)} does not name a credential "
                "(the name given in LoadCredential=, without /)"
            )
        return cls("credential", target, where)

    @property
    def reference(self) -> str:
        """The reference as written in the config, e.g. ``env:WEBEX_TOKEN``."""
        return f"{self.scheme}:{self.target}"

    def with_where(self, where: str) -> SecretRef:
        """The same reference, naming the setting it belongs to in error messages."""
        return replace(self, where=where)

    def resolve(self) -> str:
        """Read the secret now. Raises ConfigError with one line naming ``where``."""
        if self.scheme == "env":
            value = os.environ.get(self.target)
            if value is None:
                raise self._problem(f"environment variable {self.target} is not set")
            if not value:
                raise self._problem(f"environment variable {self.target} is empty")
            # Taken as it is (no newline stripped): a control character is refused.
            broken = control_character(value)
            if broken:
                raise self._problem(
                    f"environment variable {self.target} has {broken} in its value; "
                    "set it to the secret alone, on one line"
                )
            return value
        if self.scheme == "file":
            return self._read_file(Path(self.target), prefix="")
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        prefix = f"credential {quote(self.target)}: "
        if not directory:
            raise self._problem(
                f"{prefix}$CREDENTIALS_DIRECTORY is not set "
                "(run under systemd with LoadCredential=, or use env:/file:)"
            )
        return self._read_file(Path(directory) / self.target, prefix=prefix)

    def _read_file(self, path: Path, *, prefix: str) -> str:
        shown = f"{prefix}file {path}"
        try:
            data = run_with_timeout(READ_TIMEOUT, lambda: read_regular_file(path, MAX_SECRET_BYTES))
        except TimeoutError:
            raise self._problem(
                f"{shown} could not be read within {READ_TIMEOUT:g} s (a hung network file "
                "system?); put the secret in a file on a local disk"
            ) from None
        except NotRegularFile as exc:
            raise self._problem(
                f"{shown} is {exc.kind}, not a regular file, and reading it could block; "
                "put the secret in a plain file"
            ) from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise self._problem(f"{shown} is not readable: {reason}") from None
        if len(data) > MAX_SECRET_BYTES:
            raise self._problem(
                f"{shown} is larger than {MAX_SECRET_BYTES // 1024} KiB, too large for a "
                "secret; check the path"
            )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise self._problem(f"{shown} is not UTF-8 text") from None
        # Editors and `echo` add a final newline that is never part of a token.
        value = text.rstrip("\r\n")
        if not value:
            raise self._problem(f"{shown} is empty")
        broken = control_character(value)
        if broken:
            raise self._problem(
                f"{shown} has {broken} inside the secret; a secret is one line: "
                "remove it (one final newline is fine)"
            )
        return value

    def _problem(self, text: str) -> ConfigError:
        return ConfigError([f"{self.where}: {text}" if self.where else text])

    def __str__(self) -> str:
        return self.reference

    def __repr__(self) -> str:
        return f"SecretRef({self.reference!r})"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.with_info_plain_validator_function(
            _validate_secret_ref,
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "pattern": "^(env|file|credential):.+$"}


def _validate_secret_ref(value: object, info: core_schema.ValidationInfo) -> SecretRef:
    if isinstance(value, SecretRef):
        return value
    context = info.context if isinstance(info.context, dict) else {}
    base_dir = context.get("base_dir")
    try:
        return SecretRef.parse(value, base_dir=base_dir if isinstance(base_dir, Path) else None)
    except ValueError as exc:
        raise PydanticCustomError("icsbridge", str(exc)) from None


def control_character(value: str) -> str | None:
    """What refuses ``value`` as a secret, named for a message without the value (e.g.
    "a line break", "a control character (U+0000)"); None when it is one clean line."""
    for char in value:
        if char in _LINE_BREAKS:
            return "a line break"
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return f"a control character (U+{ord(char):04X})"
    return None


class NotRegularFile(Exception):
    """A path that is not a regular file; ``kind`` names what it is ("a socket")."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def read_regular_file(path: Path, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the regular file at ``path``.

    The type is checked with ``stat`` before opening: opening a FIFO for reading waits
    for a writer, possibly for ever. The file is then opened non-blocking and checked
    again, in case it was replaced in between. A directory raises IsADirectoryError,
    any other non-regular file :class:`NotRegularFile`.
    """
    _check_regular(os.stat(path).st_mode)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        _check_regular(os.fstat(fd).st_mode)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _check_regular(mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
    kind = next((name for test, name in _FILE_KINDS if test(mode)), "a special file")
    raise NotRegularFile(kind)


def run_with_timeout(timeout: float, work: Callable[[], _T]) -> _T:
    """``work()`` run in a thread, its result or its exception; TimeoutError when it takes
    longer than ``timeout`` seconds.

    The thread is a daemon thread: one stuck in a hung read is abandoned, and never
    holds up the caller (an event loop, a signal) or the process's exit.
    """
    results: list[_T] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            results.append(work())
        except BaseException as exc:  # handed to the caller, whatever it is
            errors.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name="icsbridge-secret-read", daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError(f"not done within {timeout:g} s")
    if errors:
        raise errors[0]
    return results[0]
