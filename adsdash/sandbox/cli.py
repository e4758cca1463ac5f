"""Argument parsing, logging and exit codes, shaped like the real ads_sync CLI."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime
from pathlib import Path

from adsdash.sandbox import commands, pacing, reports
from adsdash.sandbox.project import Project

log = logging.getLogger("ads_sync")

LOG_FORMAT = "%(asctime)s - %(levelname)s - %(name)s - %(message)s"
STARTUP_SECONDS = 0.3  # the real CLI imports pandas and the Google Ads library first


def setup_logging(root: Path) -> None:
    """INFO and up to stdout and to logs/YYYY-MM-DD.log, one record per line."""
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")  # a name with é on an ASCII pipe
    formatter = logging.Formatter(LOG_FORMAT)
    handlers: list[logging.Handler] = [
        logging.StreamHandler(sys.stdout),  # flushes after every record
        logging.FileHandler(logs / f"{datetime.now():%Y-%m-%d}.log", encoding="utf-8"),
    ]
    top = logging.getLogger()
    for handler in list(top.handlers):
        top.removeHandler(handler)
    for handler in handlers:
        handler.setFormatter(formatter)
        top.addHandler(handler)
    top.setLevel(logging.INFO)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ads_sync_cli.py",
        description="Production-grade Google Ads data sync and reporting tool (sandbox)",
    )
    sub = parser.add_subparsers(dest="command", required=True, help="Available commands")

    p = sub.add_parser("discover", help="Discover all clients accessible via MCC account")
    p.add_argument("--mcc-id", help="MCC customer ID")
    p.add_argument("--export", action="store_true", help="Export to CSV")
    p.set_defaults(func=commands.handle_discover)

    for name, func, text in (
        ("init", commands.handle_init, "Initialize historical data for a client (one-time backfill)"),
        ("append", commands.handle_append, "Perform incremental append with watermark sync"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("slug", help="Client slug (e.g., 'priority-roofing')")
        p.set_defaults(func=func)

    p = sub.add_parser("report", help="Generate report from master data (no API calls)")
    p.add_argument("slug", help="Client slug")
    p.add_argument("--scope", default="LAST-30-DAYS",
                   help="Date scope: LIFETIME, LAST-7-DAYS, LAST-30-DAYS, 2025-Q3, 2025-01..2025-03")
    p.set_defaults(func=reports.handle_report)

    p = sub.add_parser("validate", help="Validate configuration and data integrity")
    p.add_argument("slug", help="Client slug")
    p.set_defaults(func=commands.handle_validate)

    p = sub.add_parser("repair", help="Repair data gaps by re-pulling a date range")
    p.add_argument("slug", help="Client slug")
    p.add_argument("--start", required=True, help="Start date (YYYY-MM-DD)")
    p.add_argument("--end", required=True, help="End date (YYYY-MM-DD)")
    p.set_defaults(func=commands.handle_repair)

    p = sub.add_parser("force-unlock", help="Manually remove lock file (use with caution!)")
    p.add_argument("slug", help="Client slug")
    p.set_defaults(func=commands.handle_force_unlock)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one sub-command in the current directory; returns the exit code (argparse exits 2)."""
    root = Path.cwd()
    try:
        pacing.pause(STARTUP_SECONDS)
        setup_logging(root)
        args = build_parser().parse_args(argv)
        args.func(Project(root), args)
    except KeyboardInterrupt:
        log.warning("Operation cancelled by user")
        return 130
    except Exception as e:
        log.error(f"Command failed: {e}", exc_info=True)
        return 1
    return 0
