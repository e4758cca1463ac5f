"""`adsdash audit [--since 24h|7d|ISO] [--user U] [--action A] [--limit N]` and `adsdash prune [--dry-run]`.

Registered by cli.py and cli_args.py; imported when the parser is built, so nothing at the top
beyond argparse: the rest is loaded when the command runs.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adsdash.engine import Engine
    from adsdash.output import Printer


def add_audit_arguments(parser: argparse.ArgumentParser, flags: argparse.ArgumentParser) -> None:
    from adsdash.audit import ACTIONS  # light: no store, no Rich

    parser.add_argument("--since", metavar="WHEN",
                        help="a duration back from now (24h, 7d, 30m, 2w) or an ISO date/time")
    parser.add_argument("--user", help="only this user's actions")
    parser.add_argument("--action", choices=ACTIONS, help="only this action")
    parser.add_argument("--limit", type=int, default=1000, help="rows at most, newest first (default 1000)")


def add_prune_arguments(parser: argparse.ArgumentParser, flags: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="say what would be removed; remove nothing")


def run_audit(engine: Engine, args: argparse.Namespace, out: Printer) -> int:
    from adsdash import audit, timefmt
    from adsdash.catalogue import RequestError

    if args.limit < 1:
        raise RequestError(f"--limit: expected a whole number from 1, got {args.limit}")
    try:
        since = audit.parse_since(args.since, engine.clock()) if args.since else None
    except ValueError as exc:
        raise RequestError(str(exc)) from None
    rows = audit.read(engine.store, since=since, user=args.user, action=args.action, limit=args.limit)
    out.table(["when", "who", "action", "target", "outcome", "detail"],
              [(timefmt.local(e.at), e.who, e.action, e.target,
                e.outcome + (f": {e.reason}" if e.reason else ""), audit.describe(e.detail)) for e in rows],
              data=[e.to_dict() for e in rows])
    return 0


def run_prune(engine: Engine, args: argparse.Namespace, out: Printer) -> int:
    from adsdash import audit, retention

    rules = retention.rules_of(engine.settings)
    before = retention.size(engine.store)
    now = engine.clock()
    done = (retention.plan if args.dry_run else retention.prune)(engine.store, rules, now)
    after = before if args.dry_run else retention.size(engine.store)
    counts = done.to_dict()
    if not args.dry_run:
        audit.record(engine.store, [audit.entry(audit.PRUNE, "job store", origin="shell", at=now, detail=counts)])
    data = {**counts, "dry_run": args.dry_run, "rules": rules._asdict(),
            "store_bytes_before": before.used, "store_bytes_after": after.used}
    verb = "would remove" if args.dry_run else "removed"
    text = (f"{verb}: the output of {counts['jobs_output_removed']} job(s), {counts['lines']:,} lines,"
            f" {retention.human_bytes(counts['bytes'])}; {counts['job_rows_deleted']} job row(s)"
            f" (rules: output {rules.output_keep_days} days and each client's newest {rules.output_keep_jobs} jobs,"
            f" rows {max(rules.job_keep_days, rules.output_keep_days)} days)")
    if not args.dry_run:
        text += f"; store {retention.human_bytes(before.used)} -> {retention.human_bytes(after.used)}"
    out.record(data, text)
    return 0
