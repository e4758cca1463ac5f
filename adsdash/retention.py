"""Retention: job output is kept for a while, job rows longer, and the space is given back.

- A job's output (its chunks) goes once it ended more than `output_keep_days` ago, unless it
  is one of its client's newest `output_keep_jobs` jobs. The row stays, saying so
  (`output_pruned_at`); its line count stays too, as history.
- A job row goes (with any output left) once it ended more than `job_keep_days` ago (never
  sooner than its output would), unless it is one of its client's newest `output_keep_jobs`.
- Never a queued or running job: only ended ones, checked again in each delete.
- The file shrinks: the store is `auto_vacuum = incremental` (schema 6), and a prune ends with
  `pragma incremental_vacuum`, a few thousand pages at a time so other writers get in between.

`plan` says what a prune would remove (`adsdash prune --dry-run`); `prune` removes it, a batch
of jobs per transaction, so a worker's output writes never wait long. The worker prunes once a
day (tasks/pruner.py); `housekeeping` remembers when, so several workers prune once between them.
No Textual here.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from adsdash.records import ENDED, iso

if TYPE_CHECKING:
    from adsdash.store import Store

SCHEMA = (
    "alter table jobs add column output_pruned_at text",  # when its output was removed (None: kept)
    # Small facts of the store's upkeep: when the daily prune last ran.
    "create table if not exists housekeeping (task text primary key, done_at text not null)",
)
BATCH_JOBS = 200  # jobs handled per write transaction
VACUUM_PAGES = 4096  # pages given back per step (16 MB at the default page size)
PRUNE_TASK = "prune"
_ENDED = "(" + ", ".join(f"'{status}'" for status in ENDED) + ")"


class Rules(NamedTuple):
    output_keep_days: int = 90
    output_keep_jobs: int = 50
    job_keep_days: int = 365


class Plan(NamedTuple):
    """What a prune removes: the jobs whose output goes (their lines and bytes), the job rows deleted."""
    output_jobs: tuple[int, ...]
    lines: int
    bytes: int
    deleted_jobs: tuple[int, ...]

    def to_dict(self) -> dict[str, int]:
        return {"jobs_output_removed": len(self.output_jobs), "lines": self.lines, "bytes": self.bytes,
                "job_rows_deleted": len(self.deleted_jobs)}


def rules_of(settings) -> Rules:
    return Rules(settings.output_keep_days, settings.output_keep_jobs, settings.job_keep_days)


def _candidates(conn: sqlite3.Connection, rules: Rules, now: datetime) -> tuple[list[int], list[int]]:
    """(jobs whose output goes, jobs whose row goes): ended, old enough, not among their client's newest."""
    output_cutoff = iso(now - timedelta(days=rules.output_keep_days))
    row_cutoff = iso(now - timedelta(days=max(rules.job_keep_days, rules.output_keep_days)))
    rows = conn.execute(
        "select id, ended_at, output_pruned_at from (select id, status, output_pruned_at,"
        " coalesce(finished_at, queued_at) as ended_at,"
        " row_number() over (partition by slug order by id desc) as newest from jobs)"
        f" where newest > ? and status in {_ENDED} and ended_at < ? order by id",
        (rules.output_keep_jobs, output_cutoff)).fetchall()
    deleted = [r[0] for r in rows if r[1] < row_cutoff]
    gone = set(deleted)
    output = [r[0] for r in rows if r[0] not in gone and r[2] is None]
    return output, deleted


def _sizes(conn: sqlite3.Connection, job_ids: Sequence[int]) -> tuple[list[int], int, int]:
    """Of these jobs, those with output, and its lines and bytes."""
    with_output, lines, size = [], 0, 0
    for job_id in job_ids:
        count, total, length = conn.execute(
            "select count(*), sum(last_seq - first_seq + 1), sum(length(cast(data as blob)))"
            " from chunks where job_id = ?", (job_id,)).fetchone()
        if count:
            with_output.append(job_id)
            lines += total
            size += length
    return with_output, lines, size


def plan(store: Store, rules: Rules, now: datetime) -> Plan:
    """What prune(store, rules, now) would remove, without removing anything."""
    conn = store._conn()
    output, deleted = _candidates(conn, rules, now)
    with_output, lines, size = _sizes(conn, output)
    _kept, deleted_lines, deleted_size = _sizes(conn, deleted)
    return Plan(tuple(with_output), lines + deleted_lines, size + deleted_size, tuple(deleted))


