"""The one path every action takes: validate, store the job, enqueue its id.

The command line and the app both hold an Engine; neither has a second way in.
No Textual here.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Sequence
from datetime import date
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Unpack

from adsdash import catalogue
from adsdash.catalogue import JobParams, JobRequest, RequestError
from adsdash.client_folder import ClientFolder
from adsdash.lazy_log import get_logger
from adsdash.store import FINISHED, Clock, Job, NewJob, Store, system_clock

if TYPE_CHECKING:
    from adsdash import repair_guard
    from adsdash.config import Settings
    from adsdash.coverage import CoverageCache
    from adsdash.workspace import Workspace

log = get_logger(__name__)
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
    import shutil  # here: an absolute command (the usual) needs none of it

    found = shutil.which(exe, path=os.pathsep.join(os.path.join(cwd, d) for d in os.get_exec_path()))
    if found is None:
        raise RequestError(f"the ads_sync command {exe!r} is not an executable found on PATH")
    return found


Built = tuple[JobRequest, list[str]] | RequestError  # a request and its argv, or why it is refused


class AlreadyQueued(RequestError):
    """The client already has this command queued or running (a sweep's `once`)."""

    def __init__(self, job: Job):
        super().__init__(f"{job.command} is already {job.status} for {job.slug} (job {job.id})")
        self.job = job


class Engine:
    def __init__(self, settings: Settings, *, clock: Clock = system_clock):
        self.settings = settings
        self.clock = clock

    @cached_property
    def workspace(self) -> Workspace:
        from adsdash.workspace import Workspace  # here: its parsers would cost a submit ~25 ms (bench_cli.py)

        settings = self.settings
        return Workspace(
            settings.ads_sync_path, late_after_days=settings.late_after_days,
            stale_after_days=settings.stale_after_days, clock=self.clock,
            cache_path=lambda: settings.cache_dir / "workspace-cache.json",  # parsed files, kept across starts
            private=settings.home,
        )

    @cached_property
    def _light_folder(self) -> ClientFolder:
        return ClientFolder(self.settings.ads_sync_path, private=self.settings.home)

    @property
    def clients_folder(self) -> ClientFolder:
        """The workspace once made, else a reader of the same folder that parses nothing: enough
        to check a slug, and all a submit needs."""
        made = self.__dict__.get("workspace")  # cached_property keeps it there
        return made if made is not None else self._light_folder

    @cached_property
    def coverage(self) -> CoverageCache:
        """Each client's data by day, from its master CSV (read when its stat changed)."""
        from adsdash.coverage import CoverageCache

        return CoverageCache(self.workspace)

    @cached_property
    def store(self) -> Store:
        return Store(self.settings.store_path, clock=self.clock)

    # -- requests ----------------------------------------------------------

    def client_today(self, slug: str) -> date:
        client = self.workspace.client(slug)
        zone = client.zone if client else None
        now = self.clock()
        return now.astimezone(zone).date() if zone else now.astimezone().date()

    def build(self, command: str, slug: str, *, start: str | None = None, end: str | None = None,
              scope: str | None = None) -> tuple[JobRequest, list[str]]:
        """Validate completely; returns the request and the argv it will run. Raises RequestError."""
        built = self._build_each(command, [slug], JobParams(start=start, end=end, scope=scope))[0]
        if isinstance(built, RequestError):
            raise built
        return built

    def _build_each(self, command: str, slugs: Sequence[str],
                    params: JobParams) -> list[tuple[JobRequest, list[str]] | RequestError]:
        """build() for each slug, reading what they share once (the clients folder, the slugs, the
        CLI): each one's request and argv, or why it is refused."""
        if problem := self.clients_folder.clients_folder_problem():
            raise RequestError(problem)
        known = self.clients_folder.slugs()
        prefix = catalogue.cli_prefix(self.settings.cli_command)  # split once: shlex is slow
        built: list[tuple[JobRequest, list[str]] | RequestError] = []
        for slug in slugs:
            try:
                # The client's today reads its config (YAML) for its time zone: only dates and scopes need it.
                request = catalogue.build_request(command, slug, known_slugs=known,
                                                  today=partial(self.client_today, slug), **params)
                built.append((request, prefix + request.argv()))
            except RequestError as exc:
                built.append(exc)
        if not all(isinstance(one, RequestError) for one in built):  # not a job that cannot start
            find_cli(self.settings.cli_command, Path(self.settings.ads_sync_path).resolve())
        return built

    def submit(self, command: str, slug: str, *, origin: str = "shell", once: bool = False,
               **params: Unpack[JobParams]) -> Job:
        """Validate, store and enqueue one job. `origin`: through what it was asked (app, shell,
        schedule NAME). `once`: refuse (AlreadyQueued) when the client has the same command
        queued or running, so a repeated sweep queues nothing twice."""
        request, argv = self.build(command, slug, **params)
        self._guard_repair(request)
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

    def submit_many(self, command: str, slugs: Sequence[str], *, origin: str = "shell", once: bool = False,
                    **params: Unpack[JobParams]) -> list[Job | RequestError]:
        """submit() for many clients as one, in the order given: for each slug its new job, or why
        it got none (its RequestError; with `once`, AlreadyQueued naming the job it has). The jobs
        are stored in one transaction and handed over in one enqueue. What is wrong for every slug
        alike (the command, its arguments, the clients folder, the CLI) raises RequestError first."""
        # The command and its arguments, checked once against a stand-in client (dates and years
        # against no "today": each client's own is checked below).
        catalogue.build_request(command, "any", known_slugs={"any"}, today=date.max, **params)
        if not slugs:
            return []
        built = [self._guarded(one) for one in self._build_each(command, slugs, params)]
        user, address = requester()
        cwd = str(Path(self.settings.ads_sync_path).resolve())
        stored = iter(self.store.create_jobs_unless_active(
            [NewJob(request.slug, request.command, dict(request.args), argv, cwd, user, address, origin)
             for request, argv in (one for one in built if not isinstance(one, RequestError))],
            unless_active=once))
        results: list[Job | RequestError] = []
        for one in built:
            if isinstance(one, RequestError):
                results.append(one)
            else:
                job, created = next(stored)
                results.append(job if created else AlreadyQueued(job))
        self.enqueue([job.id for job in results if isinstance(job, Job)])
        return results

    def _guard_repair(self, request: JobRequest) -> None:
        """A repair of days that a queued or running job of the client already pulls is refused,
        naming that job (repair_guard). Checked when asked, not when a worker runs it."""
        if request.command == "repair":
            from adsdash import repair_guard

            client = self.workspace.client(request.slug)
            repair_guard.check(self.store, request.slug, date.fromisoformat(request.args["start"]),
                               date.fromisoformat(request.args["end"]),
                               client.watermarks.get("google_ads") if client else None)

    def _guarded(self, built: Built) -> Built:
        if isinstance(built, RequestError):
            return built
        try:
            self._guard_repair(built[0])
        except RequestError as exc:
            return exc
        return built

    def repair_preview(self, slug: str, start: str, end: str) -> repair_guard.Preview:
        """What a repair would touch, checked as at submit (RequestError when it is refused
        outright: bad dates, unknown client); an overlap is in the preview, not raised."""
        from adsdash import repair_guard

        request, _ = self.build("repair", slug, start=start, end=end)
        return repair_guard.preview(self, request.slug, date.fromisoformat(request.args["start"]),
                                    date.fromisoformat(request.args["end"]))

    def enqueue(self, job_ids: Sequence[int]) -> None:
        """Tell the workers that these stored jobs are waiting: the one way in to the queue.
        A worker adopts them into Huey's queue (tasks/queue.py); a process that only stores
        jobs never imports Huey. With no worker up, the jobs wait for the first to start."""
        if job_ids:  # the jobs are in the store already: only the wake-up is left to do
            from adsdash.tasks.wake import wake_all

            try:
                wake_all(self.settings.wake_dir)
            except OSError as exc:  # the jobs are stored: a worker's next poll (within a second) finds them
                log.warning("cannot wake the workers (%s); they find the jobs at their next poll", exc)

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
