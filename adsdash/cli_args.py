"""The command line's arguments: every command, its flags, and their checks (argparse).
Usage errors are one line on stderr, like every other refusal."""

from __future__ import annotations

import argparse
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


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr, like every other refusal."""

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


def build_parser() -> argparse.ArgumentParser:
    from adsdash import catalogue
    from adsdash.store import STATUSES

    subcommand_flags = _global_flags(for_subcommand=True)
    p = _Parser(prog="adsdash", parents=[_global_flags(for_subcommand=False)],
                description="Command center for ads_sync. Without a command: open the app.")
    p.add_argument("--version", action=_VersionAction)
    p.add_argument("--read-only", action="store_true", help="open the app with every action disabled")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")

    def add(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[subcommand_flags], help=help, description=help)

    demo = add("demo", "create a sandbox workspace if missing and open the app on it")
    demo.add_argument("--dir", type=Path, default=Path("demo"))
    demo.add_argument("--clients", type=_client_count, default=30)
    demo.add_argument("--read-only", action="store_true", default=argparse.SUPPRESS)
    worker = add("worker", "run a worker in the foreground (SIGINT/SIGTERM stop it cleanly)")
    worker.add_argument("--background", action="store_true", help=argparse.SUPPRESS)  # how the app starts one
    worker.add_argument("--stop", action="store_true", help="stop this data folder's background worker")
    add("config", "show each setting, its value and where it came from")
    add("clients", "list clients with freshness")
    add("status", "data status of one client").add_argument("slug")
    run = add("run", "queue an ads_sync command for a client, or several (a sweep)")
    run.add_argument("command", help="one of: " + ", ".join(c for c in catalogue.COMMANDS if c != "report"))
    run.add_argument("slug", nargs="*", help="a client; several, --all or --freshness queue a sweep")
    run.add_argument("--start")
    run.add_argument("--end")
    run.add_argument("--scope", help=argparse.SUPPRESS)
    run.add_argument("--follow", action="store_true", help="stream the output; exit with the CLI's code")
    rep = add("report", "queue a report, or one for each of several clients (a sweep)")
    rep.add_argument("slug", nargs="*")
    for sweeping in (run, rep):
        sweeping.add_argument("--all", action="store_true", help="every client, worst first")
        sweeping.add_argument("--freshness", metavar="KINDS", help="the clients of these kinds, e.g. late,stale")
    # No default here: the catalogue applies it when the request is built, as for the app's.
    rep.add_argument("--scope", help=f"default {catalogue.DEFAULT_SCOPE}; see `adsdash scopes`")
    rep.add_argument("--follow", action="store_true")
    add("job", "a job's status").add_argument("id", type=_positive)
    add("result", "a job's stdout, stderr and exit code").add_argument("id", type=_positive)
    logs = add("logs", "a job's output")
    logs.add_argument("id", type=_positive)
    logs.add_argument("--follow", action="store_true")
    logs.add_argument("--raw", action="store_true", help="the exact bytes, unfiltered (for files, not terminals)")
    jobs = add("jobs", "recent jobs, newest first")
    jobs.add_argument("--slug")
    jobs.add_argument("--status", choices=STATUSES)
    jobs.add_argument("--limit", type=_positive, default=50)
    add("cancel", "cancel a queued or running job").add_argument("id", type=_positive)
    add("retry", "queue a job again with the same arguments").add_argument("id", type=_positive)
    add("commands", "the ads_sync commands adsdash runs")
    add("scopes", "report scopes")
    add("health", "store, worker, ads_sync folder and CLI")
    from adsdash import cli_schedules  # light: argparse only, until it runs

    cli_schedules.add_arguments(add("schedules", cli_schedules.HELP), subcommand_flags)
    sandbox = add("sandbox", "the sandbox ads_sync")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_cmd", required=True, metavar="ACTION")
    init = sandbox_sub.add_parser("init", help="write a sandbox workspace", parents=[subcommand_flags])
    init.add_argument("dir", type=Path)
    init.add_argument("--clients", type=_client_count, default=30)
    store = add("store", "the job store file")
    store_sub = store.add_subparsers(dest="store_cmd", required=True, metavar="ACTION")
    store_sub.add_parser("check", help="SQLite's quick_check of the job store (exit 1 on problems)",
                         parents=[subcommand_flags])
    store_sub.add_parser("backup", help="a consistent copy of the job store, safe while it is in use",
                         parents=[subcommand_flags]).add_argument("file", type=Path, help="a new file")
    return p
