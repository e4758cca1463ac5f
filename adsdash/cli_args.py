"""The command line's arguments: every command, its flags, and their checks (argparse).
Usage errors are one line on stderr, like every other refusal."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

MAX_ID = 2**63 - 1  # SQLite's largest INTEGER
MAX_SANDBOX_CLIENTS = 1000


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 < value <= MAX_ID:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to {MAX_ID}, got {text!r}")
    return value


def _port(text: str) -> int:
    value = _positive(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {value}")
    return value


def _client_count(text: str) -> int:
    value = _positive(text)
    if value > MAX_SANDBOX_CLIENTS:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_SANDBOX_CLIENTS} clients, got {value}")
    return value


class _VersionAction(argparse.Action):
    """argparse's "version" action, reading the version only when it is asked for."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str = "show program's version number and exit"):
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None) -> NoReturn:
        from adsdash.cli import print_version

        print_version()


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, sized as shutil.get_terminal_size would, without importing
    shutil (~4 ms): argparse makes one for every argument added, on a submit that prints no help."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)


def _columns() -> int:
    """$COLUMNS, else the terminal's width, else 80 (shutil.get_terminal_size's rule)."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isascii() and columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.__stdout__ is None:  # not set, or not a number: as shutil, ask the terminal (if any)
        return 80
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (ValueError, OSError):  # a closed stdout, or not a terminal
        return 80


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr, like every other refusal."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        from adsdash.output import Printer

        Printer().error(f"{message} (see `{self.prog} --help`)")
        raise SystemExit(2)


def _global_flags(*, for_subcommand: bool) -> _Parser:
    """The flags every command takes. Sub-commands get a copy without defaults: with defaults
    of their own, argparse would overwrite a flag given before the command."""
    default = argparse.SUPPRESS if for_subcommand else None
    flags = _Parser(add_help=False, argument_default=default)
    flags.add_argument("--config", type=Path, help="settings file (TOML)")
    flags.add_argument("--ads-sync-path", dest="ads_sync_path", help="the ads_sync project folder")
    flags.add_argument("--cli-command", dest="cli_command", help="command prefix that runs ads_sync")
    flags.add_argument("--home", help="adsdash's data folder")
    flags.add_argument("--workers", type=_positive, help="jobs one worker runs at once")
    flags.add_argument("--json", action="store_true", default=argparse.SUPPRESS if for_subcommand else False,
                       help="print JSON")
    return flags


# The flags before a command: those that take a value, and those that do not.
_GLOBAL_VALUED = frozenset({"--config", "--ads-sync-path", "--cli-command", "--home", "--workers"})
_GLOBAL_PLAIN = frozenset({"--json", "--read-only", "--version"})


def command_named(argv: list[str]) -> str | None:
    """argv's command, when it can be told for sure without argparse: every word before it is a
    global flag spelled out in full. Otherwise (help, an abbreviation, a typo) None."""
    words = iter(argv)
    for word in words:
        if word.split("=", 1)[0] in _GLOBAL_VALUED:
            if "=" not in word and next(words, None) is None:
                return None
        elif word not in _GLOBAL_PLAIN:
            return word if word in COMMANDS else None
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser. Given the argv to parse, it holds only the command argv names (when
    command_named can tell it), which parses it exactly as the whole parser would: building
    all twenty-odd commands costs ~40 ms, more than the rest of a submit."""
    only = command_named(argv) if argv is not None else None
    subcommand_flags = _global_flags(for_subcommand=True)
    p = _Parser(prog="adsdash", parents=[_global_flags(for_subcommand=False)],
                description="Command center for ads_sync. Without a command: open the app.")
    p.add_argument("--version", action=_VersionAction)
    p.add_argument("--read-only", action="store_true", help="open the app with every action disabled")
    # prog given here and below: to find it, argparse would build a help formatter (importing shutil, locale)
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", prog=p.prog)
    for name, (help, add_arguments) in COMMANDS.items():
        if only is None or name == only:
            add_arguments(sub.add_parser(name, parents=[subcommand_flags], help=help, description=help),
                          subcommand_flags)
    return p


