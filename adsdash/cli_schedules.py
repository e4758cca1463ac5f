"""`adsdash schedules [--json]` and `adsdash schedules pause|resume [NAME]`.

Registered by cli.py; this module is imported when the parser is built, so it imports
nothing at the top beyond argparse: the rest is loaded when the command runs.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adsdash.engine import Engine
    from adsdash.output import Printer

def add_arguments(parser: argparse.ArgumentParser, flags: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="schedules_cmd", metavar="ACTION", prog=parser.prog)
    for action, help in (("pause", "pause a schedule (without NAME: every schedule); remembered in the store"),
                         ("resume", "resume a paused schedule (without NAME: every schedule)")):
        sub = actions.add_parser(action, help=help, description=help, parents=[flags])
        sub.add_argument("name", nargs="?", help="the schedule's name (default: all)")


def run(engine: Engine, args: argparse.Namespace, out: Printer) -> int:
    from adsdash.schedules import ScheduleBook

    settings = engine.settings
    book = ScheduleBook(settings.config_file, settings.schedules, settings.schedule_refusals)
    action = getattr(args, "schedules_cmd", None)
    if action in ("pause", "resume"):
        return _pause(engine, book, args.name, paused=action == "pause", out=out)
    return _show(engine, book, out)


def _pause(engine: Engine, book, name: str | None, *, paused: bool, out: Printer) -> int:
    from adsdash import audit
    from adsdash.catalogue import RequestError
    from adsdash.schedule_ledger import Ledger

    found, _refusals = book.current()
    names = [s.name for s in found]
    refused = None
    if name is not None and name not in names:
        known = ", ".join(names) or "none"
        refused = (f"no usable schedule named {name!r} in {engine.settings.config_file}"
                   f" (schedules: {known}; see `adsdash schedules`)")
    elif name is None and not names:
        refused = f"no usable schedule in {engine.settings.config_file} (see `adsdash schedules`)"
    if refused:
        audit.record(engine.store, [audit.entry(audit.PAUSE if paused else audit.RESUME,
                                                f"schedule {name or '(all)'}", origin="shell",
                                                at=engine.clock(), refused=refused)])
        raise RequestError(refused)
    names = [name] if name is not None else names
    Ledger(engine.store).set_paused(names, paused, engine.clock(), origin="shell")
    word = "paused" if paused else "resumed"
    out.record({"paused": paused, "schedules": names}, f"{word}: {', '.join(names)}")
    return 0


def _show(engine: Engine, book, out: Printer) -> int:
    from adsdash import schedule_view as view

    facts, refusals = view.overview(engine, book, engine.clock())
    if out.json_mode:
        out.dump({"schedules": [view.as_dict(f) for f in facts], "refusals": list(refusals),
                  "config_file": str(engine.settings.config_file)})
        return 0
    if not facts:
        out.text(view.none_text(engine.settings.config_file, bool(refusals)))
    else:
        rows = [(f.schedule.name, " ".join([f.schedule.command, *(f"--{k} {v}" for k, v in f.schedule.params.items())]),
                 f.schedule.when, f"{f.schedule.clients.text} ({f.clients})", *view.next_texts(f),
                 view.outcomes_text(f.outcomes), view.state_text(f)) for f in facts]
        out.table(["schedule", "command", "when", "clients", "next run (client time)", "next run (here)",
                   "last outcomes", "state"], rows, data=None)
        out.note(view.NO_ZONE_NOTE)
    for line in refusals:
        out.text(f"refused: {line}")
    return 0
