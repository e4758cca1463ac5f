"""The job store: jobs, their output lines and worker heartbeats, in one SQLite file.

Shared by the app, the command line and worker processes, so: WAL, a busy timeout,
one connection per thread, and every state change in one short write transaction.
The row is the truth about a job; Huey's queue only carries job ids. The values it hands
out (Job, WorkerInfo, the statuses, StoreError) are in records.py.

One owner of the file's connections per process (`_Database`): nothing here opens or
closes the file outside SQLite, since closing any descriptor of it would drop all of
the process's POSIX locks, and another process could then delete the WAL under ours.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from adsdash import chunks
from adsdash.chunks import Chunk, Line
from adsdash.datadir import DataDirError, create_private, prepare_file
from adsdash.processes import start_ticks
from adsdash.records import (  # noqa: F401 - the store's values, imported from here by most modules
    CANCELLED,
    ENDED,
    FAILED,
    FINISHED,
    HEARTBEAT_SECONDS,
    QUEUED,
    STARTED,
    STATUSES,
    WORKER_TIMEOUT_SECONDS,
    Claim,
    Clock,
    Job,
    LostJob,
    NewJob,
    StoreError,
    WorkerInfo,
    iso,
    system_clock,
    this_host,
)

if TYPE_CHECKING:  # imported where used: reading and submitting jobs never need it (~70 ms to import)
    import sqlite_utils

SCHEMA_VERSION = 8
SCHEDULE_TABLES = (
    # One row per (schedule, client, due instant in UTC): the primary key decides who queues a run.
    "create table if not exists schedule_runs (schedule text not null, slug text not null, due text not null,"
    " outcome text not null, job_id integer, reason text, decided_at text not null, worker text,"
    " primary key (schedule, slug, due)) without rowid",
    "create table if not exists schedule_state (name text primary key, paused integer not null default 0,"
    " changed_at text, checked_through text)",
    # The newest decision, read by the schedules screen every second: by index, not by a scan.
    "create index if not exists schedule_runs_decided on schedule_runs (decided_at)",
)


class _Database:
    """The one owner of a database file's connections in this process: one per thread."""

    _open: ClassVar[dict[Path, _Database]] = {}
    _open_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()
        self.migrated = False
        self.lock = threading.Lock()

    @classmethod
    def of(cls, path: Path) -> _Database:
        try:
            # The folder's real path, but not the file's: a symlink at jobs.db is refused
            # (prepare_file), never followed.
            key = path.parent.resolve() / path.name
        except OSError as exc:
            raise StoreError(f"job store {path}: {exc.strerror or exc}") from None
        with cls._open_lock:
            database = cls._open.get(key)
            if database is None:
                try:
                    prepare_file(key)  # created once, exclusively, before any connection
                except DataDirError as exc:
                    raise StoreError(str(exc)) from None
                database = cls._open[key] = cls(key)
            return database

    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("pragma busy_timeout = 10000")
            # Before WAL: only a file with no page yet takes it at once (an older one, at its VACUUM: _migrate).
            conn.execute("pragma auto_vacuum = incremental")
            conn.execute("pragma journal_mode = wal")
            conn.execute("pragma synchronous = normal")
            self._local.conn = conn
        return conn

    def close_thread(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()  # through SQLite, which keeps the process's locks right
            self._local.conn = None


class Store:
    def __init__(self, path: Path | str, *, clock: Clock = system_clock):
        """`clock` stamps job times (tests fix it); heartbeats always use real time.
        Every Store of one file in a process shares that file's connections."""
        self.path = Path(path)
        self.clock = clock
        self._database = _Database.of(self.path)
        self._made: dict[str, dict[tuple, Job]] = {}  # see _jobs_of
        # latest_by_slug's last answer, the highest id read, the ids in it not yet ended
        self._latest: tuple[dict[str, Job], int | None, list[int]] = ({}, None, [])
        self._latest_lock = threading.Lock()
        with self._database.lock:
            if not self._database.migrated:
                try:
                    self._migrate()
                except sqlite3.DatabaseError as exc:
                    raise StoreError(f"job store {self.path}: {exc} (check it with `adsdash store check`;"
                                     f" copy it away with `adsdash store backup FILE`)") from None
                self._database.migrated = True

    def _now(self) -> str:
        return iso(self.clock())

    # -- connections -------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        return self._database.conn()

    @property
    def db(self) -> sqlite_utils.Database:
        import sqlite_utils  # here, not at the top: see the TYPE_CHECKING import

        return sqlite_utils.Database(self._conn())

    def close(self) -> None:
        """Close this thread's connection (every Store of the file shares it)."""
        self._database.close_thread()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once so check-then-act is atomic across processes."""
        conn = self._conn()
        conn.execute("begin immediate")
        try:
            yield conn
            conn.execute("commit")
        except BaseException:
            # SQLite may have rolled back already (disk full): then a rollback would raise and hide
            # the real error; a failed commit leaves it open, and the next begin would fail.
            if conn.in_transaction:
                conn.execute("rollback")
            raise

    def _migrate(self) -> None:
        if self._conn().execute("pragma user_version").fetchone()[0] >= SCHEMA_VERSION:
            return  # the usual case, without sqlite_utils
        db = self.db
        with self._write():  # read again inside: another process may have migrated meanwhile
            version = found = db.execute("pragma user_version").fetchone()[0]
            if version < 1:
                self._create_v1(db)
            if version < 2:
                for table, column in (("jobs", "proc_start integer"), ("jobs", "output_note text"),
                                      ("workers", "proc_start integer")):
                    db.execute(f"alter table {table} add column {column}")
            if version < 3:
                chunks.migrate_from_lines(db.conn)
            if version < 4:
                db.execute("alter table jobs add column origin text")  # app, shell, schedule NAME
                # 0: stored, not yet in Huey's queue (a worker adopts it); the jobs before were put there
                db.execute("alter table jobs add column handed integer not null default 1")
                db.execute("create index if not exists jobs_not_handed on jobs (id) where handed = 0")
            if version < 5:  # schedules: the ledger of due runs, and what is paused (adsdash/schedule_ledger.py)
                for ddl in SCHEDULE_TABLES:
                    db.execute(ddl)
            if version < 6:  # the audit (adsdash/audit.py); pruned output, the daily prune (adsdash/retention.py)
                from adsdash import audit, retention

                for ddl in (*audit.SCHEMA, *retention.SCHEMA):
                    db.execute(ddl)
            if version < 7:  # notifications: events, deliveries, URLs, snoozes, streaks (adsdash/notify_store.py)
                from adsdash import notify_store

                for ddl in notify_store.SCHEMA:
                    db.execute(ddl)
            if version < 8:  # chains (a job waits for another: Job.after); watermark history (adsdash/watermarks.py)
                from adsdash import watermarks

                if "after" not in {column[1] for column in db.execute("pragma table_info(jobs)")}:
                    db.execute("alter table jobs add column after integer")
                db.execute("create index if not exists jobs_after on jobs (after) where after is not null")
                for ddl in watermarks.SCHEMA:
                    db.execute(ddl)
            db.execute(f"pragma user_version = {SCHEMA_VERSION}")
        if 0 < found < 6:  # a new store (0) has it from its first page
            self._switch_to_incremental_vacuum()

    def _switch_to_incremental_vacuum(self) -> None:
        """A store made before schema 6 gives freed pages back only after a VACUUM with
        auto_vacuum set: once, here (a new store has it from its first page: see _Database.conn).
        It needs free disk space for a copy; without it the store works on, and prunes still free
        pages inside the file for new output."""
        conn = self._conn()
        if conn.execute("pragma auto_vacuum").fetchone()[0] == 2:
            return
        try:
            conn.execute("pragma auto_vacuum = incremental")
            conn.execute("vacuum")
        except sqlite3.OperationalError as exc:
            from adsdash.lazy_log import get_logger

            get_logger(__name__).error("job store %s: cannot switch to incremental vacuum: %s", self.path, exc)

    @staticmethod
    def _create_v1(db: sqlite_utils.Database) -> None:
        db.table("jobs").create(
            {
                "id": int, "slug": str, "command": str, "args": str, "argv": str, "cwd": str,
                "status": str, "queued_at": str, "started_at": str, "finished_at": str,
                "exit_code": int, "error": str, "result": str, "pid": int, "pgid": int,
                "worker": str, "requested_by": str, "requested_from": str,
                "line_count": int, "cancel_requested": int, "parked": int,
            },
            pk="id", not_null={"slug", "command", "status", "queued_at"},
            defaults={"line_count": 0, "cancel_requested": 0, "parked": 0},
            if_not_exists=True,
        )
        db.table("jobs").create_index(["slug", "id"], if_not_exists=True)
        db.table("jobs").create_index(["status", "id"], if_not_exists=True)
        db.execute(
            "create table if not exists lines (job_id integer not null, seq integer not null,"
            " t real not null, stream text not null, text, primary key (job_id, seq)) without rowid"
        )  # schema 1's; schema 3 moves it into chunks
        db.table("workers").create(
            {"id": str, "host": str, "pid": int, "kind": str, "concurrency": int,
             "started_at": str, "heartbeat": float, "stopped_at": str},
            pk="id", if_not_exists=True,
        )

    # -- jobs --------------------------------------------------------------

    def create_job(self, *, slug: str, command: str, args: dict[str, str], argv: Sequence[str], cwd: str,
                   requested_by: str | None = None, requested_from: str | None = None,
                   origin: str | None = None) -> Job:
        return self.create_job_unless_active(slug=slug, command=command, args=args, argv=argv, cwd=cwd,
                                             requested_by=requested_by, requested_from=requested_from,
                                             origin=origin, unless_active=False)[0]

    def create_job_unless_active(self, *, slug: str, command: str, args: dict[str, str], argv: Sequence[str],
                                 cwd: str, requested_by: str | None, requested_from: str | None,
                                 origin: str | None, unless_active: bool = True,
                                 after: int | None = None) -> tuple[Job, bool]:
        """The new job and True; or the client's queued or running job of the same command and
        False, when there is one (checked and inserted in one transaction: two sweeps at once
        still queue one). `after`: a job it waits for (Job.after)."""
        return self.create_jobs_unless_active([NewJob(slug, command, args, argv, cwd, requested_by, requested_from,
                                                      origin, after)], unless_active=unless_active)[0]

    def create_jobs_unless_active(self, new: Sequence[NewJob], *, unless_active: bool = True) -> list[tuple[Job, bool]]:
        """create_job_unless_active for many jobs, in order, in one transaction (a sweep): each is
        checked against the jobs before it too, and a sweep at the same time waits, then finds these."""
        with self._write() as conn:
            return [self._insert_unless_active(conn, job, unless_active) for job in new]

    def _insert_unless_active(self, conn: sqlite3.Connection, new: NewJob, unless_active: bool) -> tuple[Job, bool]:
        if unless_active:
            row = conn.execute("select * from jobs where slug = ? and command = ? and status in (?, ?)"
                               " order by id limit 1", (new.slug, new.command, QUEUED, STARTED)).fetchone()
            if row is not None:
                return Job.from_row(row), False
        cur = conn.execute(
            "insert into jobs (slug, command, args, argv, cwd, status, queued_at, requested_by, requested_from,"
            " origin, after, handed) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",  # handed: see adopt()
            (new.slug, new.command, json.dumps(new.args), json.dumps(list(new.argv)), new.cwd, QUEUED, self._now(),
             new.requested_by, new.requested_from, new.origin, new.after),
        )
        return Job.from_row(conn.execute("select * from jobs where id = ?", (cur.lastrowid,)).fetchone()), True

    def job(self, job_id: int) -> Job | None:
        row = self._conn().execute("select * from jobs where id = ?", (job_id,)).fetchone()
        return Job.from_row(row) if row else None

    def jobs(self, *, slug: str | None = None, status: str | None = None, limit: int | None = 100,
             before_id: int | None = None) -> list[Job]:
        """Newest first."""
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("slug", slug), ("status", status)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if before_id is not None:
            where.append("id < ?")
            params.append(before_id)
        sql = "select * from jobs" + (" where " + " and ".join(where) if where else "") + " order by id desc"
        if limit is not None:
            sql += " limit ?"
            params.append(limit)
        return [Job.from_row(r) for r in self._conn().execute(sql, params)]

    def activity(self) -> tuple:
        """A cheap fingerprint of what the screens show of the jobs: it changes when a job is
        queued, starts, writes, ends or is asked to cancel (heartbeats do not change it)."""
        return tuple(self._conn().execute(
            "select max(id), (select group_concat(id || ':' || status || ':' || line_count || ':' ||"
            " cancel_requested, ',') from jobs where status in (?, ?)) from jobs", (QUEUED, STARTED)).fetchone())

    def data_version(self) -> int:
        """SQLite's data_version: changes when another connection commits anything."""
        return int(self._conn().execute("pragma data_version").fetchone()[0])

    def latest_by_slug(self) -> dict[str, Job]:
        """Each client's newest job, for the clients table. Read since the last call: the jobs
        added since (ids above the highest seen) and the last ones not yet ended; an ended job
        is final (its late output lines are not shown here), so it is not read again."""
        with self._latest_lock:
            known, top, going = self._latest
            conn = self._conn()
            if top is None or (conn.execute("select max(id) from jobs").fetchone()[0] or 0) < top:  # a new file
                known, top = {}, 0
                rows = conn.execute("select * from jobs where id in (select max(id) from jobs group by slug)"
                                    " order by id")
            else:
                # Two searches by id, not one OR (which SQLite answers by scanning every job)
                rows = conn.execute("select * from jobs where id > ? union all select * from jobs where id <= ?"
                                    " and id in (select value from json_each(?)) order by id",
                                    (top, top, json.dumps(going)))
            latest = dict(known)
            read = list(self._jobs_of("latest", rows))  # every job shown not ended before is among them
            for job in read:
                if (before := latest.get(job.slug)) is None or job.id >= before.id:
                    latest[job.slug] = job
                top = max(top, job.id)
            going = [job.id for job in read if not job.ended and latest[job.slug] is job]
            self._latest = (latest, top, going)
            return dict(latest)

    def active_by_slug(self) -> dict[str, Job]:
        """Each client's running job, else its oldest queued one."""
        rows = self._conn().execute(
            "select * from jobs where status in (?, ?) order by status = ? desc, id", (QUEUED, STARTED, STARTED))
        first: dict[str, Any] = {}
        for r in rows:
            first.setdefault(r["slug"], r)
        return {job.slug: job for job in self._jobs_of("active", first.values())}

    def active_job(self, slug: str) -> Job | None:
        """One client's running job, else its oldest queued one (as active_by_slug, for one slug)."""
        row = self._conn().execute(
            "select * from jobs where slug = ? and status in (?, ?) order by status = ? desc, id limit 1",
            (slug, QUEUED, STARTED, STARTED)).fetchone()
        return Job.from_row(row) if row else None

    def _jobs_of(self, reader: str, rows: Iterable[Any]) -> Iterator[Job]:
        """The rows' jobs, reusing the one made from the same row at `reader`'s last call: the clients
        screen reads a thousand rows at every refresh, nearly all unchanged, and decoding them
        (JSON) was most of its time. Kept for one call, so it never grows."""
        last, kept = self._made.get(reader, {}), dict[tuple, Job]()
        self._made[reader] = kept
        for row in rows:
            values = tuple(row)
            job = kept[values] = last.get(values) or Job.from_row(row)
            yield job

    def counts(self, since: str | None = None) -> dict[str, int]:
        """Jobs per status; failures counted from `since` (ISO UTC) when given."""
        conn = self._conn()
        out = dict.fromkeys(STATUSES, 0)
        for status in (QUEUED, STARTED):
            out[status] = conn.execute("select count(*) from jobs where status = ?", (status,)).fetchone()[0]
        out[FAILED] = conn.execute(
            "select count(*) from jobs where status = ? and finished_at >= ?", (FAILED, since or "")).fetchone()[0]
        return out

    # -- the life of a job --------------------------------------------------

    def claim(self, job_id: int, worker: str) -> Claim:
        """Take the job for `worker`, in one transaction, so that of any number of deliveries
        of one job exactly one is CLAIMED. A job whose client is busy is parked."""
        with self._write() as conn:
            row = conn.execute("select slug, status, after from jobs where id = ?", (job_id,)).fetchone()
            if row is None or row["status"] in ENDED:
                return Claim.GONE
            if row["status"] == STARTED:
                return Claim.ALREADY_RUNNING
            blocked = conn.execute(
                "select 1 from jobs where slug = ? and (status = ? or (status = ? and id < ?)) limit 1",
                (row["slug"], STARTED, QUEUED, job_id)).fetchone()
            if not blocked and row["after"] is not None:  # it waits for a job (of its client: ended by now)
                before = conn.execute("select status from jobs where id = ?", (row["after"],)).fetchone()
                blocked = before is not None and before["status"] not in ENDED
            if blocked:
                conn.execute("update jobs set parked = 1 where id = ?", (job_id,))
                return Claim.PARKED
            conn.execute("update jobs set status = ?, started_at = ?, worker = ?, parked = 0 where id = ?",
                         (STARTED, self._now(), worker, job_id))
        return Claim.CLAIMED

    def set_command(self, job_id: int, argv: Sequence[str], cwd: str) -> None:
        """What the worker really runs (rebuilt from its own settings), for the record."""
        self._conn().execute("update jobs set argv = ?, cwd = ? where id = ?", (json.dumps(list(argv)), cwd, job_id))

    def set_process(self, job_id: int, pid: int) -> None:
        """The CLI's pid (also its process group) and start time, so recovery can tell it from a
        later process that got the same pid."""
        self._conn().execute("update jobs set pid = ?, pgid = ?, proc_start = ? where id = ?",
                             (pid, pid, start_ticks(pid), job_id))

    def finish(self, job_id: int, status: str, *, worker: str | None = None, exit_code: int | None = None,
               error: str | None = None, result: str | None = None, output_note: str | None = None) -> list[int]:
        """End a job. With `worker`: only the run that worker claimed (still started by it);
        without: only a job still queued. Anything else is left as it is (a duplicate or a
        race lost), so a job ends once. Returns the job ids now due to be enqueued again."""
        assert status in ENDED
        with self._write() as conn:
            row = conn.execute("select slug, status, worker from jobs where id = ?", (job_id,)).fetchone()
            if row is None:
                return []
            if worker is None and row["status"] != QUEUED:
                return []
            if worker is not None and (row["status"] != STARTED or row["worker"] != worker):
                return []
            conn.execute(
                "update jobs set status = ?, finished_at = ?, exit_code = ?, error = ?, result = ?, parked = 0,"
                " handed = 1, output_note = ? where id = ?",
                (status, self._now(), exit_code, error, result, output_note, job_id))
            if status != FINISHED:
                self._cancel_waiting(conn, job_id)
            return self._unpark(conn, row["slug"])

    def _cancel_waiting(self, conn: sqlite3.Connection, job_id: int) -> None:
        """The queued jobs waiting for a job that did not finish end cancelled, saying why; so do
        those waiting for them."""
        ended = [job_id]
        while ended:
            before = conn.execute("select id, command, status from jobs where id = ?", (ended.pop(),)).fetchone()
            waiting = conn.execute("select id from jobs where after = ? and status = ?", (before["id"], QUEUED))
            for (waiting_id,) in waiting.fetchall():
                conn.execute("update jobs set status = ?, finished_at = ?, error = ?, parked = 0, handed = 1"
                             " where id = ?", (CANCELLED, self._now(), f"job {before['id']} ({before['command']})"
                                               f" it waited for was {before['status']}", waiting_id))
                ended.append(waiting_id)

    @staticmethod
    def _unpark(conn: sqlite3.Connection, slug: str) -> list[int]:
        """The client is free: hand its oldest waiting job back to the queue."""
        if conn.execute("select 1 from jobs where slug = ? and status = ?", (slug, STARTED)).fetchone():
            return []
        row = conn.execute("select id from jobs where slug = ? and status = ? and parked = 1 order by id limit 1",
                           (slug, QUEUED)).fetchone()
        if row is None:
            return []
        conn.execute("update jobs set parked = 0, handed = 0 where id = ?", (row["id"],))  # adopted again
        return [row["id"]]

    def adopt(self) -> list[int]:
        """The queued jobs not yet handed to Huey's queue, now marked handed: the caller (a
        worker) enqueues them. Of several workers adopting at once, each job goes to one.
        A read first, so that an idle poll costs no write transaction."""
        conn = self._conn()
        if conn.execute("select 1 from jobs where handed = 0 limit 1").fetchone() is None:
            return []
        with self._write() as conn:
            rows = conn.execute("update jobs set handed = 1 where handed = 0 and status = ? returning id",
                                (QUEUED,)).fetchall()
            conn.execute("update jobs set handed = 1 where handed = 0")  # ended before adopted: nothing to hand
        return sorted(r[0] for r in rows)

    def request_cancel(self, job_id: int) -> tuple[Job | None, list[int]]:
        """A queued job ends cancelled at once; a started one is flagged for its runner."""
        job = self.job(job_id)
        if job is None or job.ended:
            return job, []
        if job.status == QUEUED:
            requeue = self.finish(job_id, CANCELLED, error="cancelled before it started")
            job = self.job(job_id)
            if job is not None and job.status == CANCELLED:
                return job, requeue
        self._conn().execute("update jobs set cancel_requested = 1 where id = ? and status = ?", (job_id, STARTED))
        return self.job(job_id), []

    def cancel_requested(self, job_id: int) -> bool:
        row = self._conn().execute("select cancel_requested from jobs where id = ?", (job_id,)).fetchone()
        return bool(row and row[0])

    def queued_unparked(self, older_than: str) -> list[int]:
        rows = self._conn().execute(
            "select id from jobs where status = ? and parked = 0 and handed = 1 and queued_at < ? order by id",
            (QUEUED, older_than))  # not handed: adopted, not re-sent
        return [r[0] for r in rows]

    # -- output ------------------------------------------------------------

    def append_chunks(self, job_id: int, new: list[Chunk]) -> int:
        """Store chunks of output in one transaction, the job's line count with them."""
        if not new:
            return 0
        with self._write() as conn:
            count = chunks.insert(conn, job_id, new)
            conn.execute("update jobs set line_count = line_count + ? where id = ?", (count, job_id))
        return count

    def lines(self, job_id: int, *, after: int = 0, limit: int | None = None,
              stream: str | None = None) -> list[Line]:
        """Lines with seq > after, in order (of one stream, if given)."""
        found = chunks.iter_lines(self._conn(), job_id, after, stream)
        return list(found if limit is None else islice(found, limit))

    def chunks(self, job_id: int, *, after: int = 0, stream: str | None = None) -> Iterator[Chunk]:
        """The lines with seq > after as whole chunks, for reading a job's output back fast."""
        return chunks.iter_chunks(self._conn(), job_id, after, stream)

    def lines_cut(self, job_id: int, *, after: int, limit: int, max_bytes: int) -> list[tuple[Line, int]]:
        """Like lines(), each with its size in bytes; a line over max_bytes comes cut (as bytes),
        so a page of megabyte lines does not become a gigabyte of Text."""
        out = []
        for line in self.lines(job_id, after=after, limit=limit):
            raw = line.text.encode("utf-8") if isinstance(line.text, str) else line.text
            out.append((line._replace(text=raw[:max_bytes]) if len(raw) > max_bytes else line, len(raw)))
        return out

    def find_line(self, job_id: int, term: str, *, after: int = 0, before: int | None = None) -> int | None:
        """The seq of the first line after `after` (or the last before `before`) containing
        `term`, case-insensitive for ASCII; None if there is none."""
        return chunks.find(self._conn(), job_id, term, after=after, before=before)

    # -- workers ---------------------------------------------------------

    def register_worker(self, worker_id: str, *, kind: str, concurrency: int) -> None:
        self.db.table("workers").upsert(
            {"id": worker_id, "host": this_host(), "pid": os.getpid(), "kind": kind,
             "concurrency": concurrency, "started_at": self._now(), "heartbeat": time.time(), "stopped_at": None,
             "proc_start": start_ticks(os.getpid())},
            pk="id")

    def heartbeat(self, worker_id: str) -> None:
        self._conn().execute("update workers set heartbeat = ? where id = ?", (time.time(), worker_id))

    def stop_worker(self, worker_id: str) -> None:
        self._conn().execute("update workers set stopped_at = ? where id = ?", (self._now(), worker_id))

    def workers(self) -> list[WorkerInfo]:
        return [WorkerInfo(**dict(r)) for r in self._conn().execute("select * from workers order by started_at")]

    def live_workers(self) -> list[WorkerInfo]:
        now = time.time()
        return [w for w in self.workers() if w.alive(now)]

    def prune_workers(self, keep_seconds: float = 86400.0) -> None:
        """Forget workers gone for a day (a paused one on this host is not gone)."""
        cutoff = time.time() - keep_seconds
        gone = [w.id for w in self.workers() if w.heartbeat < cutoff and not w.alive()]
        self._conn().executemany("delete from workers where id = ?", [(g,) for g in gone])

    def lost_jobs(self) -> list[LostJob]:
        """Started jobs whose worker is gone, with what identifies their CLI process."""
        live = {w.id for w in self.live_workers()}
        rows = self._conn().execute("select * from jobs where status = ?", (STARTED,)).fetchall()
        return [LostJob(Job.from_row(r), r["pgid"], r["proc_start"]) for r in rows if r["worker"] not in live]

    # -- the file ----------------------------------------------------------

    def quick_check(self) -> list[str]:
        """SQLite's quick_check: ["ok"] when the file is sound, else the problems it found."""
        try:
            return [r[0] for r in self._conn().execute("pragma quick_check")]
        except sqlite3.DatabaseError as exc:
            return [str(exc)]

    def backup(self, dest: Path) -> None:
        """A consistent copy while others read and write (SQLite's online backup)."""
        create_private(dest)  # a new file (job output is private), never one of ours: see datadir
        target = sqlite3.connect(dest)
        try:
            self._conn().backup(target)
        finally:
            target.close()