Flags = argparse.ArgumentParser


def _nothing(parser: Flags, flags: Flags) -> None:
    pass


def _demo(demo: Flags, flags: Flags) -> None:
    demo.add_argument("--dir", type=Path, default=Path("demo"))
    demo.add_argument("--clients", type=_client_count, default=30)
    demo.add_argument("--read-only", action="store_true", default=argparse.SUPPRESS)


def _worker(worker: Flags, flags: Flags) -> None:
    worker.add_argument("--background", action="store_true", help=argparse.SUPPRESS)  # how the app starts one
    worker.add_argument("--stop", action="store_true", help="stop this data folder's background worker")
    worker.add_argument("--metrics-port", type=_port, metavar="N",
                        help="serve Prometheus metrics on /metrics at port N")
    worker.add_argument("--metrics-address", metavar="ADDRESS",
                        help="the address to serve metrics on (default 127.0.0.1: this host only)")


def _slug(parser: Flags, flags: Flags) -> None:
    parser.add_argument("slug")


def _job_id(parser: Flags, flags: Flags) -> None:
    parser.add_argument("id", type=_positive)


def _sweeping(parser: Flags) -> None:
    parser.add_argument("--all", action="store_true", help="every client, worst first")
    parser.add_argument("--freshness", metavar="KINDS", help="the clients of these kinds, e.g. late,stale")


def _run(run: Flags, flags: Flags) -> None:
    from adsdash import catalogue

    run.add_argument("command", help="one of: " + ", ".join(c for c in catalogue.COMMANDS if c != "report"))
    run.add_argument("slug", nargs="*", help="a client; several, --all or --freshness queue a sweep")
    run.add_argument("--start")
    run.add_argument("--end")
    run.add_argument("--scope", help=argparse.SUPPRESS)
    run.add_argument("--follow", action="store_true", help="stream the output; exit with the CLI's code")
    run.add_argument("--dry-run", action="store_true",
                     help="repair: the days, the rows there now and the expected time; queues nothing")
    _sweeping(run)


def _report(rep: Flags, flags: Flags) -> None:
    from adsdash import catalogue

    rep.add_argument("slug", nargs="*")
    _sweeping(rep)
    # No default here: the catalogue applies it when the request is built, as for the app's.
    rep.add_argument("--scope", help=f"default {catalogue.DEFAULT_SCOPE}; see `adsdash scopes`")
    rep.add_argument("--follow", action="store_true")
    lacking = rep.add_mutually_exclusive_group()  # a scope over days the client's data lacks (report_check)
    lacking.add_argument("--append-first", action="store_true",
                         help="queue an append of the client first, and the report after it (if it finishes)")
    lacking.add_argument("--anyway", action="store_true", help="queue the report over the missing days anyway")


def _logs(logs: Flags, flags: Flags) -> None:
    logs.add_argument("id", type=_positive)
    logs.add_argument("--follow", action="store_true")
    logs.add_argument("--raw", action="store_true", help="the exact bytes, unfiltered (for files, not terminals)")


def _jobs(jobs: Flags, flags: Flags) -> None:
    from adsdash.records import STATUSES

    jobs.add_argument("--slug")
    jobs.add_argument("--status", choices=STATUSES)
    jobs.add_argument("--limit", type=_positive, default=50)


def _schedules(schedules: Flags, flags: Flags) -> None:
    from adsdash import cli_schedules  # light: argparse only, until it runs

    cli_schedules.add_arguments(schedules, flags)


def _audit(audit: Flags, flags: Flags) -> None:
    from adsdash import cli_upkeep  # light: argparse only, until it runs

    cli_upkeep.add_audit_arguments(audit, flags)


def _prune(prune: Flags, flags: Flags) -> None:
    from adsdash import cli_upkeep

    cli_upkeep.add_prune_arguments(prune, flags)


