"""The jobs screen: every job, newest first, filtered by status and by client.

The store is read off the UI thread every second and the table is updated by job id
(rows added, changed cells updated, gone rows removed), so the cursor stays on its job.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Select, Static

from adsdash.sanitize import safe_text
from adsdash.screens.base import AdsdashScreen
from adsdash.screens.job_actions import JOB_ACTIONS, ask_cancel, ask_retry, job_action_state
from adsdash.store import STATUSES, Job
from adsdash.widgets.job_table import JobTable

LIMIT = 1000  # rows shown at most; older jobs stay in the store and the CLI


class JobsScreen(AdsdashScreen):
    CSS_PATH = "screens.tcss"
    MUTATING = JOB_ACTIONS
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
        self._last_read: tuple = ()  # (slug filter, status filter, the store's job fingerprint) last shown
        self._to_select: int | None = None  # a job just queued (retry): the cursor goes to it once shown

    def compose(self) -> ComposeResult:
        slugs = sorted(self.engine.workspace.slugs() | ({self.slug_filter} if self.slug_filter else set()))
        yield Header()
        with Horizontal(id="filters"):
            yield Select([(Text("all statuses"), ""), *((Text(s), s) for s in STATUSES)],
                         allow_blank=False, value="", id="status-filter", compact=True)
            yield Select([(Text("all clients"), ""), *((Text(s), s) for s in slugs)],
                         allow_blank=False, value=self.slug_filter or "", id="client-filter", compact=True)
            yield Static("", id="summary")
        yield JobTable(id="jobs")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Jobs"
        self.table.focus()
        self.reload()
        self.set_interval(1.0, self.reload)

    @property
    def table(self) -> JobTable:
        return self.query_one(JobTable)

    # -- reading ------------------------------------------------------------

    def reload(self) -> None:
        """Read the jobs again when they changed (or while one is queued or running: its time ticks)."""
        slug, status, store = self.slug_filter, self.status_filter, self.engine.store
        seen, clock = self._last_read, self.adsdash.clock  # taken here: the thread may outlive the app

        def fetch() -> tuple[str | None, str | None, list[Job], datetime, tuple] | None:
            activity = store.activity()
            if (slug, status, activity) == seen and not activity[1]:
                return None  # nothing moved, nothing running
            return slug, status, store.jobs(slug=slug, status=status, limit=LIMIT), clock(), activity

        self.read(fetch, self.show, group="jobs")

    def show(self, loaded: tuple[str | None, str | None, list[Job], datetime, tuple] | None) -> None:
        if loaded is None:
            return
        slug, status, jobs, now, activity = loaded
        if (slug, status) != (self.slug_filter, self.status_filter):
            return  # read for filters that have changed since
        self._last_read = (slug, status, activity)
        self.table.show(jobs, now)
        if self._to_select is not None and self.table.select_job(self._to_select):
            self._to_select = None
        shown = f"{len(jobs)} job{'s' if len(jobs) != 1 else ''}" + (f" (newest {LIMIT})" if len(jobs) >= LIMIT else "")
        filters = ", ".join(f for f in (status, slug) if f) or "no filter"
        self.query_one("#summary", Static).update(Text(f"{shown} · {filters}"))
        self.refresh_bindings()

    def read_failed(self, error: Exception) -> None:  # a locked or broken store: say so, keep trying
        self.query_one("#summary", Static).update(safe_text(f"cannot read jobs: {error}"))

    # -- filters ------------------------------------------------------------

    @on(Select.Changed)
    def _filter_changed(self, event: Select.Changed) -> None:
        value = str(event.value) if event.value else None
        if event.select.id == "status-filter":
            self.status_filter = value
        else:
            self.slug_filter = value
        self.reload()

    def action_cycle_status(self) -> None:
        cycle = ("", *STATUSES)
        select = self.query_one("#status-filter", Select)
        select.value = cycle[(cycle.index(str(select.value)) + 1) % len(cycle)]

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

    def action_state(self, action: str) -> bool | None:
        if action in JOB_ACTIONS:
            jobs = self.query(JobTable)  # asked before compose, too
            return job_action_state(action, jobs.first().selected_job if jobs else None)
        return True

    def action_open_job(self) -> None:
        from adsdash.screens.job_detail import JobDetailScreen

        if job := self.table.selected_job:
            self.app.push_screen(JobDetailScreen(job.id))

    def action_cancel_job(self) -> None:
        if job := self.table.selected_job:
            ask_cancel(self.adsdash, self.engine.store.job(job.id) or job)

    def action_retry_job(self) -> None:
        if job := self.table.selected_job:
            ask_retry(self.adsdash, job, self._select_new)

    def _select_new(self, job: Job) -> None:
        """Put the cursor on a job just queued, once read; a status filter that hides it is lifted."""
        self._to_select = job.id
        if self.status_filter not in (None, job.status):
            self.query_one("#status-filter", Select).value = ""  # its Changed reads again
        else:
            self.reload()

    def action_back(self) -> None:
        self.dismiss()
