"""The schedules' ledger in the job store: one row per (schedule, client, due instant).

Exactly once: whoever inserts a run's row (`claim`, INSERT OR IGNORE on the primary key)
queues it; a second worker, or a worker restarted in the same minute, finds the row and
does nothing. Every due run ends with one outcome:

- queued: a job was queued (its id); already: the client had that command queued or
  running (that job's id); refused: validation said no (the reason);
- missed: no worker was up at its time and it is past the catch-up window, or a newer run
  of the same schedule was caught up instead (one row each, never run late);
- paused: the schedule was paused; skipped: its freshness filter passed the client by.

`schedule_state` remembers which schedules are paused, and how far each has been checked
(`checked_through`), so a client new to the folder does not look back for runs it never had.
The tables are made by store.py's migration (schema 5). No Textual here.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from adsdash import audit
from adsdash.store import Store, iso

QUEUING = "queuing"  # claimed, its job being queued (left so by a worker killed then: see Scheduler._unstick)
JOB_WITHIN = timedelta(seconds=30)  # a claimed run's job is stored this soon after the claim, or never
QUEUED, ALREADY, REFUSED, MISSED, PAUSED, SKIPPED = "queued", "already", "refused", "missed", "paused", "skipped"
OUTCOMES = (QUEUED, ALREADY, REFUSED, MISSED, PAUSED, SKIPPED)


@dataclass(frozen=True)
class Run:
    """One row of the ledger."""
    schedule: str
    slug: str
    due: str  # UTC, ISO
    outcome: str
    job_id: int | None = None
    reason: str | None = None
    decided_at: str | None = None
    worker: str | None = None  # who decided it (who claimed it, while it is queuing)


@dataclass(frozen=True)
class State:
    paused: bool
    checked_through: str | None  # the `now` of the last tick that went through the schedule


class Ledger:
    def __init__(self, store: Store):
        self.store = store

    # -- the scheduler's side ------------------------------------------------

    def enrol(self, names: Iterable[str], first_seen: datetime) -> dict[str, State]:
        """Every schedule's state; a schedule seen for the first time is checked from `first_seen`."""
        names = list(names)
        with self.store._write() as conn:
            conn.executemany(
                "insert into schedule_state (name, checked_through) values (?, ?) on conflict (name) do update"
                " set checked_through = coalesce(checked_through, excluded.checked_through)",
                [(name, iso(first_seen)) for name in names])
            rows = conn.execute("select name, paused, checked_through from schedule_state").fetchall()
        return {r["name"]: State(bool(r["paused"]), r["checked_through"]) for r in rows if r["name"] in names}

    def checked(self, name: str, now: datetime) -> None:
        self.store._conn().execute(
            "update schedule_state set checked_through = max(coalesce(checked_through, ''), ?) where name = ?",
            (iso(now), name))

    def newest_dues(self, name: str) -> dict[str, str]:
        """Each client's newest due instant with a row, for one schedule."""
        rows = self.store._conn().execute(
            "select slug, max(due) from schedule_runs where schedule = ? group by slug", (name,))
        return dict(rows.fetchall())

    def record(self, runs: Sequence[Run], *, worker: str, now: datetime) -> int:
        """Rows decided without queuing (missed, paused, skipped), each unless it is there
        already; returns how many were new."""
        if not runs:
            return 0
        with self.store._write() as conn:
            before = conn.total_changes
            conn.executemany(
                "insert or ignore into schedule_runs (schedule, slug, due, outcome, reason, decided_at, worker)"
                " values (?, ?, ?, ?, ?, ?, ?)",
                [(r.schedule, r.slug, r.due, r.outcome, r.reason, iso(now), worker) for r in runs])
            return conn.total_changes - before

    def claim(self, schedule: str, runs: Sequence[tuple[str, str]], *, worker: str,
              now: datetime) -> list[tuple[str, str]]:
        """Of the (slug, due) runs, those this caller gets to queue: the ones whose row it
        inserted (one transaction; of callers at once, each run goes to one)."""
        won = []
        with self.store._write() as conn:
            for slug, due in runs:
                cur = conn.execute(
                    "insert or ignore into schedule_runs (schedule, slug, due, outcome, decided_at, worker)"
                    " values (?, ?, ?, ?, ?, ?)", (schedule, slug, due, QUEUING, iso(now), worker))
                if cur.rowcount == 1:
                    won.append((slug, due))
        return won

    def stuck(self, *, older_than: datetime, live: Iterable[str]) -> list[Run]:
        """Claimed runs never settled ("queuing") by a worker that is gone, or by any worker
        this long ago: killed between its claim and its queue, or the store refused the settle."""
        live = set(live)
        rows = self.store._conn().execute(
            "select * from schedule_runs where outcome = ? order by due", (QUEUING,)).fetchall()
        return [_run(r) for r in rows if r["worker"] not in live or r["decided_at"] < iso(older_than)]

    def take_over(self, run: Run, previous_worker: str | None, *, worker: str, now: datetime) -> bool:
        """Become the worker that settles a stuck run; of workers at once, one gets it."""
        cur = self.store._conn().execute(
            "update schedule_runs set worker = ?, decided_at = ? where schedule = ? and slug = ? and due = ?"
            " and outcome = ? and worker is ?", (worker, iso(now), run.schedule, run.slug, run.due, QUEUING,
                                                previous_worker))
        return cur.rowcount == 1

    def job_of(self, run: Run) -> int | None:
        """The job a claimed run got, if its worker stored one before it stopped: one of the
        schedule's for the client, queued within JOB_WITHIN of the claim (a later run's job,
        a minute or more later, is not this run's)."""
        if run.decided_at is None:
            return None
        until = iso(datetime.fromisoformat(run.decided_at) + JOB_WITHIN)
        row = self.store._conn().execute(
            "select id from jobs where slug = ? and origin = ? and queued_at >= ? and queued_at <= ?"
            " order by id limit 1", (run.slug, f"schedule {run.schedule}", run.decided_at, until)).fetchone()
        return row[0] if row else None

    def settle(self, runs: Sequence[Run], *, worker: str, now: datetime) -> None:
        """The outcomes of runs `worker` claimed (queued, already, refused), in one transaction;
        a run another worker has taken over since (see take_over) is left to it."""
        with self.store._write() as conn:
            conn.executemany(
                "update schedule_runs set outcome = ?, job_id = ?, reason = ?, decided_at = ?"
                " where schedule = ? and slug = ? and due = ? and outcome = ? and worker = ?",
                [(r.outcome, r.job_id, r.reason, iso(now), r.schedule, r.slug, r.due, QUEUING, worker)
                 for r in runs])

    def prune(self, before: datetime) -> int:
        """Forget rows due before `before`, but never a client's newest row of a schedule
        (the scheduler looks back from it)."""
        cur = self.store._conn().execute(
            "delete from schedule_runs where due < ? and due < (select max(due) from schedule_runs newest"
            " where newest.schedule = schedule_runs.schedule and newest.slug = schedule_runs.slug)", (iso(before),))
        return cur.rowcount

    # -- pausing -------------------------------------------------------------

    def paused(self) -> set[str]:
        return {r[0] for r in self.store._conn().execute("select name from schedule_state where paused = 1")}

    def set_paused(self, names: Iterable[str], paused: bool, now: datetime, *, origin: str | None = None) -> None:
        """Pause or resume; with `origin` (app, shell), the audit gets one row for it (all the names)."""
        names = list(names)
        with self.store._write() as conn:
            conn.executemany(
                "insert into schedule_state (name, paused, changed_at) values (?, ?, ?) on conflict (name) do update"
                " set paused = excluded.paused, changed_at = excluded.changed_at",
                [(name, int(paused), iso(now)) for name in names])
        if origin is not None:
            audit.record(self.store, [audit.entry(audit.PAUSE if paused else audit.RESUME,
                                                  "schedule " + ", ".join(names), origin=origin, at=now,
                                                  detail={"schedules": names})])

    # -- facts ---------------------------------------------------------------

    def outcomes(self, name: str) -> Counter[str]:
        """Each client's latest outcome for the schedule, counted."""
        rows = self.store._conn().execute(
            "select outcome, count(*) from schedule_runs r where schedule = ? and due ="
            " (select max(due) from schedule_runs n where n.schedule = r.schedule and n.slug = r.slug)"
            " group by outcome", (name,))
        return Counter(dict(rows.fetchall()))

    def last_queued(self, name: str) -> Run | None:
        row = self.store._conn().execute(
            "select * from schedule_runs where schedule = ? and outcome in (?, ?) order by due desc, slug limit 1",
            (name, QUEUED, ALREADY)).fetchone()
        return _run(row) if row else None

    def runs(self, name: str | None = None, *, limit: int = 100) -> list[Run]:
        """The newest rows first (of one schedule, if named)."""
        where, params = ("where schedule = ?", [name]) if name else ("", [])
        rows = self.store._conn().execute(
            f"select * from schedule_runs {where} order by due desc, slug limit ?", [*params, limit])
        return [_run(r) for r in rows]

    def fingerprint(self) -> tuple:
        """Changes when a row is decided or settled (both set decided_at), or a schedule paused or
        resumed: two small reads, the first by index (the ledger may hold a million rows)."""
        conn = self.store._conn()
        newest = conn.execute("select max(decided_at) from schedule_runs").fetchone()
        state = conn.execute("select group_concat(name || ':' || paused, ',') from schedule_state").fetchone()
        return newest[0], state[0]


def _run(row: sqlite3.Row) -> Run:
    return Run(row["schedule"], row["slug"], row["due"], row["outcome"], row["job_id"], row["reason"],
               row["decided_at"], row["worker"])
