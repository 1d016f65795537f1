"""References to secrets: the config names where a secret lives, never the secret.

A reference is written ``env:NAME`` (environment variable), ``file:PATH`` (a file,
relative to the config file's directory) or ``credential:NAME`` (a systemd credential,
read from ``$CREDENTIALS_DIRECTORY/NAME``, see ``LoadCredential=``). The value is read
only by :meth:`SecretRef.resolve`, on demand, and is never kept on the settings.

Nothing in this module puts a secret value into a message or a repr: a string that is
not a reference may be the secret itself, so errors call it "a literal value".
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeAlias

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
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise self._problem(f"{prefix}file {path} is not readable: {reason}") from None
        except UnicodeDecodeError:
            raise self._problem(f"{prefix}file {path} is not UTF-8 text") from None
        # Editors and `echo` add a final newline that is never part of a token.
        value = text.rstrip("\r\n")
        if not value:
            raise self._problem(f"{prefix}file {path} is empty")
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
