"""What the metrics need from the jobs table: jobs by command and status, the lines of output,
the durations' histogram, each client's last successful append and validate.

A scan of a year of jobs at 1,000 clients (700,000 rows) costs a second, far over a scrape's
budget, so a JobTally keeps what it has counted of the *ended* jobs (an ended job's row does
not change) and folds in, at each read, only the jobs that ended since: those above the highest
id it has seen, and those it saw queued or running. The queued and running ones are counted
afresh every time. When the store holds fewer rows than counted (retention deleted some), it
counts everything again. Each read is one snapshot of the store (a read transaction), so a
tally always equals a count from nothing: a new one (`adsdash metrics`) and a worker's
long-lived one give the same figures. The tally is only a cache: a restart loses nothing.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import NamedTuple

from adsdash.records import ENDED, FINISHED, QUEUED, STARTED

# ads_sync jobs take from a second (validate) to hours (an init of two years).
DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0)
SUCCESS_COMMANDS = ("append", "validate")  # each client's last success of these

_ENDED_SQL = "(" + ", ".join(f"'{status}'" for status in ENDED) + ")"
_SUCCESS_SQL = "(" + ", ".join(f"'{command}'" for command in SUCCESS_COMMANDS) + ")"
_DURATION = "(julianday(finished_at) - julianday(started_at)) * 86400.0"  # null until it has both
_FOLD = ("select command, status, count(*), total(line_count), total(d), count(d)"
         + "".join(f", total(d <= {bound!r})" for bound in DURATION_BUCKETS)
         + f" from (select command, status, line_count, {_DURATION} as d from jobs where {{where}})"
         " group by command, status")
_LAST_SUCCESS = (f"select slug, command, max(finished_at) from jobs where {{where}} and +status = '{FINISHED}'"
                 f" and command in {_SUCCESS_SQL} group by command, slug")
_ALL_ENDED = f"status in {_ENDED_SQL}"
# The jobs since are found by id: `+status` keeps SQLite off the status index, and grouping by
# command first (above) off the slug index, either of which would walk every job.
_ENDED_SINCE = f"(id > ? or id in (select value from json_each(?))) and +status in {_ENDED_SQL}"


class Histogram(NamedTuple):
    total_seconds: float
    jobs: int
    buckets: tuple[int, ...]  # cumulative: jobs that took at most DURATION_BUCKETS[i]

    def plus(self, other: Histogram) -> Histogram:
        return Histogram(self.total_seconds + other.total_seconds, self.jobs + other.jobs,
                         tuple(a + b for a, b in zip(self.buckets, other.buckets, strict=True)))


EMPTY_HISTOGRAM = Histogram(0.0, 0, (0,) * len(DURATION_BUCKETS))


class JobFacts(NamedTuple):
    """The jobs table, summed up at one moment."""
    jobs: dict[tuple[str, str], int]  # (command, status) -> jobs, every status
    lines: int  # lines of output recorded for the jobs in the store
    durations: dict[str, Histogram]  # command -> how long its ended jobs ran
    last_success: dict[tuple[str, str], str]  # (slug, command) -> the newest finished_at (ISO UTC)
    oldest_queued: str | None  # queued_at of the longest waiting job


class JobTally:
    """The ended jobs counted so far (see the module's docstring); facts() adds the rest."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.recounts = 0  # times every ended job was counted again (rows were deleted)
        self._reset()

    def _reset(self) -> None:
        self.top = 0  # the highest job id counted or seen open
        self.open: list[int] = []  # ids up to top that were queued or running: not counted yet
        self.rows = 0  # ended jobs counted
        self.ended = JobFacts({}, 0, {}, {}, None)

    def facts(self, conn: sqlite3.Connection) -> JobFacts:
        """The jobs table now, read in one snapshot."""
        with self._lock:
            own = not conn.in_transaction
            if own:
                conn.execute("begin")  # a read transaction: every query below sees the same store
            try:
                return self._facts(conn)
            finally:
                if own:
                    conn.execute("commit")

    def _facts(self, conn: sqlite3.Connection) -> JobFacts:
        rows, top = conn.execute("select count(*), coalesce(max(id), 0) from jobs").fetchone()
        live = conn.execute("select command, status, count(*), total(line_count), min(queued_at), group_concat(id)"
                            " from jobs where status in (?, ?) group by command, status", (QUEUED, STARTED)).fetchall()
        open_now = sorted(int(i) for r in live for i in r[5].split(","))
        if top < self.top:  # ids went back: another file, or the newest rows deleted
            self._reset()
        # What ended since the last read (the first time: every ended job).
        since = _fold(conn, _ENDED_SINCE, (self.top, json.dumps(self.open)))
        self.rows += sum(since.jobs.values())
        self.ended = _merged(self.ended, since)
        if self.rows + len(open_now) != rows:  # rows deleted (retention): count them all again
            self.recounts += 1
            self.ended = _fold(conn, _ALL_ENDED, ())
            self.rows = sum(self.ended.jobs.values())
        self.top, self.open = top, open_now
        jobs = dict(self.ended.jobs)
        lines, oldest = self.ended.lines, None
        for command, status, count, line_total, queued_at, _ids in live:
            jobs[str(command), status] = jobs.get((str(command), status), 0) + count
            lines += int(line_total)
            if status == QUEUED and isinstance(queued_at, str) and (oldest is None or queued_at < oldest):
                oldest = queued_at
        return self.ended._replace(jobs=jobs, lines=lines, oldest_queued=oldest)


def _fold(conn: sqlite3.Connection, where: str, params: tuple) -> JobFacts:
    jobs: dict[tuple[str, str], int] = {}
    durations: dict[str, Histogram] = {}
    lines = 0
    for row_command, row_status, count, line_total, d_total, d_count, *buckets in conn.execute(
            _FOLD.format(where=where), params):
        command, status = str(row_command), str(row_status)  # a row is data: labels are text
        jobs[command, status] = jobs.get((command, status), 0) + count
        lines += int(line_total)
        if d_count:
            found = Histogram(d_total, d_count, tuple(int(b) for b in buckets))
            durations[command] = durations.get(command, EMPTY_HISTOGRAM).plus(found)
    last = {(str(slug), str(command)): finished for slug, command, finished in conn.execute(
        _LAST_SUCCESS.format(where=where), params) if isinstance(finished, str)}
    return JobFacts(jobs, lines, durations, last, None)


def _merged(a: JobFacts, b: JobFacts) -> JobFacts:
    jobs = dict(a.jobs)
    for key, count in b.jobs.items():
        jobs[key] = jobs.get(key, 0) + count
    durations = dict(a.durations)
    for command, histogram in b.durations.items():
        durations[command] = durations.get(command, EMPTY_HISTOGRAM).plus(histogram)
    last = dict(a.last_success)
    for key, finished in b.last_success.items():
        if key not in last or finished > last[key]:
            last[key] = finished
    return JobFacts(jobs, a.lines + b.lines, durations, last, None)
