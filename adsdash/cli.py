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


class NotFound(LookupError):
    pass


def _version() -> str:
    import adsdash

    return adsdash.__version__  # pyproject.toml's version, as installed


def print_version() -> NoReturn:
    """What argparse's version action prints, and how it exits."""
    with contextlib.suppress(AttributeError, OSError):  # no stdout, or a closed one: as argparse, say nothing
        sys.stdout.write(f"adsdash {_version()}\n")
    raise SystemExit(0)


def settings_from(args: argparse.Namespace, **overrides: Any) -> Settings:
    from adsdash.config import load_settings

    flags = {k: getattr(args, k, None) for k in ("ads_sync_path", "cli_command", "home", "workers")}
    flags.update({k: v for k, v in overrides.items() if v is not None and flags.get(k) is None})
    return load_settings(flags, config_file=getattr(args, "config", None))


def entry() -> NoReturn:
    """The console script and `python -m adsdash`: main(), then the exit. A submit (run or report
    without --follow) ends at once (_exit_now); every other command as Python ends."""
    words = sys.argv[1:]
    code = main(words)
    from adsdash.cli_args import command_named

    if command_named(words) in ("run", "report") and "--follow" not in words:
        _exit_now(code)
    raise SystemExit(code)


def _exit_now(code: int) -> NoReturn:
    """End without Python's teardown and without the checkpoint SQLite runs when the last
    connection to the store closes: ~25 ms of a ~120 ms submit, as much as its imports. The job
    is committed; the WAL keeps it, as after any process that ends without closing, and is merged
    by the next checkpoint (the worker's, the app's, or SQLite's own at 1,000 pages)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader left: nobody to tell (as main's 141)
        code = code or 141
    except (OSError, ValueError) as exc:  # a full disk, a closed stream: said where it can be
        with contextlib.suppress(OSError, ValueError):
            os.write(2, f"adsdash: error: cannot write the output: {exc}\n".encode(errors="replace"))
        code = code or 1
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    if words == ["--version"]:
        print_version()  # at once: not even the parser is built
    from adsdash.cli_args import build_parser

    parser = build_parser(words)
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
        if args.metrics_address is not None and args.metrics_port is None:
            from adsdash.catalogue import RequestError

            raise RequestError("--metrics-address needs --metrics-port")
        worker = Worker(settings)
        if args.metrics_port is not None:  # before the worker starts: a taken port starts nothing
            worker.serve_metrics(args.metrics_address or "127.0.0.1", args.metrics_port)
        worker.run_forever()
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


def _repair_preview(engine: Engine, args, out: Printer, command: str) -> int:
    """`run repair SLUG --start --end --dry-run`: what it would touch; exit 2 if it would be refused."""
    from adsdash.catalogue import RequestError

    if command != "repair":
        raise RequestError(f"--dry-run is for repair, not {command}")
    if len(args.slug) != 1 or args.all or args.freshness is not None:
        raise RequestError("--dry-run looks at one client's repair: give one slug")
    preview = engine.repair_preview(args.slug[0], args.start, args.end)
    out.lines(preview.lines(), data=preview.to_dict())
    return 2 if preview.overlap else 0


def _run(engine: Engine, args, out: Printer) -> int:
    command = "report" if args.cmd == "report" else args.command
    params = {"scope": args.scope} if command == "report" else {"start": args.start, "end": args.end,
                                                                   "scope": args.scope}
    if getattr(args, "dry_run", False):
        return _repair_preview(engine, args, out, command)
    if len(args.slug) != 1 or args.all or args.freshness is not None:
        from adsdash.cli_sweep import run_sweep

        return run_sweep(engine, args, out, command, params)
    if getattr(args, "append_first", False):
        append, job = engine.append_then(command, args.slug[0], **params)
        out.note(f"job {append.id}: append {job.slug} first; the report waits for it")
    else:
        job = engine.submit(command, args.slug[0], anyway=getattr(args, "anyway", False), **params)
    if not engine.store.live_workers():
        out.note("no live worker: the job waits until `adsdash worker` or the app runs")
    if not args.follow:
        waits = {"after": job.after} if job.after is not None else {}
        out.record({"job_id": job.id, "status": job.status, **waits}, f"job {job.id} queued: {command} {job.slug}")
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
    _pruned_note(job, out)
    out.result(job, engine.store.chunks(job.id, stream="stdout"), engine.store.chunks(job.id, stream="stderr"))
    return 0


def _pages(store: Store, job_id: int, stream: str | None = None) -> Iterator[list[Line]]:
    """A job's lines (of one stream, or all), PAGE_LINES at a time."""
    seq = 0
    while page := store.lines(job_id, after=seq, limit=PAGE_LINES, stream=stream):
        yield page
        seq = page[-1].seq


def _pruned_note(job, out: Printer) -> None:
    if job.output_pruned_at:  # retention removed it (adsdash/retention.py): say so, not just nothing
        from adsdash import timefmt

        out.note(f"job {job.id}: its output ({job.line_count:,} lines) was pruned on"
                 f" {timefmt.local(job.output_pruned_at)}")


def _logs(engine: Engine, args, out: Printer) -> int:
    job = engine.store.job(args.id)
    if job is None:
        raise NotFound(f"no job {args.id}")
    _pruned_note(job, out)
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


def _metrics(engine: Engine, args, out: Printer) -> int:
    """The exposition once (1 when a source could not be read: the rest is still printed)."""
    from adsdash import metrics

    families, problems = metrics.read_all(engine)
    if out.json_mode:
        out.dump({"samples": metrics.samples(families), "problems": problems})
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(metrics.exposition(families))
        sys.stdout.flush()
    for problem in problems:
        out.error(problem)
    return 1 if problems else 0


def _audit(engine: Engine, args, out: Printer) -> int:
    from adsdash import cli_upkeep

    return cli_upkeep.run_audit(engine, args, out)


def _prune(engine: Engine, args, out: Printer) -> int:
    from adsdash import cli_upkeep

    return cli_upkeep.run_prune(engine, args, out)


def _coverage(engine: Engine, args, out: Printer) -> int:
    from adsdash import cli_coverage

    return cli_coverage.coverage(engine, args, out)


def _gaps(engine: Engine, args, out: Printer) -> int:
    from adsdash import cli_coverage

    return cli_coverage.gaps(engine, args, out)


def _history(engine: Engine, args, out: Printer) -> int:
    from adsdash import cli_coverage

    return cli_coverage.history(engine, args, out)


def _notify(engine: Engine, args, out: Printer) -> int:
    from adsdash import cli_notify

    return {"notify": cli_notify.run_notify, "snooze": cli_notify.run_snooze,
            "snoozes": cli_notify.run_snoozes}[args.cmd](engine, args, out)


def _schedules(engine: Engine, args, out: Printer) -> int:
    from adsdash import cli_schedules

    return cli_schedules.run(engine, args, out)


HANDLERS = {
    "clients": _clients, "status": _status, "run": _run, "report": _run, "job": _job, "result": _result,
    "logs": _logs, "jobs": _jobs, "cancel": _cancel, "retry": _retry, "commands": _commands,
    "scopes": _scopes, "health": _health, "store": _store, "schedules": _schedules,
    "coverage": _coverage, "gaps": _gaps, "history": _history,
    "audit": _audit, "prune": _prune, "metrics": _metrics, "notify": _notify, "snooze": _notify,
    "snoozes": _notify,
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
