"""One client: its state file, data quality, lock, newest error and recent jobs.

`r` queues the repair the newest error asks for (after a confirm), or opens the
repair dialog when the error has no usable dates. Everything read from the ads_sync
folder is outside text: shown as cleaned Text, never as markup.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Static
from textual.worker import Worker, WorkerState

from adsdash import timefmt
from adsdash.sanitize import cell, plain
from adsdash.screens.dialogs import ConfirmDialog, RepairDialog, safe_text
from adsdash.screens.jobs import JOB_COLUMNS, JobTable
from adsdash.workspace import SOURCES, Client, ErrorInfo, LockInfo

RECENT_JOBS = 20
# The client is this screen's: its column's room goes to the outcome.
RECENT_JOB_COLUMNS = tuple(c if c[0] != "outcome" else (*c[:2], c[2] + 24) for c in JOB_COLUMNS if c[0] != "client")


def _shown(value: Any) -> Text:
    """A value from a JSON file, whatever its type, as one cleaned line."""
    if value is None:
        return Text("—", style="dim")
    if isinstance(value, str) and (moment := timefmt.parse(value)) and moment.tzinfo:
        return Text(timefmt.local(moment))
    if isinstance(value, (list, dict)):
        return cell(f"{len(value)}: {value!r}" if value else "none", 100)
    return cell(str(value), 100)


def _section(title: str) -> Text:
    return Text(title, style="bold underline")


def _pairs(rows: list[tuple[str, Any]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for label, value in rows:
        grid.add_row(Text(label), value if isinstance(value, Text) else _shown(value))
    return grid


def sources_view(client: Client) -> Group:
    table = Table(box=None, padding=(0, 2), show_edge=False, header_style="bold")
    for header in ("Data source", "Watermark", "Other fields in the state file"):
        table.add_column(header)
    state = client.state or {}
    for source in SOURCES:
        section = state.get(source)
        watermark = client.watermarks.get(source)
        others = {k: v for k, v in section.items() if k != "watermark_date"} if isinstance(section, dict) else {}
        table.add_row(Text(source), Text(watermark.isoformat() if watermark else "none", style="" if watermark else "dim"),
                      cell(", ".join(f"{k}={v!r}" for k, v in others.items()) or "—", 80))
    fresh = client.freshness
    head = Text(f"{fresh.symbol} {plain(fresh.describe())}")
    if client.state is None and not client.problems:
        head.append("   (no state file yet)", style="dim")
    return Group(_section("Data sources"), head, table)


def quality_view(client: Client) -> Group:
    state = client.state or {}
    rows: list[tuple[str, Any]] = [(str(k), v) for k, v in client.data_quality.items()]
    for key in ("created_at", "last_updated", "schema_version", "timezone", "currency_code"):
        if key in state:
            rows.append((f"state.{key}", state[key]))
    return Group(_section("Data quality"), _pairs(rows) if rows else Text("no counters yet", style="dim"))


def lock_view(lock: LockInfo | None) -> Group:
    if lock is None:
        return Group(_section("Lock"), Text("not locked", style="dim"))
    if lock.alive:
        state = Text("held by a running process", style="yellow")
    else:
        state = Text("stale: its process is gone (force-unlock from the clients screen: u)", style="red")
    rows: list[tuple[str, Any]] = [("pid", "unknown" if lock.pid is None else str(lock.pid)), ("state", state),
                                   ("age", timefmt.duration(lock.age_seconds))]
    if lock.problem:
        rows.append(("problem", Text(plain(lock.problem), style="red")))
    return Group(_section("Lock"), _pairs(rows))


def error_view(error: ErrorInfo | None, root) -> Group:
    if error is None:
        return Group(_section("Newest error"), Text("no error files", style="dim"))
    try:
        where = str(error.path.relative_to(root))
    except ValueError:
        where = str(error.path)
    if error.problem:
        return Group(_section("Newest error"), _pairs([("file", where), ("problem", Text(plain(error.problem), style="red"))]))
    dates = f"{error.start_date or '?'} → {error.end_date or '?'}"
    message = f"{error.exception_type}: {error.message}" if error.exception_type else error.message
    rows: list[tuple[str, Any]] = [
        ("when", error.timestamp), ("command", error.command), ("message", Text(plain(message or "—"), style="red")),
        ("file", where), ("recovery dates", Text(dates, style="bold")), ("recovery text", error.recovery_command),
    ]
    hint = Text("r queues a repair of these dates" if error.start_date and error.end_date
                else "r opens the repair dialog (the error gives no dates)", style="dim")
    return Group(_section("Newest error"), _pairs(rows), hint)


def problems_view(client: Client) -> Group:
    if not client.problems:
        return Group(_section("Problems"), Text("none", style="dim"))
    return Group(_section("Problems"), *(Text(f"! {plain(p)}", style="red") for p in client.problems))


class ClientDetailScreen(Screen):
    DEFAULT_CSS = """
    ClientDetailScreen #heading { height: auto; padding: 0 1; text-style: bold; }
    ClientDetailScreen #top { height: auto; }
    ClientDetailScreen #top > Vertical { width: 1fr; height: auto; padding: 0 1; }
    ClientDetailScreen #top Static { margin-bottom: 1; }
    ClientDetailScreen #recent-label { padding: 0 1; text-style: bold underline; }
    ClientDetailScreen JobTable { height: 1fr; min-height: 4; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="client_detail.back"),
        Binding("r", "repair", "Repair", id="client_detail.repair"),
        Binding("p", "reports", "Reports", id="client_detail.reports"),
    ]

    def __init__(self, slug: str) -> None:
        super().__init__()
        self.slug = slug
        self.client: Client | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(safe_text(self.slug), id="heading")
        with Horizontal(id="top"):
            with Vertical():
                yield Static("", id="sources")
                yield Static("", id="lock")
                yield Static("", id="problems")
            with Vertical():
                yield Static("", id="quality")
                yield Static("", id="error")
        yield Label("Recent jobs (enter opens one)", id="recent-label")
        yield JobTable(RECENT_JOB_COLUMNS, id="recent")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"Client {self.slug}"
        self.query_one(JobTable).focus()
        self.reload()
        self.set_interval(self.app.engine.settings.refresh_seconds, self.reload)

    def reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="client-load", exit_on_error=False)
    def _load(self):
        engine = self.app.engine
        return engine.workspace.client(self.slug), engine.store.jobs(slug=self.slug, limit=RECENT_JOBS), self.app.clock()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "client-load":
            return
        if event.state == WorkerState.ERROR:
            self.query_one("#heading", Static).update(safe_text(f"{self.slug}: cannot read: {event.worker.error}"))
        if event.state != WorkerState.SUCCESS:
            return
        client, jobs, now = event.worker.result
        self.show(client, jobs, now)

    def show(self, client: Client | None, jobs, now: datetime) -> None:
        self.client = client
        self.query_one(JobTable).show(jobs, now)
        if client is None:
            self.query_one("#heading", Static).update(
                safe_text(f"{self.slug}: no such client (no configs/clients/{self.slug}.yaml)"))
            return
        heading = Text(plain(client.name), style="bold")
        heading.append(f"   {client.slug} · customer {plain(client.customer_id or '—')} · "
                       f"{plain(client.timezone)} · {plain(client.currency)}", style="")
        self.query_one("#heading", Static).update(heading)
        root = self.app.engine.workspace.root
        for widget_id, view in (("sources", sources_view(client)), ("quality", quality_view(client)),
                                ("lock", lock_view(client.lock)), ("error", error_view(client.newest_error, root)),
                                ("problems", problems_view(client))):
            self.query_one(f"#{widget_id}", Static).update(view)

    # -- actions ------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "repair" and self.app.read_only)

    def _queue_repair(self, dates: tuple[str, str] | None) -> None:
        if dates:
            self.app.submit_job("repair", self.slug, start=dates[0], end=dates[1])
            self.reload()

    def action_repair(self) -> None:
        error = self.client.newest_error if self.client else None
        start = error.start_date if error else None
        end = error.end_date if error else None
        today: date = self.app.engine.client_today(self.slug)
        if start and end and start <= end <= today:
            body = (f"repair {self.slug} --start {start} --end {end}\n"
                    f"from the newest error ({error.command or '?'} at {error.timestamp or '?'}).")

            def answer(ok: bool | None) -> None:
                if ok:
                    self._queue_repair((start.isoformat(), end.isoformat()))

            self.app.push_screen(ConfirmDialog(f"Repair {self.slug}?", body), answer)
        else:
            self.app.push_screen(RepairDialog(self.slug, start, end, today), self._queue_repair)

    def action_reports(self) -> None:
        from adsdash.screens.reports import ReportsScreen

        self.app.push_screen(ReportsScreen(self.slug))

    @on(DataTable.RowSelected)
    def _open_job(self) -> None:
        from adsdash.screens.job_detail import JobDetailScreen

        if job := self.query_one(JobTable).selected_job:
            self.app.push_screen(JobDetailScreen(job.id))

    def action_back(self) -> None:
        self.dismiss()
