"""The command line: the app, the worker, and every fact and action headless, with --json.

Exit codes: 0 done; 1 failed (job failed, not found, unhealthy, a store or data folder
that cannot be used); 2 refused input (usage, validation, configuration) — nothing is
queued then. `run --follow` and `report --follow` exit with the CLI's own exit code. A sweep
(several slugs, --all, --freshness): 1 when some clients were refused, 2 when all (cli_sweep.py).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

# Everything else is imported where a command needs it, so a command loads only its own
# part: `adsdash --version` none of it, `run` no Rich, Textual or sqlite-utils (see
# tests/test_cli_imports.py, and bench/bench_cli.py for the figures).
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterator

    from adsdash.config import Settings
    from adsdash.engine import Engine
    from adsdash.output import Printer
    from adsdash.store import Line, Store

FOLLOW_POLL_SECONDS = 0.05
PAGE_LINES = 10_000  # lines read from the store at once, so a huge job never sits in memory whole
MAX_ID = 2**63 - 1  # SQLite's largest INTEGER
MAX_SANDBOX_CLIENTS = 1000


class NotFound(LookupError):
    pass


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


def _version() -> str:
    import adsdash

    return adsdash.__version__  # pyproject.toml's version, as installed


def _print_version() -> NoReturn:
    """What argparse's version action prints, and how it exits."""
    with contextlib.suppress(AttributeError, OSError):  # no stdout, or a closed one: as argparse, say nothing
        sys.stdout.write(f"adsdash {_version()}\n")
    raise SystemExit(0)


class _VersionAction(argparse.Action):
    """argparse's "version" action, reading the version only when it is asked for."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str = "show program's version number and exit"):
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None) -> NoReturn:
        _print_version()


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


def settings_from(args: argparse.Namespace, **overrides: Any) -> Settings:
    from adsdash.config import load_settings

    flags = {k: getattr(args, k, None) for k in ("ads_sync_path", "cli_command", "home", "workers")}
    flags.update({k: v for k, v in overrides.items() if v is not None and flags.get(k) is None})
    return load_settings(flags, config_file=getattr(args, "config", None))


def main(argv: list[str] | None = None) -> int:
    if (sys.argv[1:] if argv is None else argv) == ["--version"]:
        _print_version()  # at once: not even the parser is built
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.cmd in ("run", "report") and not any(e.startswith("-") for e in extra):
        args.slug += extra  # slugs after an option: argparse (3.11) leaves them to a nargs="*" no more
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    import sqlite3

    from adsdash.catalogue import RequestError
    from adsdash.config import ConfigError
    from adsdash.datadir import DataDirError
    from adsdash.output import Printer
    from adsdash.store import StoreError

    out = Printer(json_mode=args.json)
    try:
        return dispatch(args, out)
    except (RequestError, ConfigError) as exc:
        out.error(str(exc))
        return 2
    except (NotFound, StoreError, DataDirError) as exc:
        out.error(str(exc))
        return 1
    except sqlite3.DatabaseError as exc:
        out.error(_database_error(args, exc))
        return 1
    except BrokenPipeError:  # the reader left (`adsdash logs 1 | head`): nobody to tell
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:
        out.error(f"cannot use {exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc))
        return 1
    except KeyboardInterrupt:
        out.error("interrupted")
        return 130


def _database_error(args: argparse.Namespace, exc: sqlite3.DatabaseError) -> str:
    from adsdash.config import ConfigError

    try:
        settings = settings_from(args, **_demo_overrides(args)) if args.cmd == "demo" else settings_from(args)
        where = f"job store {settings.store_path}"
    except ConfigError:
        where = "job store"
    return (f"{where}: {exc} (run `adsdash store check`;"
            " copy it away with `adsdash store backup FILE`)")


def dispatch(args: argparse.Namespace, out: Printer) -> int:
    cmd = args.cmd
    if cmd == "sandbox":
        from adsdash.catalogue import RequestError
        from adsdash.sandbox.generate import create_workspace, env_lines

        if args.dir.exists() and (not args.dir.is_dir() or any(args.dir.iterdir())):
            raise RequestError(f"{args.dir} exists and is not an empty folder:"
                               " sandbox init writes a new workspace only")
        slugs = create_workspace(args.dir, clients=args.clients)
        out.lines([f"# sandbox workspace with {len(slugs)} clients at {args.dir.resolve()}",
                   *env_lines(args.dir)], data={"dir": str(args.dir.resolve()), "clients": slugs})
        return 0
    if cmd == "demo":
        return open_demo(args)
    settings = settings_from(args)
    if cmd is None:
        return open_app(settings, read_only=args.read_only, config_file=getattr(args, "config", None))
    if cmd == "config":
        out.table(["setting", "value", "origin"], settings.describe(),
                  data={name: {"value": value, "origin": origin} for name, value, origin in settings.describe()})
        return 0
    if cmd == "worker":
        if args.stop:
            from adsdash.tasks.background import stop

            pid = stop(settings)
            out.record({"stopped": pid}, f"background worker pid {pid} stopped" if pid else "no background worker runs")
            return 0
        if args.background:
            from adsdash.tasks.background import run_background

            return run_background(settings)
        import logging

        from adsdash.tasks.worker import Worker

        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        Worker(settings).run_forever()
        return 0
    from adsdash.engine import Engine

    engine = Engine(settings)
    handler = HANDLERS[cmd]
    return handler(engine, args, out)


# -- handlers ----------------------------------------------------------------

def _clients(engine: Engine, args, out: Printer) -> int:
    from adsdash.catalogue import RequestError

    if problem := engine.workspace.clients_folder_problem():
        raise RequestError(problem)
    clients = engine.workspace.clients()
    out.clients(clients)
    return 0


def _status(engine: Engine, args, out: Printer) -> int:
    from adsdash import catalogue

    client = engine.workspace.client(args.slug)
    if client is None:
        catalogue.check_slug(args.slug, engine.workspace.slugs())
        raise NotFound(f"unknown client {args.slug!r}")
    out.client_status(client)
    return 0


def _run(engine: Engine, args, out: Printer) -> int:
    command = "report" if args.cmd == "report" else args.command
    params = {"scope": args.scope} if command == "report" else {"start": args.start, "end": args.end,
                                                                   "scope": args.scope}
    if len(args.slug) != 1 or args.all or args.freshness is not None:
        from adsdash.cli_sweep import run_sweep

        return run_sweep(engine, args, out, command, params)
    job = engine.submit(command, args.slug[0], **params)
    if not engine.store.live_workers():
        out.note("no live worker: the job waits until `adsdash worker` or the app runs")
    if not args.follow:
        out.record({"job_id": job.id, "status": job.status}, f"job {job.id} queued: {command} {job.slug}")
        return 0
    out.note(f"job {job.id} queued: {command} {job.slug}")
    return _follow(engine, job.id, out, raw=False)


def _follow(engine: Engine, job_id: int, out: Printer, *, raw: bool) -> int:
    """Print lines as they arrive until the job ends; return the CLI's exit code."""
    import time

    seq = 0
    while True:
        job = engine.job_or_error(job_id)
        lines = engine.store.lines(job_id, after=seq, limit=PAGE_LINES)
        if lines:
            seq = lines[-1].seq
            out.output(lines, raw=raw)
        elif job.ended:
            out.job_end(job)
            if job.exit_code is not None:
                return job.exit_code if job.exit_code >= 0 else 128 - job.exit_code
            return 130 if job.status == "cancelled" else 1
        else:
            time.sleep(FOLLOW_POLL_SECONDS)


