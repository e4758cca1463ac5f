"""Before a repair is queued: is the range already being pulled (a queued or running repair of
the same days, or an append), and what would it touch (the days, the rows there now, how long
the client's earlier repairs took). No Textual here.

An append's range is not in its arguments: it pulls from the client's watermark less the
CLI's overlap to yesterday (contract: "append"). Counted here as the APPEND_REACH_DAYS before
the watermark onwards, so a repair of the last week waits for the append to end, not beside it.
"""

from __future__ import annotations

import statistics
from datetime import date, timedelta
from typing import TYPE_CHECKING, NamedTuple

from adsdash.catalogue import RequestError, strict_date
from adsdash.records import FINISHED, QUEUED, STARTED

if TYPE_CHECKING:
    from adsdash.engine import Engine
    from adsdash.records import Job
    from adsdash.store import Store

APPEND_REACH_DAYS = 7  # an append may re-pull this many days before the watermark (its overlap)
EARLIER_REPAIRS = 20  # the client's latest finished repairs that estimate a new one's time


class Overlap(RequestError):
    """A repair whose days another queued or running job of the client already pulls."""

    def __init__(self, job: Job, start: date, end: date) -> None:
        what = (f"{job.command} {job.args.get('start')}..{job.args.get('end')}" if job.command == "repair"
                else job.command)
        super().__init__(f"{start}..{end} overlaps job {job.id} ({what}, {job.status}) of {job.slug}:"
                         f" wait for it, or cancel it first")
        self.job = job


def _range_of(job: Job, watermark: date | None) -> tuple[date, date] | None:
    if job.command == "repair":
        start, end = strict_date(job.args.get("start")), strict_date(job.args.get("end"))
        return (start, end) if start and end else None
    if job.command in ("append", "init"):  # init pulls everything; an append from its watermark on
        since = watermark - timedelta(days=APPEND_REACH_DAYS) if watermark and job.command == "append" else date.min
        return since, date.max
    return None


def check(store: Store, slug: str, start: date, end: date, watermark: date | None) -> None:
    """Raise Overlap naming the first queued or running job of the client that pulls these days."""
    for status in (STARTED, QUEUED):
        for job in reversed(store.jobs(slug=slug, status=status, limit=None)):
            found = _range_of(job, watermark)
            if found is not None and found[0] <= end and start <= found[1]:
                raise Overlap(job, start, end)


class Preview(NamedTuple):
    slug: str
    start: date
    end: date
    days: int
    rows_now: int | None  # rows in the master CSV for those days now (None: it cannot be read)
    gap_days: int | None  # days among them with no row at all
    expected_seconds: float | None  # from the client's earlier repairs (None: none finished yet)
    overlap: str | None  # why it would be refused, if it would

    def to_dict(self) -> dict:
        return {"slug": self.slug, "start": self.start.isoformat(), "end": self.end.isoformat(), "days": self.days,
                "rows_now": self.rows_now, "gap_days": self.gap_days, "expected_seconds": self.expected_seconds,
                "refused": self.overlap}

    def lines(self) -> list[str]:
        from adsdash import timefmt

        rows = "unknown (the master CSV cannot be read)" if self.rows_now is None else \
            f"{self.rows_now:,} ({self.gap_days} of the days have none)" if self.gap_days else f"{self.rows_now:,}"
        took = timefmt.duration(self.expected_seconds) if self.expected_seconds is not None else \
            "unknown (no earlier repair of this client)"
        out = [f"repair {self.slug} {self.start}..{self.end}: {self.days} day{'s' * (self.days != 1)}",
               f"rows there now: {rows}", f"expected to take: {took}"]
        if self.overlap:
            out.append(f"refused: {self.overlap}")
        return out


def expected_seconds(store: Store, slug: str, days: int) -> float | None:
    """The median seconds a day of the client's latest finished repairs took, times `days`."""
    rates = []
    for job in store.jobs(slug=slug, status=FINISHED, limit=200):
        if job.command != "repair" or (seconds := job.elapsed()) is None:
            continue
        start, end = strict_date(job.args.get("start")), strict_date(job.args.get("end"))
        if start and end and end >= start:
            rates.append(seconds / ((end - start).days + 1))
        if len(rates) >= EARLIER_REPAIRS:
            break
    return statistics.median(rates) * days if rates else None


def preview(engine: Engine, slug: str, start: date, end: date) -> Preview:
    client = engine.workspace.client(slug)
    watermark = client.watermarks.get("google_ads") if client else None
    coverage = engine.coverage.get(slug)
    days = (end - start).days + 1
    rows_now = gap_days = None
    if coverage.problem is None:
        counts = [coverage.days.get(start + timedelta(days=n), (0, 0.0))[0] for n in range(days)]
        rows_now, gap_days = sum(counts), sum(1 for rows in counts if rows == 0)
    try:
        check(engine.store, slug, start, end, watermark)
        overlap = None
    except Overlap as exc:
        overlap = str(exc)
    return Preview(slug, start, end, days, rows_now, gap_days, expected_seconds(engine.store, slug, days), overlap)
