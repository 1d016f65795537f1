"""`icsbridge run`: the long-running service (``service.daemon``) on its event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from icsbridge.daemon.service.daemon import Daemon


def cmd_run(config: Path, *, accept_empty: bool) -> int:
    return _run_loop(Daemon(config, accept_empty=accept_empty).run())


def _run_loop(main: Coroutine[Any, Any, int]) -> int:
    """Run the service on uvloop where it is installed (it is a dependency on Linux)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - other platforms
        return asyncio.run(main)
    return uvloop.run(main)
