"""`adsdash notify test|check|events`, `adsdash snooze SLUG --hours N|--until-fresh|--clear`, `adsdash snoozes`.

Registered by cli.py and cli_args.py; imported when the parser is built, so nothing at the top
beyond argparse: the rest (Apprise above all) is loaded when the command runs.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adsdash.engine import Engine
    from adsdash.output import Printer

NO_URLS = ("no notify_urls configured: set ADSDASH_NOTIFY_URLS, or notify_urls in the settings file"
           " (see `adsdash config`)")


def add_notify_arguments(parser: argparse.ArgumentParser, flags: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="notify_cmd", required=True, metavar="ACTION", prog=parser.prog)
    actions.add_parser("test", parents=[flags],
                       help="send a test message to each URL and say, per URL, whether it went (exit 1 if not)")
    actions.add_parser("check", parents=[flags],
                       help="for cron: alert when no worker is live while jobs wait, and send what is due then")
    events = actions.add_parser("events", parents=[flags], help="recent alerts and where each went")
    events.add_argument("--limit", type=int, default=50, help="rows at most, newest first (default 50)")


def add_snooze_arguments(parser: argparse.ArgumentParser, flags: argparse.ArgumentParser) -> None:
    parser.add_argument("slug")
    how = parser.add_mutually_exclusive_group(required=True)
    how.add_argument("--hours", type=float, metavar="N", help="for N hours")
    how.add_argument("--until-fresh", action="store_true", help="until the client is fresh again")
    how.add_argument("--clear", action="store_true", help="end the client's snooze")
    parser.add_argument("--reason", help="why (kept with the snooze)")


def run_notify(engine: Engine, args: argparse.Namespace, out: Printer) -> int:
    from adsdash.catalogue import RequestError

    if args.notify_cmd == "events":
        return _events(engine, args, out)
    if not engine.settings.notify_urls:
        raise RequestError(NO_URLS)
    if args.notify_cmd == "test":
        return _test(engine, out)
    return _check(engine, out)


def _test(engine: Engine, out: Printer) -> int:
    from adsdash import notify_send

    results = notify_send.test_urls(engine)
    out.table(["url", "", "detail"], [(url, "sent" if error is None else "FAILED", error or "")
                                      for url, error in results],
              data=[{"url": url, "sent": error is None, "error": error} for url, error in results])
    return 1 if any(error is not None for _url, error in results) else 0


def _check(engine: Engine, out: Printer) -> int:
    import os

    from adsdash import notify_send, notify_store
    from adsdash.notify_url import url_key
    from adsdash.records import this_host
    from adsdash.store import QUEUED

    made = notify_send.check(engine, worker=f"{this_host()}:{os.getpid()}:check")
    failing = notify_send.failing_text(engine)
    keys = [url_key(url) for url in engine.settings.notify_urls]
    data = {"live_workers": len(engine.store.live_workers()), "queued": engine.store.counts()[QUEUED],
            "new_events": made, "next_delivery_due": notify_store.next_due(engine.store, keys), "failing": failing}
    if out.json_mode:
        out.dump(data)
    else:  # quiet unless something needs saying: cron mails what it prints
        if made:
            out.text(f"no live worker while jobs wait: alert recorded ({len(made)} event(s))")
        if failing:
            out.text(failing)
    return 0


def _events(engine: Engine, args: argparse.Namespace, out: Printer) -> int:
    from adsdash import notify_store, timefmt
    from adsdash.catalogue import RequestError

    if args.limit < 1:
        raise RequestError(f"--limit: expected a whole number from 1, got {args.limit}")
    rows = notify_store.recent(engine.store, args.limit)

    def state(event, sent: int, pending: int, gave_up: int, error: str | None) -> str:
        if event.muted:
            return f"not sent: {event.muted}"
        parts = [f"sent {sent}" if sent else "", f"pending {pending}" if pending else "",
                 f"given up {gave_up}" if gave_up else ""]
        return ", ".join(p for p in parts if p) + (f" ({error})" if error and (pending or gave_up) else "")

    out.table(["when", "kind", "client", "title", "delivery"],
              [(timefmt.local(e.at), e.kind, e.slug or "", e.title, state(e, s, p, g, err))
               for e, s, p, g, err in rows],
              data=[{**e._asdict(), "sent": s, "pending": p, "given_up": g, "last_error": err}
                    for e, s, p, g, err in rows])
    return 0


def run_snooze(engine: Engine, args: argparse.Namespace, out: Printer) -> int:
    from adsdash import notify_send, timefmt

    if args.clear:
        had = notify_send.unsnooze_client(engine, args.slug, origin="shell")
        out.record({"slug": args.slug, "cleared": had},
                   f"{args.slug}: snooze cleared" if had else f"{args.slug} had no snooze")
        return 0
    done = notify_send.snooze_client(engine, args.slug, hours=args.hours, until_fresh=args.until_fresh,
                                     reason=args.reason, origin="shell")
    when = "until it is fresh" if done.until_fresh else f"until {timefmt.local(done.until)}"
    out.record(done._asdict(), f"{args.slug}: alerts snoozed {when} (recorded, not sent)")
    return 0


def run_snoozes(engine: Engine, args: argparse.Namespace, out: Printer) -> int:
    from adsdash import notify_store, timefmt

    found = sorted(notify_store.snoozes(engine.store, engine.clock()).values())
    out.table(["client", "until", "by", "since", "reason"],
              [(s.slug, "fresh" if s.until_fresh else timefmt.local(s.until), s.by_user or "?", timefmt.local(s.at),
                s.reason or "") for s in found],
              data=[s._asdict() for s in found])
    return 0