def _job(engine: Engine, args, out: Printer) -> int:
    job = engine.store.job(args.id)
    if job is None:
        raise NotFound(f"no job {args.id}")
    out.job(job)
    return 0


def _result(engine: Engine, args, out: Printer) -> int:
    job = engine.store.job(args.id)
    if job is None:
        raise NotFound(f"no job {args.id}")
    out.result(job, engine.store.chunks(job.id, stream="stdout"), engine.store.chunks(job.id, stream="stderr"))
    return 0


def _pages(store: Store, job_id: int, stream: str | None = None) -> Iterator[list[Line]]:
    """A job's lines (of one stream, or all), PAGE_LINES at a time."""
    seq = 0
    while page := store.lines(job_id, after=seq, limit=PAGE_LINES, stream=stream):
        yield page
        seq = page[-1].seq


def _logs(engine: Engine, args, out: Printer) -> int:
    if engine.store.job(args.id) is None:
        raise NotFound(f"no job {args.id}")
    if args.follow:
        return _follow(engine, args.id, out, raw=args.raw)
    if out.json_mode:
        for page in _pages(engine.store, args.id):
            out.output(page, raw=args.raw)
    else:
        out.chunks(engine.store.chunks(args.id), raw=args.raw)
    return 0


def _jobs(engine: Engine, args, out: Printer) -> int:
    out.jobs(engine.store.jobs(slug=args.slug, status=args.status, limit=args.limit))
    return 0


def _cancel(engine: Engine, args, out: Printer) -> int:
    job = engine.cancel(args.id)
    note = "cancel requested; it stops within seconds" if job.status == "started" else job.status
    out.record({"job_id": job.id, "status": job.status, "cancel_requested": job.cancel_requested},
               f"job {job.id}: {note}")
    return 0


def _retry(engine: Engine, args, out: Printer) -> int:
    job = engine.retry(args.id)
    out.record({"job_id": job.id, "status": job.status}, f"job {job.id} queued: {job.command} {job.slug}")
    return 0


