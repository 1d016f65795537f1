"""``python -m icsbridge.daemon.cli``: the ``icsbridge`` command without its script."""

from __future__ import annotations

from icsbridge.daemon.cli.main import main

raise SystemExit(main())
