"""A client's reports, newest first, and a Markdown viewer for one.

Also lists the client's recent report jobs with what became of each (Engine.report_outcome:
a finished report job may have no file, and that is said plainly).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Label, MarkdownViewer, Static

from adsdash import timefmt
from adsdash.sanitize import cell, plain, safe_text
from adsdash.screens.base import AdsdashScreen
from adsdash.screens.dialogs import ReportDialog
from adsdash.screens.job_detail import JobDetailScreen
from adsdash.screens.report_actions import queue_report
from adsdash.store import Job
from adsdash.widgets.job_table import JobTable
from adsdash.workspace import Client, Report

if TYPE_CHECKING:
    from adsdash.engine import Engine

MAX_REPORT_BYTES = 1 << 20
REPORT_JOBS = 10
REPORT_JOB_COLUMNS = (
    ("id", "Job", 5), ("args", "Arguments", 24), ("status", "Status", 13), ("queued", "Queued", 19),
    ("outcome", "What became of it", 80),
)


def read_report(path: Path) -> str:
    """The report as Markdown to show: capped, decoded leniently, each line cleaned."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_REPORT_BYTES + 1)
    except OSError as exc:
        return f"**Cannot read this report:** {plain(exc.strerror or type(exc).__name__)}"
    cut = len(data) > MAX_REPORT_BYTES
    text = "\n".join(plain(line) for line in data[:MAX_REPORT_BYTES].decode("utf-8", "replace").splitlines())
    if cut:
        text += f"\n\n---\n\n*Shown up to {MAX_REPORT_BYTES // 1024} KiB; the file is longer.*\n"
    return text


class ReportViewScreen(AdsdashScreen):
    CSS_PATH = "screens.tcss"
    BINDINGS = [Binding("escape", "back", "Back", id="report_view.back")]

    def __init__(self, report: Report) -> None:
        super().__init__()
        self.report = report

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(safe_text(str(self.report.path)), id="report-path")
        # Outside text: links are not followed, and Markdown is parsed as Markdown only.
        yield MarkdownViewer(read_report(self.report.path), show_table_of_contents=False, open_links=False)
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"Report {self.report.sequence:03d} · {self.report.scope}"
        self.query_one(MarkdownViewer).focus()

    def action_back(self) -> None:
        self.dismiss()


class ReportTable(DataTable):
    """Report files keyed by path; enter opens one."""

    BINDINGS = [Binding("enter", "select_cursor", "Open", id="reports.open")]


class ReportsScreen(AdsdashScreen):
    CSS_PATH = "screens.tcss"
    MUTATING = frozenset({"new_report"})
    BINDINGS = [
        Binding("escape", "back", "Back", id="reports.back"),
        Binding("g", "new_report", "New report", id="reports.generate"),
    ]

    def __init__(self, slug: str) -> None:
        super().__init__()
        self.slug = slug
        self.reports: list[Report] = []
        self._outcomes: dict[int, str] = {}  # ended jobs only: they do not change

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(safe_text(self.slug), id="heading")
        yield ReportTable(cursor_type="row", id="reports")
        yield Label("Report jobs (enter opens one)", id="jobs-label")
        yield JobTable(REPORT_JOB_COLUMNS, id="report-jobs")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"Reports · {self.slug}"
        table = self.query_one("#reports", DataTable)
        for key, label, width in (("seq", "#", 5), ("scope", "Scope", 18), ("created", "Created", 19),
                                  ("size", "Size", 9), ("file", "File", 80)):
            table.add_column(Text(label), key=key, width=width)
        table.focus()
        self.reload()
        self.set_interval(self.engine.settings.refresh_seconds, self.reload)

    def reload(self) -> None:
        engine, clock = self.engine, self.adsdash.clock  # taken here: the thread may outlive the app
        self.read(lambda: self._fetch(engine, clock), self.show, group="reports")

    def _fetch(self, engine: Engine, clock: Callable[[], datetime]
               ) -> tuple[Client | None, list[Report], list[Job], dict[int, str], datetime]:
        jobs = [j for j in engine.store.jobs(slug=self.slug, limit=200) if j.command == "report"][:REPORT_JOBS]
        outcomes = {}
        for job in jobs:
            outcome = self._outcomes.get(job.id) or engine.report_outcome(job)
            if job.ended:
                self._outcomes[job.id] = outcome
            outcomes[job.id] = outcome
        return (engine.workspace.client(self.slug), engine.workspace.reports(self.slug), jobs, outcomes, clock())

    def read_failed(self, error: Exception) -> None:
        self.query_one("#heading", Static).update(safe_text(f"cannot read reports: {error}"))

    def show(self, loaded: tuple[Client | None, list[Report], list[Job], dict[int, str], datetime]) -> None:
        client, reports, jobs, outcomes, now = loaded
        name = client.name if client else self.slug
        count = f"{len(reports)} report{'s' if len(reports) != 1 else ''}"
        self.query_one("#heading", Static).update(safe_text(f"{name} · {count} · newest first · g: new report"))
        self._show_reports(reports)
        self.query_one(JobTable).show(jobs, now, outcomes)

    def _show_reports(self, reports: list[Report]) -> None:
        if [(r.path, r.size) for r in reports] == [(r.path, r.size) for r in self.reports]:
            return
        table = self.query_one("#reports", DataTable)
        selected = self.selected_report()
        table.clear()
        for report in reports:
            created = timefmt.local(report.created) if report.created else "—"
            table.add_row(Text(f"{report.sequence:03d}"), cell(report.scope), Text(created),
                          Text(f"{report.size / 1024:.1f} KiB", justify="right"), cell(report.path.name, 120),
                          key=str(report.path))
        self.reports = reports
        if selected is not None and any(r.path == selected.path for r in reports):
            table.move_cursor(row=table.get_row_index(str(selected.path)), scroll=False)

    def selected_report(self) -> Report | None:
        table = self.query_one("#reports", DataTable)
        if not table.row_count or not self.reports:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self.reports if str(r.path) == key), None)

    # -- actions ------------------------------------------------------------

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "reports":
            self.action_open()
        elif job := self.query_one(JobTable).selected_job:
            self.app.push_screen(JobDetailScreen(job.id))

    def action_open(self) -> None:
        if report := self.selected_report():
            self.app.push_screen(ReportViewScreen(report))

    def action_new_report(self) -> None:
        def queue(scope: str | None) -> None:
            if scope and self.writable():
                queue_report(self, self.slug, scope, then=self.reload)

        self.app.push_screen(ReportDialog(self.slug, self.engine.client_today(self.slug)), queue)

    def action_back(self) -> None:
        self.dismiss()
