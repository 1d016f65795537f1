"""The `icsbridge` command: check, export, run, push, feeds, caldav, demo.

Every user error is one line on stderr (several for a config with several problems)
and a documented exit status; a traceback only with --debug.

Exit statuses: 0 success; 1 a source failed or another runtime error (the other sources
were still written); 2 the config (or the command line) is wrong. ``push`` adds 3 (an
event the API cannot hold, or over max_deletes or max_creates), 4 (conflicting edits)
and 5 (the source is read-only); nothing is applied in those cases.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from icsbridge.config.errors import ConfigError, IcsbridgeError, error_lines
from icsbridge.config.loader import load_settings

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
    check.add_argument(
        "--feeds", action="store_true", help="also judge each published feed's size budget"
    )

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
    export.add_argument(
        "--accept-empty",
        action="store_true",
        help="write a calendar that suddenly answers with no events (normally held back)",
    )

    run = sub.add_parser("run", help="the service: sync on a schedule and serve the feeds")
    run.add_argument("--config", required=True, type=Path, metavar="FILE")
    run.add_argument(
        "--accept-empty",
        action="store_true",
        help="publish a source that suddenly answers with no events (normally held back)",
    )

    push = sub.add_parser(
        "push", help="send a calendar's edits back to its API (plan first with --dry-run)"
    )
    push.add_argument("--config", required=True, type=Path, metavar="FILE")
    push.add_argument(
        "--calendar",
        required=True,
        type=_calendar_key,
        metavar="SOURCE/CALENDAR",
        help="the calendar's key",
    )
    # Exactly one of the two: argparse says so with the usage and exit status 2.
    what = push.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "file",
        nargs="?",
        metavar="FILE.ics",
        help="the edited calendar ('-' for stdin); events missing from it are deleted",
    )
    push.add_argument("--dry-run", action="store_true", help="print the API calls, send none")
    push.add_argument(
        "--only-listed",
        action="store_true",
        help="push the events in the file and delete none",
    )
    what.add_argument("--delete", metavar="UID", help="delete this one event")

    feeds = sub.add_parser("feeds", help="print each feed's subscription URLs")
    feeds.add_argument("--config", required=True, type=Path, metavar="FILE")
    feeds.add_argument(
        "--rotate",
        metavar="NAME",
        help="give feed NAME a new URL token, revoking the old one (write:NAME for its write URL)",
    )

    caldav = sub.add_parser(
        "caldav", help="print the CalDAV URL and user names to type into a calendar app"
    )
    caldav.add_argument("--config", required=True, type=Path, metavar="FILE")

    demo = sub.add_parser(
        "demo",
        help="serve feeds of built-in simulators with demo data (offline, no credentials)",
    )
    demo.add_argument(
        "--dir", type=Path, default=Path("demo"), help="where the demo writes (default ./demo)"
    )
    demo.add_argument(
        "--once", action="store_true", help="stop after the first sync instead of serving on"
    )
    return parser


def _calendar_key(text: str) -> str:
    if "/" not in text.strip("/"):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not SOURCE/CALENDAR (e.g. hq/people/alice/holidays/Holidays; "
            "`icsbridge feeds --config FILE` lists the calendars)"
        )
    return text


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class PrintableFormatter(logging.Formatter):
    """Control characters a request or an API put in a message (a NUL, an ESC that would
    drive the terminal, a line feed that fakes a second line) are written as ``\\xNN``:
    one record is one line. A traceback (--debug) keeps its lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", super().formatMessage(record))


def setup_logging(debug: bool, *, service: bool = False) -> None:
    """Warnings for one-shot commands, info for the service; debug with --debug."""
    # Under journald (JOURNAL_STREAM set) the journal stamps each line itself.
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not os.environ.get("JOURNAL_STREAM"):
        fmt = "%(asctime)s " + fmt
    level = logging.DEBUG if debug else logging.INFO if service else logging.WARNING
    handler = logging.StreamHandler()
    handler.setFormatter(PrintableFormatter(fmt))
    logging.basicConfig(level=level, handlers=[handler])
    if not debug:
        # httpx logs every request at INFO with full URLs, APScheduler every job run;
        # our own lines say what matters.
        for name in ("httpx", "apscheduler"):
            logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.debug, service=args.command in ("run", "demo"))
    try:
        code = _dispatch(args)
        sys.stdout.flush()  # a reader gone shows here, not in the interpreter's last flush
    except BrokenPipeError:
        code = _reader_gone()
    except IcsbridgeError as exc:
        if args.debug and not isinstance(exc, ConfigError):
            log.exception("failed")
        for line in error_lines(exc):
            print(line, file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        print("icsbridge: interrupted", file=sys.stderr)
        code = 130
    return code


def _reader_gone() -> int:
    """stdout's reader went away (``icsbridge check | head -1``): it had what it wanted,
    so stop quietly, as ``head`` expects, with status 0."""
    # What is still buffered would fail again at exit: send it nowhere instead.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 0


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "check":
        from icsbridge.daemon.cli.check import cmd_check

        return cmd_check(load_settings(args.config), feeds=args.feeds)
    if args.command == "export":
        from icsbridge.daemon.cli.export import cmd_export

        return cmd_export(
            load_settings(args.config), args.source, args.output, accept_empty=args.accept_empty
        )
    if args.command == "run":
        from icsbridge.daemon.cli.run import cmd_run

        return cmd_run(args.config, accept_empty=args.accept_empty)
    if args.command == "push":
        from icsbridge.daemon.cli.push import cmd_push

        return cmd_push(
            load_settings(args.config),
            args.calendar,
            args.file,
            dry_run=args.dry_run,
            only_listed=args.only_listed,
            delete=args.delete,
        )
    if args.command == "feeds":
        from icsbridge.daemon.cli.feeds import cmd_feeds

        return cmd_feeds(load_settings(args.config), args.rotate)
    if args.command == "caldav":
        from icsbridge.daemon.cli.caldav import cmd_caldav

        return cmd_caldav(load_settings(args.config))
    if args.command == "demo":
        from icsbridge.daemon.cli.demo import run_demo

        return run_demo(args.dir, once=args.once)
    raise AssertionError(args.command)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
