"""The `icsbridge` command: check, export, demo.

Every user error is one line on stderr (several for a config with several problems)
and a documented exit status; a traceback only with --debug.

Exit statuses: 0 success; 1 a source failed or another runtime error (the other sources
were still written); 2 the config (or the command line) is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx

from config.durations import format_duration
from config.errors import ConfigError, IcsbridgeError
from config.loader import load_settings, resolve_secrets
from config.settings import Settings

from .export import Progress, run_export
from .sources.base import source_for

log = logging.getLogger("icsbridge")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("icsbridge")
    except PackageNotFoundError:
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="icsbridge",
        description="Keep business schedules and calendar apps in step (RFC 5545 feeds).",
    )
    parser.add_argument("--version", action="version", version=f"icsbridge {_version()}")
    parser.add_argument("--debug", action="store_true", help="debug logs and tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    check = sub.add_parser("check", help="validate a config file and say what it will read")
    check.add_argument("--config", required=True, type=Path, metavar="FILE")

    export = sub.add_parser("export", help="one run: write one .ics per calendar")
    export.add_argument("--config", required=True, type=Path, metavar="FILE")
    export.add_argument(
        "--source", action="append", metavar="NAME", help="only this source (repeatable)"
    )
    export.add_argument(
        "--output",
        metavar="DIR|-",
        help="folder for the files (default: [daemon].output_dir); '-' writes one merged "
        "calendar to stdout",
    )

    demo = sub.add_parser(
        "demo", help="run against built-in simulators with demo data (offline, no credentials)"
    )
    demo.add_argument(
        "--dir", type=Path, default=Path("demo"), help="where the demo writes (default ./demo)"
    )
    return parser


def setup_logging(debug: bool) -> None:
    # Under journald (JOURNAL_STREAM set) the journal stamps each line itself.
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not os.environ.get("JOURNAL_STREAM"):
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format=fmt)
    if not debug:
        # httpx logs every request at INFO with full URLs; ours are enough.
        logging.getLogger("httpx").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.debug)
    try:
        code = _dispatch(args)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        code = exc.exit_code
    except IcsbridgeError as exc:
        if args.debug:
            log.exception("failed")
        print(f"icsbridge: {exc}", file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        print("icsbridge: interrupted", file=sys.stderr)
        code = 130
    return code


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "check":
        return cmd_check(load_settings(args.config))
    if args.command == "export":
        return cmd_export(load_settings(args.config), args.source, args.output)
    if args.command == "demo":
        from .demo import run_demo

        return run_demo(args.dir)
    raise AssertionError(args.command)


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


def cmd_export(settings: Settings, sources: list[str] | None, output: str | None) -> int:
    problems = resolve_secrets(settings)
    if problems:
        raise ConfigError(problems)
    now = datetime.now(UTC)
    progress = Progress()
    if output == "-":
        report = asyncio.run(
            run_export(
                settings,
                now=now,
                source_names=sources,
                stdout=sys.stdout.buffer,
                progress=progress,
            )
        )
    else:
        out_dir = Path(output).resolve() if output else None
        report = asyncio.run(
            run_export(settings, now=now, source_names=sources, output=out_dir, progress=progress)
        )
        for path in report.written:
            progress.say(f"wrote {path}")
    for line in report.failures:
        print(line, file=sys.stderr)
    if output == "-" and report.failures:
        print("icsbridge: nothing written to stdout because a source failed", file=sys.stderr)
    return report.exit_code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
