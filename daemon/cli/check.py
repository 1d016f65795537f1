"""`icsbridge check`: validate the config, resolve its secrets, say what each source reads."""

from __future__ import annotations

import asyncio

import httpx

from icsbridge.config.durations import format_duration
from icsbridge.config.errors import ConfigError
from icsbridge.config.loader import resolve_secrets
from icsbridge.config.settings import Settings
from icsbridge.daemon.sources.kinds import source_for


def cmd_check(settings: Settings) -> int:
    problems = resolve_secrets(settings)
    if problems:
        raise ConfigError(problems)
    print(f"{settings.path}: OK, {len(settings.sources)} source(s)")
    print(f"  state file: {settings.daemon.state}")
    print(f"  files written to: {settings.daemon.output_dir}")
    print(f"  feeds served on: {settings.daemon.listen} as {settings.daemon.public_url}")

    async def describe() -> None:
        async with httpx.AsyncClient() as client:
            for src in settings.sources:
                every = format_duration(src.interval_seconds)
                print(f"source {src.name} ({src.kind}, every {every}, {src.base_url}):")
                source = source_for(src, client, tokens=_NoTokens())
                for line in source.describe():
                    print(f"  - {line}")

    asyncio.run(describe())
    return 0


class _NoTokens:
    """`check` does no I/O: nothing is stored."""

    def get_secret(self, key: str) -> str | None:
        return None

    def set_secret(self, key: str, value: str) -> None:
        return None
