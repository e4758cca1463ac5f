"""What `adsdash schedules` and the schedules screen show: the same facts, gathered once.

For each schedule: its clients, its next run (in the client's time and the operator's;
for several clients the soonest of them and the zone it is for), each client's last
outcome counted, the newest run queued, paused or not, and every refusal: the entries
refused at load, and the clients it cannot run for (unknown, or a zone that is none).
No Textual here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from adsdash import schedules
from adsdash.schedule_ledger import OUTCOMES, QUEUING, Ledger, Run

if TYPE_CHECKING:
    from adsdash.engine import Engine

NO_ZONE_NOTE = ("times are each client's own (a client config without a time zone: America/Chicago, as"
                " ads_sync reads it; a zone that is not one: refused)")


@dataclass(frozen=True)
class NextRun:
    at: datetime  # UTC
    zone: str  # the zone of the client(s) it is for
    slug: str | None  # the client, when it is for one; None when several clients share it

    def client_time(self) -> datetime:
        return self.at.astimezone(ZoneInfo(self.zone))

    def local_time(self) -> datetime:
        return self.at.astimezone()


@dataclass(frozen=True)
class Facts:
    schedule: schedules.Schedule
    paused: bool
    clients: int  # clients it may run for now (a filter is applied at each run)
    next_run: NextRun | None
    outcomes: Counter[str]  # each client's latest outcome
    last_queued: Run | None
    refusals: tuple[str, ...]


def overview(engine: Engine, book: schedules.ScheduleBook, now: datetime) -> tuple[list[Facts], tuple[str, ...]]:
    """Every usable schedule's facts, and every refusal line (load and run time)."""
    found, refusals = book.current()
    problems = list(refusals)
    clients: list = []
    if found:
        if problem := engine.workspace.clients_folder_problem():
            problems.append(f"schedules: {problem}")
        else:
            clients = engine.workspace.clients(save_cache=False)
    ledger = Ledger(engine.store)
    paused = ledger.paused()
    facts = []
    for schedule in found:
        targets, refused = schedules.targets(schedule, clients)
        problems += refused
        facts.append(Facts(schedule, schedule.name in paused, len(targets), _next_run(schedule, targets, now),
                           ledger.outcomes(schedule.name), ledger.last_queued(schedule.name), tuple(refused)))
    return facts, tuple(problems)


def _next_run(schedule: schedules.Schedule, targets, now: datetime) -> NextRun | None:
    """The soonest next due run among the clients, computed once per zone."""
    zones: dict[str, tuple[ZoneInfo, list[str]]] = {}
    for client, zone in targets:
        zones.setdefault(zone.key, (zone, []))[1].append(client.slug)
    soonest: NextRun | None = None
    for key, (zone, slugs) in sorted(zones.items()):
        at = schedules.next_due(schedule, zone, now)
        if at is not None and (soonest is None or at < soonest.at):
            soonest = NextRun(at, key, slugs[0] if len(targets) == 1 else None)
    return soonest


# ---- as text and as JSON -----------------------------------------------------------------------

def when_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z")


def next_texts(facts: Facts) -> tuple[str, str]:
    """(client time with its zone, the operator's local time)."""
    run = facts.next_run
    if run is None:
        return "—", "—"
    return f"{when_text(run.client_time())} {run.zone}", when_text(run.local_time())


def outcomes_text(outcomes: Counter[str]) -> str:
    parts = [f"{outcomes[name]} {name}" for name in (*OUTCOMES, QUEUING) if outcomes.get(name)]
    return ", ".join(parts) or "no run yet"


def state_text(facts: Facts) -> str:
    return "paused" if facts.paused else "active"


def none_text(config_file: object, refused: bool) -> str:
    """What to say when no schedule can run: none written yet, or every one refused."""
    if refused:
        return f"no usable schedule in {config_file}: each one is refused (below)"
    return f"no schedules yet: add [[schedule]] tables to {config_file} (README: Schedules)"


def as_dict(facts: Facts) -> dict[str, Any]:
    s = facts.schedule
    run = facts.next_run
    last = facts.last_queued
    return {
        "name": s.name, "command": s.command, "scope": s.scope, "when": s.when, "at": s.at,
        "days": list(s.days) if s.at else None, "cron": None if s.at else s.cron,
        "clients": s.clients.as_json(), "client_count": facts.clients, "paused": facts.paused,
        "next_run": None if run is None else {
            "utc": run.at.isoformat(), "client_time": run.client_time().isoformat(), "zone": run.zone,
            "slug": run.slug, "local_time": run.local_time().isoformat()},
        "last_outcomes": {name: facts.outcomes.get(name, 0) for name in (*OUTCOMES, QUEUING)},
        "last_queued": None if last is None else {"slug": last.slug, "due": last.due, "outcome": last.outcome,
                                                  "job_id": last.job_id},
        "refusals": list(facts.refusals),
    }
