"""The one path every action takes: validate, store the job, enqueue its id.

The command line and the app both hold an Engine; neither has a second way in.
No Textual here.
"""

from __future__ import annotations

import getpass
import logging
import os
import re
import shutil
from collections.abc import Iterable
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Unpack

from adsdash import catalogue
from adsdash.catalogue import JobParams, JobRequest, RequestError
from adsdash.config import Settings
from adsdash.store import FINISHED, Clock, Job, Store, system_clock
from adsdash.workspace import Workspace

log = logging.getLogger(__name__)
_REPORT_WRITTEN = re.compile(r"Report (would be )?written to: (.+)$")


def requester() -> tuple[str, str | None]:
    """Who asks, and from where: the user name, and the SSH client's address if any."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    ssh = os.environ.get("SSH_CLIENT") or os.environ.get("SSH_CONNECTION") or ""
    return user, (ssh.split()[0] if ssh.split() else None)


def find_cli(cli_command: str, cwd: Path | str) -> str:
    """The program the runner will start for `cli_command` in `cwd`, found as it would find it:
    a path relative to cwd, a bare name on PATH (relative PATH entries also from cwd).
    Raises RequestError naming it when it is missing or not an executable file."""
    exe = catalogue.cli_prefix(cli_command)[0]
    if os.sep in exe:
        path = os.path.join(cwd, exe)  # an absolute exe stays as it is
        if not os.path.exists(path):
            raise RequestError(f"the ads_sync command {path!r} does not exist (check ADS_SYNC_CLI_COMMAND)")
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise RequestError(f"the ads_sync command {path!r} is not an executable file")
        return path
    found = shutil.which(exe, path=os.pathsep.join(os.path.join(cwd, d) for d in os.get_exec_path()))
    if found is None:
        raise RequestError(f"the ads_sync command {exe!r} is not an executable found on PATH")
    return found


class AlreadyQueued(RequestError):
    """The client already has this command queued or running (a sweep's `once`)."""

    def __init__(self, job: Job):
        super().__init__(f"{job.command} is already {job.status} for {job.slug} (job {job.id})")
        self.job = job


def _not_run(job_id: int) -> None:
    raise RuntimeError("jobs run in a worker, not where they are enqueued")


class Engine:
    def __init__(self, settings: Settings, *, clock: Clock = system_clock):
        self.settings = settings
        self.clock = clock
        self.workspace = Workspace(
            settings.ads_sync_path, late_after_days=settings.late_after_days,
            stale_after_days=settings.stale_after_days, clock=self.clock,
            cache_path=settings.cache_dir / "workspace-cache.json",  # parsed files, kept across starts
            private=settings.home,
        )

    @cached_property
    def store(self) -> Store:
        return Store(self.settings.store_path, clock=self.clock)

    @cached_property
    def _task(self):
        from adsdash.tasks.queue import make_huey  # here: only a command that queues needs Huey

        _huey, task = make_huey(self.settings.queue_path, self.settings.wake_dir, _not_run)
        return task

    # -- requests ----------------------------------------------------------

    def client_today(self, slug: str) -> date:
        client = self.workspace.client(slug)
        zone = client.zone if client else None
        now = self.clock()
        return now.astimezone(zone).date() if zone else now.astimezone().date()

    def build(self, command: str, slug: str, *, start: str | None = None, end: str | None = None,
              scope: str | None = None) -> tuple[JobRequest, list[str]]:
        """Validate completely; returns the request and the argv it will run. Raises RequestError."""
        if problem := self.workspace.clients_folder_problem():
            raise RequestError(problem)
        known = self.workspace.slugs()
        # The client's today reads its config (YAML) for its time zone: only dates and scopes need it.
        request = catalogue.build_request(command, slug, known_slugs=known, today=lambda: self.client_today(slug),
                                          start=start, end=end, scope=scope)
        argv = catalogue.cli_argv(self.settings.cli_command, request)
        find_cli(self.settings.cli_command, Path(self.settings.ads_sync_path).resolve())  # not a job that cannot start
        return request, argv

    def submit(self, command: str, slug: str, *, origin: str = "shell", once: bool = False,
               **params: Unpack[JobParams]) -> Job:
        """Validate, store and enqueue one job. `origin`: through what it was asked (app, shell,
        schedule NAME). `once`: refuse (AlreadyQueued) when the client has the same command
        queued or running, so a repeated sweep queues nothing twice."""
        request, argv = self.build(command, slug, **params)
        user, address = requester()
        job, created = self.store.create_job_unless_active(
            slug=request.slug, command=request.command, args=dict(request.args), argv=argv,
            cwd=str(Path(self.settings.ads_sync_path).resolve()), requested_by=user, requested_from=address,
            origin=origin, unless_active=once,
        )
        if not created:
            raise AlreadyQueued(job)
        self.enqueue([job.id])
        return job

    def enqueue(self, job_ids: Iterable[int]) -> None:
        """Hand stored jobs to the workers: the one way in to the queue."""
        for job_id in job_ids:
            self._task(job_id)

    def retry(self, job_id: int, *, origin: str = "shell") -> Job:
        job = self.job_or_error(job_id)
        return self.submit(job.command, job.slug, origin=origin, **self.stored_args(job))

    def rebuild(self, job: Job) -> tuple[JobRequest, list[str]]:
        """A stored job's request and argv, checked again as at submit (a row is data, and may
        come from anyone who could write the store). Raises RequestError."""
        return self.build(job.command, job.slug, **self.stored_args(job))

    @staticmethod
    def stored_args(job: Job) -> JobParams:
        args = job.args if isinstance(job.args, dict) else {}
        unknown = sorted(str(key) for key in set(args) - {"start", "end", "scope"})
        if unknown:
            raise RequestError(f"{job.command} does not take --{unknown[0]}")
        if not all(isinstance(value, str) for value in args.values()):
            raise RequestError(f"job {job.id}: its stored arguments are not text")
        return JobParams(**args)  # type: ignore[typeddict-item]  # the keys are checked above

    def cancel(self, job_id: int) -> Job:
        job, due = self.store.request_cancel(job_id)
        self.enqueue(due)
        if job is None:
            raise RequestError(f"no job {job_id}")
        return job

    def job_or_error(self, job_id: int) -> Job:
        job = self.store.job(job_id)
        if job is None:
            raise RequestError(f"no job {job_id}")
        return job

    # -- facts -------------------------------------------------------------

    def report_outcome(self, job: Job) -> str:
        """One line on what became of a report job: its file written, or why there is none.
        (The real CLI v0.1.0 logs "Report would be written to: PATH" and writes nothing.)"""
        if not job.ended:
            return job.status
        if job.status != FINISHED:
            return job.error or job.status
        from adsdash.sanitize import plain  # here: sanitize imports Rich, which most commands never need

        seq = self.store.find_line(job.id, "written to: ")
        found = self.store.lines(job.id, after=seq - 1, limit=1) if seq else []
        match = _REPORT_WRITTEN.search(plain(found[0].as_text)) if found else None
        if match is None:
            return "finished, but its output names no report file"
        path = Path(match[2].strip())
        if not path.is_absolute():
            path = Path(job.cwd) / path
        if path.is_file():
            return f"wrote {path.name}"
        said = "would be written to" if match[1] else "written to"
        return f"finished, but no report file exists (the CLI said it {said}: {match[2].strip()})"


    def health(self) -> dict:
        """Store, workers, ads_sync folder and CLI: each with ok and a detail."""
        checks: dict[str, dict] = {}
        try:
            problems = [p for p in self.store.quick_check() if p != "ok"]
            counts = self.store.counts()
            detail = str(self.settings.store_path)
            if problems:
                detail += f": {problems[0]} (back it up with `adsdash store backup FILE`)"
            checks["store"] = {"ok": not problems, "detail": detail, "counts": counts}
        except Exception as exc:  # noqa: BLE001 - the point of health is to report, not to crash
            checks["store"] = {"ok": False, "detail": f"{self.settings.store_path}: {type(exc).__name__}: {exc}"}
        try:
            live = self.store.live_workers()
            checks["worker"] = {"ok": bool(live), "detail": ", ".join(w.id for w in live) or "no live worker"}
        except Exception as exc:  # noqa: BLE001 - reported, as above
            checks["worker"] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
        root = Path(self.settings.ads_sync_path)
        checks["ads_sync_folder"] = {"ok": self.workspace.exists(), "detail": str(root.resolve())}
        try:
            checks["cli"] = {"ok": True, "detail": find_cli(self.settings.cli_command, root.resolve())}
        except RequestError as exc:
            checks["cli"] = {"ok": False, "detail": str(exc)}
        status = "healthy" if all(c["ok"] for c in checks.values()) else "degraded"
        return {"status": status, "checks": checks}
