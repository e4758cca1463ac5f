"""`adsdash run COMMAND SLUG SLUG ...`, `--all`, `--freshness KINDS` (and `adsdash report` alike):
a sweep from the command line (see sweeps.py).

It prints one row per client, worst first: `{slug, job_id, status}` in JSON (a list), with
`error` where the client was refused. Exit codes: 0 when no client was refused (queued, or
already queued or running: a sweep is safe to repeat); 1 when some were refused and the others
queued; 2 when every one was refused, or the sweep as a whole was (an unknown command or
freshness kind, a bad argument: one line, nothing queued).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from adsdash import sweeps
from adsdash.catalogue import RequestError
from adsdash.client_filter import parse_kinds

if TYPE_CHECKING:
    from adsdash.engine import Engine
    from adsdash.output import Printer


def run_sweep(engine: Engine, args: argparse.Namespace, out: Printer, command: str, params: dict[str, Any]) -> int:
    which = f"{args.cmd} {command}" if args.cmd == "run" else args.cmd
    if args.follow:
        raise RequestError(f"--follow follows one job: give {which} one client's slug")
    if args.slug and (args.all or args.freshness is not None):
        raise RequestError("give slugs, or --all / --freshness, not both")
    if not (args.slug or args.all or args.freshness is not None):
        raise RequestError(f"{which} needs a client's slug (or several, --all, or --freshness KINDS)")
    kinds = parse_kinds(args.freshness, what="--freshness") if args.freshness is not None else frozenset()
    if problem := engine.workspace.clients_folder_problem():
        raise RequestError(problem)
    slugs = sweeps.choose(engine.workspace.clients(), slugs=args.slug or None, kinds=kinds)
    outcomes = sweeps.sweep(engine, command, slugs, origin="shell", anyway=getattr(args, "anyway", False),
                            append_first=getattr(args, "append_first", False), **params)
    out.table(["client", "job", "status", "why"],
              [(o.slug, o.job_id, o.status, o.error or "") for o in outcomes],
              data=[o.to_dict() for o in outcomes])
    out.note(f"{command}: {sweeps.tally(outcomes)}" if outcomes else f"{command}: no client matches")
    if any(o.status == sweeps.QUEUED for o in outcomes) and not engine.store.live_workers():
        out.note("no live worker: the jobs wait until `adsdash worker` or the app runs")
    refused = sum(o.status == sweeps.REFUSED for o in outcomes)
    if not refused:
        return 0
    return 2 if refused == len(outcomes) else 1