def prune(store: Store, rules: Rules, now: datetime, *, stop: Callable[[], bool] = lambda: False) -> Plan:
    """Remove what plan() names, a batch of jobs per transaction, then give the space back.
    `stop()` true: no further batch (a worker on its way out)."""
    conn = store._conn()
    output, deleted = _candidates(conn, rules, now)
    done_output: list[int] = []
    done_deleted: list[int] = []
    lines = size = 0
    for batch, drop_row in [(output[i:i + BATCH_JOBS], False) for i in range(0, len(output), BATCH_JOBS)] + \
                           [(deleted[i:i + BATCH_JOBS], True) for i in range(0, len(deleted), BATCH_JOBS)]:
        if stop():
            break
        with store._write() as conn:
            ended = [r[0] for r in conn.execute(  # again inside the transaction: never a live job
                f"select id from jobs where id in (select value from json_each(?)) and status in {_ENDED}",
                (_json(batch),))]
            with_output, batch_lines, batch_size = _sizes(conn, ended)
            lines, size = lines + batch_lines, size + batch_size
            conn.executemany("delete from chunks where job_id = ?", [(job_id,) for job_id in ended])
            if drop_row:
                conn.executemany("delete from jobs where id = ?", [(job_id,) for job_id in ended])
                done_deleted += ended
            else:
                conn.executemany("update jobs set output_pruned_at = ? where id = ?",
                                 [(iso(now), job_id) for job_id in with_output])
                done_output += with_output
    give_back(store)
    return Plan(tuple(done_output), lines, size, tuple(done_deleted))


def give_back(store: Store) -> None:
    """Return the free pages to the file system (incremental vacuum, in steps), and checkpoint
    the WAL so the database file itself shrinks (passive: it waits for nobody)."""
    conn = store._conn()
    if conn.execute("pragma auto_vacuum").fetchone()[0] != 2:
        return  # a store whose switch to incremental failed (migration): nothing to give back this way
    while conn.execute("pragma freelist_count").fetchone()[0] > 0:
        before = conn.execute("pragma freelist_count").fetchone()[0]
        # executescript steps the pragma to its end (execute stops after one page)
        conn.executescript(f"pragma incremental_vacuum({VACUUM_PAGES})")
        if conn.execute("pragma freelist_count").fetchone()[0] >= before:
            break  # nothing more to give (another writer is filling the pages): next time
    conn.execute("pragma wal_checkpoint(passive)").fetchall()


def claim_daily(store: Store, now: datetime, every: timedelta = timedelta(days=1)) -> bool:
    """Whether this caller is the one to prune now: the last prune (of any worker) was `every`
    ago or more; if so, it is marked done now, in the same transaction, so others wait a day."""
    with store._write() as conn:
        row = conn.execute("select done_at from housekeeping where task = ?", (PRUNE_TASK,)).fetchone()
        if row is not None and row[0] > iso(now - every):
            return False
        conn.execute("insert into housekeeping (task, done_at) values (?, ?) on conflict (task)"
                     " do update set done_at = excluded.done_at", (PRUNE_TASK, iso(now)))
    return True


def last_prune(store: Store) -> str | None:
    row = store._conn().execute("select done_at from housekeeping where task = ?", (PRUNE_TASK,)).fetchone()
    return row[0] if row else None


class Size(NamedTuple):
    """The store's size: the database's pages, the free ones among them, and the files on disk."""
    used: int  # page_count * page_size
    free: int  # freelist pages * page_size
    on_disk: int  # the database file and its WAL

    @property
    def text(self) -> str:
        return human_bytes(self.on_disk)


def size(store: Store) -> Size:
    conn = store._conn()
    page = conn.execute("pragma page_size").fetchone()[0]
    pages = conn.execute("pragma page_count").fetchone()[0]
    free = conn.execute("pragma freelist_count").fetchone()[0]
    disk = 0
    for suffix in ("", "-wal"):
        with contextlib.suppress(OSError):  # no WAL just now
            disk += os.stat(f"{store.path}{suffix}").st_size
    return Size(page * pages, page * free, disk)


def human_bytes(count: float) -> str:
    """`812 B`, `4.2 KB`, `12.0 MB`, `1.3 GB` (powers of 1024)."""
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"  # not reached


def _json(values: Sequence[int]) -> str:
    import json

    return json.dumps(list(values))