def _commands(engine: Engine, args, out: Printer) -> int:
    from adsdash import catalogue

    rows = [(c.name, " ".join(f"--{p} …" for p in c.params), c.typical, c.description)
            for c in catalogue.COMMANDS.values()]
    out.table(["command", "arguments", "typical time", "description"], rows,
              data=[{"command": c.name, "description": c.description, "params": list(c.params),
                     "typical": c.typical, "confirm": c.confirm} for c in catalogue.COMMANDS.values()])
    return 0


def _scopes(engine: Engine, args, out: Printer) -> int:
    from datetime import date

    from adsdash import catalogue

    kinds = catalogue.scope_kinds(date.today())  # the quarter's example: the last complete one
    out.table(["scope", "example", "description"], [(s.name, s.example, s.description) for s in kinds],
              data=[{"scope": s.name, "example": s.example, "description": s.description} for s in kinds])
    return 0


def _health(engine: Engine, args, out: Printer) -> int:
    report = engine.health()
    out.health(report)
    return 0 if report["status"] == "healthy" else 1


def _store(engine: Engine, args, out: Printer) -> int:
    from adsdash.catalogue import RequestError
    from adsdash.store import StoreError

    path = engine.settings.store_path
    if args.store_cmd == "check":
        try:
            problems = [p for p in engine.store.quick_check() if p != "ok"]
        except StoreError as exc:  # not even openable: that is the problem to report
            problems = [str(exc)]
        text = [f"{path}: ok"] if not problems else [f"{path}: {len(problems)} problem(s)", *problems]
        out.lines(text, data={"ok": not problems, "problems": problems, "path": str(path)})
        return 1 if problems else 0
    dest = args.file.expanduser().absolute()
    if dest.exists() or dest.is_symlink():
        raise RequestError(f"{dest} already exists: a backup goes to a new file")
    engine.store.backup(dest)
    out.record({"path": str(dest), "store": str(path)}, f"backed up {path} to {dest}")
    return 0


def _schedules(engine: Engine, args, out: Printer) -> int:
    from adsdash import cli_schedules

    return cli_schedules.run(engine, args, out)


HANDLERS = {
    "clients": _clients, "status": _status, "run": _run, "report": _run, "job": _job, "result": _result,
    "logs": _logs, "jobs": _jobs, "cancel": _cancel, "retry": _retry, "commands": _commands,
    "scopes": _scopes, "health": _health, "store": _store, "schedules": _schedules,
}


# -- the app -----------------------------------------------------------------

def _demo_overrides(args: argparse.Namespace) -> dict[str, str]:
    """The demo's workspace, the sandbox CLI and the data folder DIR/.adsdash (flags still win)."""
    import shlex

    root = args.dir.resolve()
    return {"ads_sync_path": str(root), "cli_command": f"{shlex.quote(sys.executable)} -m adsdash.sandbox",
            "home": str(root / ".adsdash")}


def open_demo(args: argparse.Namespace) -> int:
    from adsdash.output import Printer
    from adsdash.sandbox.generate import create_workspace, env_lines

    root = args.dir.resolve()
    if not (root / "configs" / "clients").is_dir():
        create_workspace(root, clients=args.clients)
    settings = settings_from(args, **_demo_overrides(args))
    # Said before the app takes the screen, so it is still there after quitting.
    Printer().notes([f"adsdash demo: workspace {settings.ads_sync_path}, data folder {settings.home}",
                     "# for the headless commands (adsdash jobs, adsdash run ...) on this demo:",
                     *env_lines(settings.ads_sync_path, home=settings.home)])
    return open_app(settings, read_only=args.read_only, config_file=getattr(args, "config", None))


def open_app(settings: Settings, *, read_only: bool = False, config_file: Path | None = None) -> int:
    """Open the app. Jobs run in a worker process, never in the app: without a live one, a
    background worker is started for the data folder (not in read-only mode)."""
    import logging

    from textual.theme import BUILTIN_THEMES

    from adsdash.app import AdsdashApp
    from adsdash.config import ConfigError
    from adsdash.engine import Engine
    from adsdash.logfiles import log_handler
    from adsdash.tasks import background

    if settings.theme not in BUILTIN_THEMES:
        raise ConfigError(f"theme from {settings.origins.get('theme', 'default')}: unknown theme {settings.theme!r}"
                          f" (one of: {', '.join(sorted(BUILTIN_THEMES))})")

    engine = Engine(settings)
    # The terminal belongs to the app: log to a private, rotating file in the log folder instead.
    logging.basicConfig(handlers=[log_handler(settings.log_dir, "adsdash.log")], level=logging.INFO)

    spawned: list = []

    def ensure_worker() -> bool:
        spawned[:] = [p for p in spawned if p.poll() is None]  # reap those that exited
        if engine.store.live_workers():
            return False
        proc = background.spawn(settings, config_file)
        spawned.append(proc)
        logging.getLogger(__name__).info("started a background worker, pid %s", proc.pid)
        return True

    code = AdsdashApp(engine, read_only=read_only, ensure_worker=None if read_only else ensure_worker).run()
    return code or 0


if __name__ == "__main__":
    raise SystemExit(main())
