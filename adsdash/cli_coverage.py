"""`adsdash coverage SLUG` (rows and cost per day, each day's kind) and `adsdash gaps` (the
days missing, as ranges, per client): read from the master CSVs (coverage.py), never written.

Registered by cli_args.py; imports nothing at the top beyond argparse until it runs.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adsdash.engine import Engine
    from adsdash.output import Printer
    from adsdash.workspace import Client


def add_coverage_arguments(parser: argparse.ArgumentParser, flags: argparse.ArgumentParser) -> None:
    parser.add_argument("slug")
    parser.add_argument("--days", type=int, default=90, metavar="N",
                        help="the last N days up to the client's today (default 90; 0: from the first day)")


def add_gaps_arguments(parser: argparse.ArgumentParser, flags: argparse.ArgumentParser) -> None:
    parser.add_argument("slug", nargs="*", help="these clients (default: every client with a gap)")
    parser.add_argument("--all", action="store_true", help="every client, also those without a gap")


def add_history_arguments(parser: argparse.ArgumentParser, flags: argparse.ArgumentParser) -> None:
    parser.add_argument("slug")
    parser.add_argument("--limit", type=int, default=50, metavar="N", help="the newest N changes (default 50)")


def history(engine: Engine, args: argparse.Namespace, out: Printer) -> int:
    """Each change of the client's watermarks seen (newest first); looks at them now first."""
    from adsdash import timefmt, watermarks

    client = _client(engine, args.slug)
    watermarks.observe(engine.store, [client], engine.clock())
    changes = watermarks.history(engine.store, client.slug, limit=max(1, args.limit))
    if not changes and not out.json_mode:
        out.note(f"no change of {client.slug}'s watermarks seen yet")
        return 0
    out.table(["seen", "source", "from", "to", "moved by", ""],
              [(timefmt.local(c.observed_at), c.source, c.from_date or "none", c.to_date or "none",
                f"job {c.job_id}" if c.job_id else "outside adsdash", "BACKWARDS" if c.backwards else "")
               for c in changes], data=[c.to_dict() for c in changes])
    return 0


def _client(engine: Engine, slug: str) -> Client:
    from adsdash import catalogue
    from adsdash.catalogue import RequestError

    if problem := engine.workspace.clients_folder_problem():
        raise RequestError(problem)
    client = engine.workspace.client(slug)
    if client is None:
        catalogue.check_slug(slug, engine.workspace.slugs())
        raise RequestError(f"unknown client {slug!r}")
    return client


def coverage(engine: Engine, args: argparse.Namespace, out: Printer) -> int:
    """Exit 1 when the client's CSV cannot be read."""
    from adsdash.catalogue import RequestError

    if args.days < 0:
        raise RequestError(f"--days must be 0 or more, got {args.days}")
    client = _client(engine, args.slug)
    found = engine.coverage.get(client.slug)
    if found.problem:
        out.error(f"{client.slug}: {found.problem}")
        return 1
    today = engine.client_today(client.slug)
    watermark = client.watermarks.get("google_ads")
    first = found.first or today
    start = first if args.days == 0 else max(first, today - timedelta(days=args.days - 1))
    days = list(found.each_day(start, today, watermark, today)) if start <= today else []
    gaps = found.gaps(watermark)
    data = {"slug": client.slug, "watermark": watermark.isoformat() if watermark else None,
            "first": found.first.isoformat() if found.first else None, "today": today.isoformat(),
            "days": [{"date": d.day.isoformat(), "rows": d.rows, "cost": round(d.cost, 2), "kind": d.kind}
                     for d in days],
            "gaps": [_range(first_day, last_day) for first_day, last_day in gaps]}
    out.table(["date", "rows", "cost", "kind"],
              [(d.day.isoformat(), d.rows, f"{d.cost:,.2f}", d.kind) for d in days], data=data)
    if not out.json_mode:
        out.note(_gap_line(gaps))
    return 0


def gaps(engine: Engine, args: argparse.Namespace, out: Printer) -> int:
    """Exit 1 when a client shown has a gap or a CSV that cannot be read (for cron)."""
    from adsdash.catalogue import RequestError

    if args.slug and args.all:
        raise RequestError("give slugs or --all, not both")
    clients = [_client(engine, slug) for slug in args.slug] if args.slug else engine.workspace.clients()
    found: list[dict[str, Any]] = []
    for client in clients:
        cover = engine.coverage.get(client.slug)
        watermark = client.watermarks.get("google_ads")
        ranges = cover.gaps(watermark)
        if ranges or cover.problem or args.all or args.slug:
            found.append({"slug": client.slug, "watermark": watermark.isoformat() if watermark else None,
                          "gap_days": sum((last - first).days + 1 for first, last in ranges),
                          "gaps": [_range(first, last) for first, last in ranges], "problem": cover.problem})
    if found or out.json_mode:
        out.table(["client", "gap days", "gaps"],
                  [(f["slug"], f["gap_days"], f["problem"] or _gap_ranges(f["gaps"])) for f in found], data=found)
    else:
        out.note(f"no gaps in {len(clients)} clients")
    return 1 if any(f["gap_days"] or f["problem"] for f in found) else 0


def _range(first, last) -> dict:
    return {"start": first.isoformat(), "end": last.isoformat(), "days": (last - first).days + 1}


def _gap_ranges(ranges: list[dict], shown: int = 3) -> str:
    text = ", ".join(r["start"] if r["days"] == 1 else f"{r['start']}..{r['end']}" for r in ranges[:shown])
    return text + (f" and {len(ranges) - shown} more" if len(ranges) > shown else "") if ranges else ""


def _gap_line(ranges) -> str:
    if not ranges:
        return "no gaps up to the watermark"
    total = sum((last - first).days + 1 for first, last in ranges)
    return f"{total} gap day{'s' * (total != 1)}: {_gap_ranges([_range(a, b) for a, b in ranges], 5)}"
