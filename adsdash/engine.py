"""The one path every action takes: validate, store the job, enqueue its id.

The command line and the app both hold an Engine; neither has a second way in.
No Textual here.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Sequence
from datetime import date, timedelta
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Unpack

from adsdash import audit, catalogue
from adsdash.catalogue import JobParams, JobRequest, RequestError
from adsdash.client_folder import ClientFolder
from adsdash.lazy_log import get_logger
from adsdash.store import FINISHED, Clock, Job, NewJob, Store, system_clock

if TYPE_CHECKING:
    from adsdash import repair_guard, report_check
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


def _what(command: str, slug: str | None, params: JobParams) -> str:
    """`repair acme --start 2025-10-01 --end 2025-10-03`: a queue's target, for the audit."""
    return " ".join([command, *([slug] if slug else []),
                     *(f"--{key} {value}" for key, value in params.items() if value is not None)])


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
    def coverage(self) -> CoverageCache:
        """Each client's data by day, from its master CSV (read when its stat changed)."""
        from adsdash.coverage import CoverageCache

        return CoverageCache(self.workspace)

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
               after: int | None = None, anyway: bool = False, **params: Unpack[JobParams]) -> Job:
        """Validate, store and enqueue one job. `origin`: through what it was asked (app, shell,
        schedule NAME). `once`: refuse (AlreadyQueued) when the client has the same command
        queued or running, so a repeated sweep queues nothing twice. `after`: a job of the same
        client it waits for (cancelled if that one fails or is cancelled). `anyway`: a report
        whose scope covers days the data lacks is queued all the same (else ReportLacksData).
        Audited, refused or not."""
        return self._submit(command, slug, origin=origin, once=once, params=params, after=after, anyway=anyway)

    def append_then(self, command: str, slug: str, *, origin: str = "shell",
                    **params: Unpack[JobParams]) -> tuple[Job, Job]:
        """An append for the client (or the one it has queued or running already), and this
        job after it: it runs if the append finished, and ends cancelled if it did not."""
        try:
            append = self.submit("append", slug, origin=origin, once=True)
        except AlreadyQueued as exc:
            append = exc.job
        return append, self.submit(command, slug, origin=origin, after=append.id, **params)

    def _submit(self, command: str, slug: str, *, origin: str, once: bool, params: JobParams,
                retry_of: Job | None = None, after: int | None = None, anyway: bool = False) -> Job:
        user, address = requester()
        action, target = (audit.RETRY, f"job {retry_of.id} ({command} {slug})") if retry_of else \
            (audit.QUEUE, _what(command, slug, params))
        try:
            request, argv = self.build(command, slug, **params)
            self._guard_repair(request)
            if after is not None:
                self._check_after(after, request.slug)
            elif not anyway:
                self._guard_report(request)
            job, created = self.store.create_job_unless_active(
                slug=request.slug, command=request.command, args=dict(request.args), argv=argv,
                cwd=str(Path(self.settings.ads_sync_path).resolve()), requested_by=user, requested_from=address,
                origin=origin, unless_active=once, after=after,
            )
            if not created:
                raise AlreadyQueued(job)
        except RequestError as exc:
            self._audit([audit.entry(action, target, origin=origin, at=self.clock(), slug=slug, refused=str(exc),
                                     job_id=retry_of.id if retry_of else None, user=user, address=address)])
            raise
        detail = {"new_job": job.id} if retry_of else None
        self._audit([audit.entry(action, target, origin=origin, at=self.clock(), slug=job.slug, detail=detail,
                                 job_id=retry_of.id if retry_of else job.id, user=user, address=address)])
        self.enqueue([job.id])
        return job

    def submit_many(self, command: str, slugs: Sequence[str], *, origin: str = "shell", once: bool = False,
                    anyway: bool = False, **params: Unpack[JobParams]) -> list[Job | RequestError]:
        """submit() for many clients as one, in the order given: for each slug its new job, or why
        it got none (its RequestError; with `once`, AlreadyQueued naming the job it has). The jobs
        are stored in one transaction and handed over in one enqueue; their audit rows go in one
        more. What is wrong for every slug alike (the command, its arguments, the clients folder,
        the CLI) raises RequestError first."""
        user, address = requester()
        try:
            results = self._store_many(command, slugs, origin=origin, once=once, params=params,
                                       user=user, address=address, anyway=anyway)
        except RequestError as exc:
            self._audit([audit.entry(audit.QUEUE, f"{_what(command, None, params)} for {len(slugs)} client(s)",
                                     origin=origin, at=self.clock(), refused=str(exc), user=user, address=address)])
            raise
        now = self.clock()
        self._audit([audit.entry(audit.QUEUE, _what(command, slug, params), origin=origin, at=now, slug=slug,
                                 job_id=one.job.id if isinstance(one, AlreadyQueued) else
                                 None if isinstance(one, RequestError) else one.id,
                                 refused=str(one) if isinstance(one, RequestError) else None,
                                 user=user, address=address)
                     for slug, one in zip(slugs, results, strict=True)])
        self.enqueue([job.id for job in results if isinstance(job, Job)])
        return results

    def _store_many(self, command: str, slugs: Sequence[str], *, origin: str, once: bool, params: JobParams,
                    user: str, address: str | None, anyway: bool = False) -> list[Job | RequestError]:
        # The command and its arguments, checked once against a stand-in client (dates and years
        # against no "today": each client's own is checked below).
        catalogue.build_request(command, "any", known_slugs={"any"}, today=date.max, **params)
        if not slugs:
            return []
        built = [self._guarded(one, anyway=anyway) for one in self._build_each(command, slugs, params)]
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

    def _guarded(self, built: Built, *, anyway: bool = False) -> Built:
        if isinstance(built, RequestError):
            return built
        try:
            self._guard_repair(built[0])
            if not anyway:
                self._guard_report(built[0])
        except RequestError as exc:
            return exc
        return built

    def _guard_report(self, request: JobRequest) -> None:
        """A report whose scope covers days the client's data lacks is refused, saying which
        (report_check.ReportLacksData): append first, or ask for it anyway."""
        if request.command == "report" and (found := self._report_missing(request)) is not None:
            from adsdash import report_check

            raise report_check.ReportLacksData(request.slug, *found)

    def _report_missing(self, request: JobRequest) -> tuple[report_check.Missing, date | None] | None:
        """The days a report's scope covers that the client's data lacks, and its watermark."""
        from adsdash import report_check

        client = self.workspace.client(request.slug)
        watermark = client.watermarks.get("google_ads") if client else None
        yesterday = self.client_today(request.slug) - timedelta(days=1)
        found = report_check.missing(request.args["scope"], self.coverage.get(request.slug), watermark, yesterday)
        return (found, watermark) if found is not None else None

    def report_lacks(self, slug: str, scope: str) -> str | None:
        """What a report of the client over `scope` would lack in its data, in one line; None when
        it lacks nothing. RequestError when the report would be refused outright."""
        request, _ = self.build("report", slug, scope=scope)
        found = self._report_missing(request)
        return found[0].describe(found[1]) if found is not None else None

    def _check_after(self, after: int, slug: str) -> None:
        """The job to wait for: one of the same client (its turn runs them in order), not one
        that already failed or was cancelled."""
        before = self.store.job(after)
        if before is None:
            raise RequestError(f"no job {after} to wait for")
        if before.slug != slug:
            raise RequestError(f"job {after} is {before.slug}'s: a job waits only for one of its own client")
        if before.status in ("failed", "cancelled"):
            ended = "failed" if before.status == "failed" else "was cancelled"
            raise RequestError(f"job {after} ({before.command}) {ended}: nothing to wait for")

    def repair_preview(self, slug: str, start: str, end: str) -> repair_guard.Preview:
        """What a repair would touch, checked as at submit (RequestError when it is refused
        outright: bad dates, unknown client); an overlap is in the preview, not raised."""
        from adsdash import repair_guard

        request, _ = self.build("repair", slug, start=start, end=end)
        return repair_guard.preview(self, request.slug, date.fromisoformat(request.args["start"]),
                                    date.fromisoformat(request.args["end"]))

    def _audit(self, entries: Sequence[audit.Entry]) -> None:
        """Record actions; never raises (audit.record logs a failure): an action never stops for its audit."""
        audit.record(self.store, entries)

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
        """Queue a job again with its command and arguments: one audit row, `retry`. A report is
        asked for again as it was (anyway: the data check was the first ask's), waiting for nothing."""
        job = self.store.job(job_id)
        if job is None:
            self._audit([audit.entry(audit.RETRY, f"job {job_id}", origin=origin, at=self.clock(), job_id=job_id,
                                     refused=f"no job {job_id}")])
            raise RequestError(f"no job {job_id}")
        try:
            params = self.stored_args(job)
        except RequestError as exc:
            self._audit([audit.entry(audit.RETRY, f"job {job.id} ({job.command} {job.slug})", origin=origin,
                                     at=self.clock(), slug=job.slug, job_id=job.id, refused=str(exc))])
            raise
        return self._submit(job.command, job.slug, origin=origin, once=False, params=params, retry_of=job,
                            anyway=True)

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

    def cancel(self, job_id: int, *, origin: str = "shell") -> Job:
        """Cancel a queued job, or ask a running one to stop. Audited: a job that had ended
        already is a refused cancel (the job is still returned, as it is)."""
        before = self.store.job(job_id)
        job, due = self.store.request_cancel(job_id)
        self.enqueue(due)
        target = f"job {job_id}" + (f" ({before.command} {before.slug})" if before else "")
        refused = f"no job {job_id}" if job is None else f"already {before.status}" if before and before.ended \
            else None
        self._audit([audit.entry(audit.CANCEL, target, origin=origin, at=self.clock(), job_id=job_id,
                                 slug=before.slug if before else None, refused=refused)])
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
            from adsdash import retention  # here: only health needs it

            size = retention.size(self.store)
            detail = f"{self.settings.store_path} ({retention.human_bytes(size.used)}"
            detail += f", {retention.human_bytes(size.free)} free)" if size.free else ")"
            if problems:
                detail += f": {problems[0]} (back it up with `adsdash store backup FILE`)"
            checks["store"] = {"ok": not problems, "detail": detail, "counts": counts, "size_bytes": size.used,
                               "free_bytes": size.free, "on_disk_bytes": size.on_disk,
                               "last_prune": retention.last_prune(self.store)}
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
        if self.settings.notify_urls:
            checks["notify"] = self._notify_health()
        status = "healthy" if all(c["ok"] for c in checks.values()) else "degraded"
        return {"status": status, "checks": checks}

    def _notify_health(self) -> dict:
        """The alert URLs: each one's last send (masked: URLs hold secrets)."""
        try:
            from adsdash import notify_store  # here: only health with notify_urls set needs them
            from adsdash.notify_url import labelled, url_key

            known = {s.url_key: s for s in notify_store.url_statuses(self.store, [url_key(u) for u in
                                                                                   self.settings.notify_urls])}
            urls = [{"url": labelled(url), "failing_since": (s := known.get(url_key(url))) and s.failing_since,
                     "last_error": s and s.last_error, "last_ok": s and s.last_ok} for url in self.settings.notify_urls]
        except Exception as exc:  # noqa: BLE001 - reported, as above
            return {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
        bad = [u for u in urls if u["failing_since"]]
        from adsdash.timefmt import local

        detail = (f"{bad[0]['url']} failing since {local(bad[0]['failing_since'])}: {bad[0]['last_error']}"
                  + (f" (+{len(bad) - 1} more)" if len(bad) > 1 else "")) if bad else \
            f"{len(urls)} URL(s), none failing"
        return {"ok": not bad, "detail": detail, "urls": urls}
