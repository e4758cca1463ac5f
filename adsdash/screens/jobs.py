"""The jobs screen: every job, newest first, filtered by status and by client.

The store is read in a thread worker every second and the table is updated by job id
(rows added, changed cells updated, gone rows removed), so the cursor stays on the job
it was on. Also home to the job-table helpers the other screens share.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Select, Static
from textual.worker import Worker, WorkerState

from adsdash import timefmt
from adsdash.catalogue import COMMANDS
from adsdash.sanitize import cell
from adsdash.screens.dialogs import ConfirmDialog, safe_text
from adsdash.store import CANCELLED, FAILED, FINISHED, QUEUED, STARTED, STATUSES, Job

LIMIT = 1000  # rows shown at most; older jobs stay in the store and the CLI

STATUS_LOOK = {  # a symbol too, so status reads without colour
    QUEUED: ("⧗", "dim"),
    STARTED: ("▸", "bold cyan"),
    FINISHED: ("✓", "green"),
    FAILED: ("✗", "red"),
    CANCELLED: ("⊘", "yellow"),
}


def status_text(job: Job) -> Text:
    symbol, style = STATUS_LOOK.get(job.status, ("?", ""))
    label = job.status + (" (cancelling)" if job.cancel_requested and not job.ended else "")
    return Text(f"{symbol} {label}", style=style, no_wrap=True)


def args_text(args: dict[str, str]) -> str:
    return " ".join(f"{key}={value}" for key, value in args.items())


def args_short(args: dict[str, str]) -> str:
    """For a narrow column: `2025-09-01 → 2025-09-30`, `LAST-30-DAYS`."""
    if set(args) == {"start", "end"}:
        return f"{args['start']} → {args['end']}"
    return " ".join(args.values())


def outcome_text(job: Job) -> str:
    return job.error or job.result or ""


# (key, label, width); the outcome column takes what is left at 160 columns.
JOB_COLUMNS = (
    ("id", "Job", 5), ("client", "Client", 22), ("command", "Command", 12), ("args", "Arguments", 24),
    ("status", "Status", 13), ("queued", "Queued", 19), ("elapsed", "Elapsed", 7), ("exit", "Exit", 4),
    ("outcome", "Result / error", 34),
)


def job_cells(job: Job, now: datetime, columns: Iterable[tuple[str, str, int]] = JOB_COLUMNS) -> tuple[Text, ...]:
    values = {
        "id": lambda: Text(str(job.id), justify="right"),
        "client": lambda: cell(job.slug, 40),
        "command": lambda: cell(job.command),
        "args": lambda: cell(args_short(job.args), 40),
        "status": lambda: status_text(job),
        "queued": lambda: cell(timefmt.local(job.queued_at)),
        "elapsed": lambda: cell(timefmt.duration(job.elapsed(now))),
        "exit": lambda: cell("" if job.exit_code is None else str(job.exit_code)),
        "outcome": lambda: cell(outcome_text(job), 200),
    }
    return tuple(values[key]() for key, _, _ in columns)


class JobTable(DataTable):
    """Jobs keyed by id, newest first, updated in place."""

    BINDINGS = [Binding("enter", "select_cursor", "Open", id="jobs.open")]

    def __init__(self, columns: tuple[tuple[str, str, int], ...] = JOB_COLUMNS, **kwargs) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self.columns_spec = columns
        self.jobs: dict[int, Job] = {}
        self._shown: dict[str, tuple[Text, ...]] = {}

    def on_mount(self) -> None:
        for key, label, width in self.columns_spec:
            self.add_column(Text(label), key=key, width=width)

    @property
    def selected_job(self) -> Job | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return self.jobs.get(int(key.value))

    def show(self, jobs: list[Job], now: datetime) -> None:
        selected = self.selected_job
        wanted = {str(job.id): job_cells(job, now, self.columns_spec) for job in jobs}
        for key in [k for k in self._shown if k not in wanted]:
            self.remove_row(key)
            del self._shown[key]
        added = False
        for key, cells in wanted.items():
            old = self._shown.get(key)
            if old is None:
                self.add_row(*cells, key=key)
                added = True
            elif old != cells:
                for (column, _, _), before, after in zip(self.columns_spec, old, cells):
                    if before != after:
                        self.update_cell(key, column, after)
            self._shown[key] = cells
        self.jobs = {job.id: job for job in jobs}
        if added:
            self.sort("id", key=lambda id_cell: int(id_cell.plain), reverse=True)
        if selected is not None and str(selected.id) in wanted:
            self.move_cursor(row=self.get_row_index(str(selected.id)), scroll=False)


def ask_cancel(app: App, job: Job) -> None:
    if job.ended:
        app.notify(f"job {job.id} already {job.status}", markup=False)
        return

    def answer(ok: bool | None) -> None:
        if ok:
            app.cancel_job(job.id)

    app.push_screen(ConfirmDialog(
        f"Cancel job {job.id}?",
        f"{job.command} {job.slug} is {job.status}. A running command is interrupted (SIGINT, then "
        f"SIGTERM, then SIGKILL) and the job ends as cancelled."), answer)


def ask_retry(app: App, job: Job) -> None:
    """Queue the same command and arguments again; long or destructive commands ask first."""
    spec = COMMANDS.get(job.command)
    if spec is None or not spec.confirm:
        app.retry_job(job.id)
        return

    def answer(ok: bool | None) -> None:
        if ok:
            app.retry_job(job.id)

    app.push_screen(ConfirmDialog(f"Run {job.command} {job.slug} again?",
                                  f"{spec.description} (typically {spec.typical})."), answer)


def job_action_allowed(app: App, action: str, job: Job | None) -> bool | None:
    """check_action for cancel and retry: hidden when read-only, greyed when they make no sense."""
    if app.read_only:
        return False
    if job is None:
        return None
    if action == "cancel_job":
        return None if job.ended else True
    return True if job.ended else None


class JobsScreen(Screen):
    DEFAULT_CSS = """
    JobsScreen #filters { height: 1; padding: 0 1; }
    JobsScreen #filters Select { width: 36; margin-right: 2; }
    JobsScreen #summary { width: 1fr; height: 1; color: $text-muted; }
    JobsScreen JobTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="jobs.back"),
        Binding("x", "cancel_job", "Cancel", id="jobs.cancel"),
        Binding("R", "retry_job", "Retry", id="jobs.retry"),
        Binding("s", "cycle_status", "Status filter", id="jobs.status"),
        Binding("c", "pick_client", "Client filter", id="jobs.client"),
    ]

    def __init__(self, slug: str | None = None) -> None:
        super().__init__()
        self.slug_filter = slug
        self.status_filter: str | None = None
        self._loading = False

    def compose(self) -> ComposeResult:
        slugs = sorted(self.app.engine.workspace.slugs() | ({self.slug_filter} if self.slug_filter else set()))
        yield Header()
        with Horizontal(id="filters"):
            yield Select([(Text("all statuses"), "")] + [(Text(s), s) for s in STATUSES],
                         allow_blank=False, value="", id="status-filter", compact=True)
            yield Select([(Text("all clients"), "")] + [(Text(s), s) for s in slugs],
                         allow_blank=False, value=self.slug_filter or "", id="client-filter", compact=True)
            yield Static("", id="summary")
        yield JobTable(id="jobs")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Jobs"
        self.query_one(JobTable).focus()
        self.reload()
        self.set_interval(1.0, self.reload)

    # -- loading ------------------------------------------------------------

    def reload(self, force: bool = False) -> None:
        """Read the store again; a tick is skipped while the last read still runs (a slow disk
        must not pile up threads), but a filter change always reads."""
        if self._loading and not force:
            return
        self._loading = True
        self._load(self.slug_filter, self.status_filter)

    @work(thread=True, group="jobs-load", exit_on_error=False)
    def _load(self, slug: str | None, status: str | None):
        jobs = self.app.engine.store.jobs(slug=slug, status=status, limit=LIMIT)
        return slug, status, jobs, self.app.clock()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "jobs-load":
            return
        if event.worker.is_finished:
            self._loading = False
        if event.state == WorkerState.ERROR:  # a locked or broken store: say so, keep trying
            self.query_one("#summary", Static).update(safe_text(f"cannot read jobs: {event.worker.error}"))
        if event.state != WorkerState.SUCCESS:
            return
        slug, status, jobs, now = event.worker.result
        if (slug, status) != (self.slug_filter, self.status_filter):
            return  # loaded for filters that have since changed
        self.query_one(JobTable).show(jobs, now)
        shown = f"{len(jobs)} job{'s' if len(jobs) != 1 else ''}" + (f" (newest {LIMIT})" if len(jobs) >= LIMIT else "")
        filters = ", ".join(f for f in (status, slug) if f) or "no filter"
        self.query_one("#summary", Static).update(Text(f"{shown} · {filters}"))
        self.refresh_bindings()

    # -- filters ------------------------------------------------------------

    @on(Select.Changed)
    def _filter_changed(self, event: Select.Changed) -> None:
        value = event.value or None
        if event.select.id == "status-filter":
            self.status_filter = value
        else:
            self.slug_filter = value
        self.reload(force=True)

    def action_cycle_status(self) -> None:
        cycle = ("", *STATUSES)
        select = self.query_one("#status-filter", Select)
        select.value = cycle[(cycle.index(select.value) + 1) % len(cycle)]

    def action_pick_client(self) -> None:
        select = self.query_one("#client-filter", Select)
        select.focus()
        select.expanded = True

    # -- actions ------------------------------------------------------------

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_open_job()

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self) -> None:
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("cancel_job", "retry_job"):
            try:
                job = self.query_one(JobTable).selected_job
            except NoMatches:  # asked before compose
                job = None
            return job_action_allowed(self.app, action, job)
        return True

    def action_open_job(self) -> None:
        from adsdash.screens.job_detail import JobDetailScreen

        job = self.query_one(JobTable).selected_job
        if job is not None:
            self.app.push_screen(JobDetailScreen(job.id))

    def action_cancel_job(self) -> None:
        if job := self.query_one(JobTable).selected_job:
            ask_cancel(self.app, self.app.engine.store.job(job.id) or job)

    def action_retry_job(self) -> None:
        if job := self.query_one(JobTable).selected_job:
            ask_retry(self.app, job)

    def action_back(self) -> None:
        self.dismiss()
