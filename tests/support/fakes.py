"""Small in-memory stand-ins shared by tests."""

from __future__ import annotations


class DictTokens:
    """A TokenStore (icsbridge.daemon.sources.base) kept in a dict."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def get_secret(self, key: str) -> str | None:
        return self.data.get(key)

    def set_secret(self, key: str, value: str) -> None:
        self.data[key] = value
