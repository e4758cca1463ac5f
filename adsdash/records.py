"""What the job store holds, as plain values: a job, a worker, the statuses, and the store's
errors. No SQLite here (store.py reads and writes them); importing this costs little: the
values are NamedTuples, not dataclasses, which cost a submit ~1 ms each to make and ~10 ms to
import (see bench/bench_cli.py).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any, NamedTuple

from adsdash import timefmt
from adsdash.processes import same_process

QUEUED, STARTED, FINISHED, FAILED, CANCELLED = "queued", "started", "finished", "failed", "cancelled"
STATUSES = (QUEUED, STARTED, FINISHED, FAILED, CANCELLED)
ENDED = (FINISHED, FAILED, CANCELLED)
HEARTBEAT_SECONDS = 2.0
WORKER_TIMEOUT_SECONDS = 15.0  # a worker silent this long is gone


class StoreError(Exception):
    """The job store cannot be used; the message is one line naming the file."""


class Claim(Enum):
    """What a worker's claim on a job found. Only CLAIMED may start the CLI."""
    CLAIMED = "claimed"
    PARKED = "parked"  # the client's turn is taken: handed back when it is free
    ALREADY_RUNNING = "already running"  # a duplicate delivery
    GONE = "gone"  # ended (cancelled, say) or deleted


Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def this_host() -> str:
    """The host's name, as socket.gethostname() gives it, without importing socket (~3 ms)."""
    return os.uname().nodename


def iso(moment: datetime) -> str:
    """UTC with microseconds, sortable as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class Job(NamedTuple):
    id: int
    slug: str
    command: str
    args: dict[str, str]
    argv: list[str]
    cwd: str
    status: str
    queued_at: str
    started_at: str | None
    finished_at: str | None
    exit_code: int | None
    error: str | None
    result: str | None
    pid: int | None
    worker: str | None
    requested_by: str | None
    requested_from: str | None
    line_count: int
    cancel_requested: bool
    parked: bool
    output_note: str | None  # what happened to the output when the store could not take it
    origin: str | None  # through what it was asked: app, shell, schedule NAME (None: before schema 4)
    output_pruned_at: str | None = None  # when retention removed its output (adsdash/retention.py)
    after: int | None = None  # the job this one waits for: it runs once that one finished (schema 8)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Job:
        row = dict(row)
        row["args"] = json.loads(row["args"] or "{}")
        row["argv"] = json.loads(row["argv"] or "[]")
        row["cancel_requested"] = bool(row["cancel_requested"])
        row["parked"] = bool(row["parked"])
        for column in ("pgid", "proc_start", "handed"):  # the workers' bookkeeping
            row.pop(column, None)
        return cls(**row)

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    @property
    def waits_for(self) -> int | None:
        """The job it waits for, while it is queued (Job.after)."""
        return self.after if self.status == QUEUED else None

    @property
    def asked(self) -> str:
        """`ana from 10.0.0.5 via app`: who asked, from where (SSH), through what."""
        text = self.requested_by or "?"
        if self.requested_from:
            text += f" from {self.requested_from}"
        return text + (f" via {self.origin}" if self.origin else "")

    def elapsed(self, now: datetime | None = None) -> float | None:
        """Seconds run so far (or in all, once ended); None before it starts."""
        start = timefmt.parse(self.started_at)
        if start is None:
            return None
        end = timefmt.parse(self.finished_at) or now or system_clock()
        return max(0.0, (end - start).total_seconds())

    def to_dict(self) -> dict[str, Any]:
        data = self._asdict()
        data["job_id"] = data.pop("id")
        return data


class NewJob(NamedTuple):
    """A job to store (create_jobs_unless_active)."""
    slug: str
    command: str
    args: dict[str, str]
    argv: Sequence[str]
    cwd: str
    requested_by: str | None
    requested_from: str | None
    origin: str | None
    after: int | None = None  # a job of the same client to wait for (Job.after)


class LostJob(NamedTuple):
    job: Job
    pgid: int | None
    proc_start: int | None  # the CLI's start time: a pid reused since is not ours to kill


class WorkerInfo(NamedTuple):
    id: str
    host: str
    pid: int
    kind: str
    concurrency: int
    started_at: str
    heartbeat: float
    stopped_at: str | None
    proc_start: int | None = None

    @property
    def here(self) -> bool:
        return self.host == this_host()

    def alive(self, now: float | None = None) -> bool:
        """On this host, while its process exists (a paused worker is not lost); elsewhere,
        while its heartbeat is recent."""
        if self.stopped_at:
            return False
        if self.here:
            return same_process(self.pid, self.proc_start)
        return (now or time.time()) - self.heartbeat <= WORKER_TIMEOUT_SECONDS