def _coverage(parser: Flags, flags: Flags) -> None:
    from adsdash import cli_coverage  # light: argparse only, until it runs

    cli_coverage.add_coverage_arguments(parser, flags)


def _gaps(parser: Flags, flags: Flags) -> None:
    from adsdash import cli_coverage

    cli_coverage.add_gaps_arguments(parser, flags)


def _history(parser: Flags, flags: Flags) -> None:
    from adsdash import cli_coverage

    cli_coverage.add_history_arguments(parser, flags)


def _notify(notify: Flags, flags: Flags) -> None:
    from adsdash import cli_notify  # light: argparse only, until it runs

    cli_notify.add_notify_arguments(notify, flags)


def _snooze(snooze: Flags, flags: Flags) -> None:
    from adsdash import cli_notify

    cli_notify.add_snooze_arguments(snooze, flags)


def _sandbox(sandbox: Flags, flags: Flags) -> None:
    actions = sandbox.add_subparsers(dest="sandbox_cmd", required=True, metavar="ACTION", prog=sandbox.prog)
    init = actions.add_parser("init", help="write a sandbox workspace", parents=[flags])
    init.add_argument("dir", type=Path)
    init.add_argument("--clients", type=_client_count, default=30)


def _store(store: Flags, flags: Flags) -> None:
    actions = store.add_subparsers(dest="store_cmd", required=True, metavar="ACTION", prog=store.prog)
    actions.add_parser("check", help="SQLite's quick_check of the job store (exit 1 on problems)", parents=[flags])
    actions.add_parser("backup", help="a consistent copy of the job store, safe while it is in use",
                       parents=[flags]).add_argument("file", type=Path, help="a new file")


# Each command: its help, and what adds its arguments (run only for the command being parsed).
COMMANDS: dict[str, tuple[str, Callable[[Flags, Flags], None]]] = {
    "demo": ("create a sandbox workspace if missing and open the app on it", _demo),
    "worker": ("run a worker in the foreground (SIGINT/SIGTERM stop it cleanly)", _worker),
    "config": ("show each setting, its value and where it came from", _nothing),
    "clients": ("list clients with freshness", _nothing),
    "status": ("data status of one client", _slug),
    "run": ("queue an ads_sync command for a client, or several (a sweep)", _run),
    "report": ("queue a report, or one for each of several clients (a sweep)", _report),
    "job": ("a job's status", _job_id),
    "result": ("a job's stdout, stderr and exit code", _job_id),
    "logs": ("a job's output", _logs),
    "jobs": ("recent jobs, newest first", _jobs),
    "cancel": ("cancel a queued or running job", _job_id),
    "retry": ("queue a job again with the same arguments", _job_id),
    "commands": ("the ads_sync commands adsdash runs", _nothing),
    "scopes": ("report scopes", _nothing),
    "health": ("store, worker, ads_sync folder and CLI", _nothing),
    "metrics": ("Prometheus metrics, once, in the text format (for node_exporter's textfile collector)", _nothing),
    "schedules": ("the schedules: next runs, last outcomes, paused or not; pause or resume them", _schedules),
    "audit": ("who changed what, when, from where: queue, cancel, retry, force-unlock, pause, prune", _audit),
    "prune": ("remove old job output and rows now, as the worker does daily (--dry-run: only say)", _prune),
    "coverage": ("a client's rows and cost per day from its master CSV, and each day's kind", _coverage),
    "gaps": ("the days missing from the clients' data up to their watermarks, as ranges", _gaps),
    "history": ("each change of a client's watermarks seen, and the job that moved it", _history),
    "notify": ("alerts through Apprise: test each URL, check for a dead worker (cron), recent events", _notify),
    "snooze": ("snooze a client's alerts for N hours or until it is fresh (recorded, not sent); --clear ends it",
               _snooze),
    "snoozes": ("the clients whose alerts are snoozed", _nothing),
    "sandbox": ("the sandbox ads_sync", _sandbox),
    "store": ("the job store file", _store),
}
