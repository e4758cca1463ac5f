"""Sweeps: one command for many clients at once, worst first, safe to repeat. No Textual here.

The app (marks, the palette) and the command line (`adsdash run COMMAND --all`, several slugs,
`--freshness`) both sweep through `sweep`, which queues through `Engine.submit_many`: every slug
validated, the jobs stored in one transaction and handed to the queue at once.

Worst first is the clients table's "worst first" order: by freshness kind (error, never synced,
stale, late, fresh: `freshness.SEVERITY`), then the most days behind first, then name and slug.
Jobs are queued in that order, so the workers start the clients furthest behind first.

Safe to repeat (cron, a double key press): a sweep queues with `once`, so a client that already
has the same command queued or running gets no second job; its outcome says "already queued"
(or "already started") and names that job.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Unpack

from adsdash.catalogue import JobParams, RequestError
from adsdash.engine import AlreadyQueued, Engine
from adsdash.report_check import ReportLacksData

if TYPE_CHECKING:
    from adsdash.store import Job
    from adsdash.workspace import Client

QUEUED = "queued"
REFUSED = "refused"
ALREADY = "already"  # the start of "already queued" and "already started"


@dataclass(frozen=True)
class Outcome:
    """What a sweep did for one client."""
    slug: str
    job_id: int | None  # the new job, or the one it already had; None when refused
    status: str  # queued, already queued, already started, refused
    error: str | None = None  # why it was refused
    after: int | None = None  # the append it waits for (--append-first)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"slug": self.slug, "job_id": self.job_id, "status": self.status}
        if self.error is not None:
            data["error"] = self.error
        if self.after is not None:
            data["after"] = self.after
        return data


def worst_first(client: Client) -> tuple:
    fresh = client.freshness
    return fresh.severity, -(fresh.lag_days or 0), client.name.casefold(), client.slug


def choose(clients: Iterable[Client], *, slugs: Sequence[str] | None = None,
           kinds: Collection[str] = ()) -> list[str]:
    """The slugs a sweep takes, worst first: the given ones (each once), or every client; only
    those of the freshness `kinds`, when given. A given slug that is no client is kept, last,
    so that the sweep refuses it by name."""
    by_slug = {client.slug: client for client in clients}
    wanted = list(by_slug) if slugs is None else list(dict.fromkeys(slugs))
    picked = [by_slug[slug] for slug in wanted if slug in by_slug]
    if kinds:
        picked = [client for client in picked if client.freshness.kind.value in kinds]
    return [client.slug for client in sorted(picked, key=worst_first)] + [s for s in wanted if s not in by_slug]


def sweep(engine: Engine, command: str, slugs: Sequence[str], *, origin: str, anyway: bool = False,
          append_first: bool = False, append_if_lacking: bool = False, **params: Unpack[JobParams]) -> list[Outcome]:
    """Queue `command` for each slug, in the order given, once (see the module's docstring): one
    outcome per slug. Raises RequestError, queueing nothing, when the command, its arguments, the
    clients folder or the CLI are wrong for every slug alike. `append_first`: each job after an
    append of its client (Engine.append_then); `append_if_lacking`: so only the reports whose
    days the client's data lacks; `anyway`: a report over days the data lacks, as it is."""
    if append_first:
        return [_after_append(engine, command, slug, origin, params) for slug in slugs]
    results = engine.submit_many(command, slugs, origin=origin, once=True, anyway=anyway, **params)
    return [_after_append(engine, command, slug, origin, params)
            if append_if_lacking and isinstance(result, ReportLacksData) else _outcome(slug, result)
            for slug, result in zip(slugs, results, strict=True)]


def _after_append(engine: Engine, command: str, slug: str, origin: str, params: JobParams) -> Outcome:
    try:
        append, job = engine.append_then(command, slug, origin=origin, **params)
    except RequestError as exc:
        return _outcome(slug, exc)
    return Outcome(slug, job.id, QUEUED, after=append.id)


def _outcome(slug: str, result: Job | RequestError) -> Outcome:
    if isinstance(result, AlreadyQueued):
        return Outcome(slug, result.job.id, f"{ALREADY} {result.job.status}")
    if isinstance(result, RequestError):
        return Outcome(slug, None, REFUSED, str(result))
    return Outcome(slug, result.id, QUEUED)


def tally(outcomes: Iterable[Outcome]) -> str:
    """`5 queued, 2 already queued or running, 1 refused` (the parts that are not zero)."""
    counts = Counter(QUEUED if o.status == QUEUED else REFUSED if o.status == REFUSED else ALREADY
                     for o in outcomes)
    parts = [f"{counts[QUEUED]} queued"]
    if counts[ALREADY]:
        parts.append(f"{counts[ALREADY]} already queued or running")
    if counts[REFUSED]:
        parts.append(f"{counts[REFUSED]} refused")
    return ", ".join(parts)


def first_few(slugs: Sequence[str], shown: int = 5) -> str:
    """`acme, bolt, cargo and 12 more`."""
    head = ", ".join(slugs[:shown])
    return head + (f" and {len(slugs) - shown} more" if len(slugs) > shown else "")
