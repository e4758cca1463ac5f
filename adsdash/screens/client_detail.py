"""One client: its state file, data quality, lock, newest error, its data by day (a calendar
of 26 weeks and the daily cost of 90 days) and recent jobs.

`r` on a gap in the calendar opens the repair dialog with that gap's dates; elsewhere it
queues the repair the newest error asks for (after a confirm), or opens the repair dialog
when the error has no usable dates. Everything read from the ads_sync folder is outside
text: shown as cleaned Text, never as markup.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, Label, Sparkline, Static

from adsdash import timefmt, watermarks
from adsdash.look import LOCK_HELD, LOCK_STALE, Tone, look_style, style
from adsdash.sanitize import cell, plain, safe_text
from adsdash.screens.base import AdsdashScreen
from adsdash.screens.dialogs import ConfirmDialog, RepairDialog
from adsdash.screens.job_detail import JobDetailScreen
from adsdash.store import Job
from adsdash.widgets.coverage_calendar import CoverageCalendar
from adsdash.widgets.job_table import JOB_COLUMNS, JobTable
from adsdash.workspace import SOURCES, Client, ErrorInfo, LockInfo

if TYPE_CHECKING:
    from adsdash.coverage import Coverage
    from adsdash.engine import Engine

RECENT_JOBS = 20
SPARK_DAYS = 90
HISTORY_SHOWN = 5
# The client is this screen's: its column's room goes to the outcome.
RECENT_JOB_COLUMNS = tuple(c if c[0] != "outcome" else (*c[:2], c[2] + 24) for c in JOB_COLUMNS if c[0] != "client")


def _shown(value: Any) -> Text:
    """A value from a JSON file, whatever its type, as one cleaned line."""
    if value is None:
        return Text("—", style=style(Tone.MUTED))
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
        grid.add_row(Text(plain(label)), value if isinstance(value, Text) else _shown(value))  # keys are outside text
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
        table.add_row(Text(source), Text(watermark.isoformat() if watermark else "none",
                                         style="" if watermark else style(Tone.MUTED)),
                      cell(", ".join(f"{k}={v!r}" for k, v in others.items()) or "—", 80))
    fresh = client.freshness
    head = Text(f"{fresh.symbol} {plain(fresh.describe())}")
    if client.state is None and not client.problems:
        head.append("   (no state file yet)", style=style(Tone.MUTED))
    return Group(_section("Data sources"), head, table)


def quality_view(client: Client) -> Group:
    state = client.state or {}
    rows: list[tuple[str, Any]] = [(str(k), v) for k, v in client.data_quality.items()]
    for key in ("created_at", "last_updated", "schema_version", "timezone", "currency_code"):
        if key in state:
            rows.append((f"state.{key}", state[key]))
    return Group(_section("Data quality"), _pairs(rows) if rows else Text("no counters yet", style=style(Tone.MUTED)))


def lock_view(lock: LockInfo | None) -> Group:
    if lock is None:
        return Group(_section("Lock"), Text("not locked", style=style(Tone.MUTED)))
    if lock.alive:
        state = Text("held by a running process", style=look_style(LOCK_HELD))
    else:
        state = Text("stale: its process is gone (force-unlock from the clients screen: u)",
                     style=look_style(LOCK_STALE))
    rows: list[tuple[str, Any]] = [("pid", "unknown" if lock.pid is None else str(lock.pid)), ("state", state),
                                   ("age", timefmt.duration(lock.age_seconds))]
    if lock.problem:
        rows.append(("problem", Text(plain(lock.problem), style=style(Tone.BAD))))
    return Group(_section("Lock"), _pairs(rows))


def error_view(error: ErrorInfo | None, root: Path) -> Group:
    if error is None:
        return Group(_section("Newest error"), Text("no error files", style=style(Tone.MUTED)))
    try:
        where = str(error.path.relative_to(root))
    except ValueError:
        where = str(error.path)
    if error.problem:
        return Group(_section("Newest error"),
                     _pairs([("file", where), ("problem", Text(plain(error.problem), style=style(Tone.BAD)))]))
    dates = f"{error.start_date or '?'} → {error.end_date or '?'}"
    message = f"{error.exception_type}: {error.message}" if error.exception_type else error.message
    rows: list[tuple[str, Any]] = [
        ("when", error.timestamp), ("command", error.command),
        ("message", Text(plain(message or "—"), style=style(Tone.BAD))),
        ("file", where), ("recovery dates", Text(dates, style="bold")), ("recovery text", error.recovery_command),
    ]
    hint = Text("r queues a repair of these dates" if error.start_date and error.end_date
                else "r opens the repair dialog (the error gives no dates)", style=style(Tone.MUTED))
    return Group(_section("Newest error"), _pairs(rows), hint)


def problems_view(client: Client) -> Group:
    if not client.problems:
        return Group(_section("Problems"), Text("none", style=style(Tone.MUTED)))
    return Group(_section("Problems"), *(Text(f"! {plain(p)}", style=style(Tone.BAD)) for p in client.problems))


def history_view(changes: list[watermarks.Change]) -> Group:
    """The newest changes of the watermarks seen (adsdash history SLUG has them all)."""
    if not changes:
        return Group(_section("Watermark history"), Text("no change seen yet", style=style(Tone.MUTED)))
    lines = []
    for change in changes:
        line = Text(f"{timefmt.local(change.observed_at)}  {change.source}: {change.from_date or 'none'} → "
                    f"{change.to_date or 'none'}  ")
        line.append(f"job {change.job_id}" if change.job_id else "outside adsdash", style=style(Tone.MUTED))
        if change.backwards:
            line.append("  went back!", style=style(Tone.BAD, bold=True))
        lines.append(line)
    return Group(_section("Watermark history"), *lines)


def read_coverage(engine: Engine, slug: str) -> tuple[Coverage, date | None, date]:
    """The client's coverage (its master CSV, read again only if it changed), watermark and today."""
    client = engine.workspace.client(slug)
    return (engine.coverage.get(slug), client.watermarks.get("google_ads") if client else None,
            engine.client_today(slug))


def snooze_of(engine: Engine, slug: str) -> str | None:
    """`until 18:00 (by ana: billing)`: the client's alerts' snooze, if any (clients screen: z)."""
    from adsdash import notify_store  # here: the notifications' parts when asked

    try:
        found = notify_store.snoozes(engine.store, engine.clock()).get(slug)
    except Exception as exc:  # noqa: BLE001 - the client's details still show
        return f"(cannot read: {exc})"
    if found is None:
        return None
    return f"{found.describe()} (by {found.by_user or '?'}{': ' + found.reason if found.reason else ''})"


class ClientDetailScreen(AdsdashScreen):
    CSS_PATH = "screens.tcss"
    MUTATING = frozenset({"repair"})
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
                yield Static("", id="history")
            with Vertical():
                yield Static("", id="quality")
                yield Static("", id="error")
        with Horizontal(id="coverage"):
            yield CoverageCalendar(id="calendar")
            with Vertical(id="cost"):
                yield Static("", id="cost-label")
                yield Sparkline([], id="cost-spark")
        yield Label("Recent jobs (enter opens one)", id="recent-label")
        yield JobTable(RECENT_JOB_COLUMNS, id="recent")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"Client {self.slug}"
        self.query_one(JobTable).focus()
        self.reload()
        self.set_interval(self.engine.settings.refresh_seconds, self.reload)

    def reload(self) -> None:
        engine, clock = self.engine, self.adsdash.clock  # taken here: the thread may outlive the app
        self.read(lambda: (engine.workspace.client(self.slug), engine.store.jobs(slug=self.slug, limit=RECENT_JOBS),
                           clock(), snooze_of(engine, self.slug)), self.show, group="client")

        self.read(lambda: read_coverage(engine, self.slug), self.show_coverage, group="client-coverage")
        self.read(lambda: watermarks.history(engine.store, self.slug, HISTORY_SHOWN), self.show_history,
                  group="client-history")

    def show_history(self, changes: list[watermarks.Change]) -> None:
        self.query_one("#history", Static).update(history_view(changes))

    def show_coverage(self, read: tuple[Coverage, date | None, date]) -> None:
        coverage, watermark, today = read
        self.query_one(CoverageCalendar).show(coverage, watermark, today)
        days = [today - timedelta(days=n) for n in range(SPARK_DAYS - 1, -1, -1)]
        costs = [coverage.days.get(day, (0, 0.0))[1] for day in days]
        self.query_one("#cost-spark", Sparkline).data = costs
        label = f"cost per day, {days[0]} to {days[-1]}: up to {max(costs):,.2f}" if any(costs) else \
            f"no cost from {days[0]} to {days[-1]}"
        self.query_one("#cost-label", Static).update(Text(label, style=style(Tone.MUTED)))

    def read_failed(self, error: Exception) -> None:
        self.query_one("#heading", Static).update(safe_text(f"{self.slug}: cannot read: {error}"))

    def show(self, loaded: tuple[Client | None, list[Job], datetime, str | None]) -> None:
        client, jobs, now, snoozed = loaded
        self.client = client
        self.query_one(JobTable).show(jobs, now)
        if client is None:
            self.query_one("#heading", Static).update(
                safe_text(f"{self.slug}: no such client (no configs/clients/{self.slug}.yaml)"))
            return
        heading = Text(plain(client.name), style="bold")
        heading.append(f"   {client.slug} · customer {plain(client.customer_id or '—')} · "
                       f"{plain(client.timezone)} · {plain(client.currency)}", style="")
        if snoozed:
            heading.append(f"   alerts snoozed {plain(snoozed)}", style=style(Tone.WARN))
        self.query_one("#heading", Static).update(heading)
        root = self.engine.workspace.root
        for widget_id, view in (("sources", sources_view(client)), ("quality", quality_view(client)),
                                ("lock", lock_view(client.lock)), ("error", error_view(client.newest_error, root)),
                                ("problems", problems_view(client))):
            self.query_one(f"#{widget_id}", Static).update(view)

    # -- actions ------------------------------------------------------------

    def _queue_repair(self, dates: tuple[str, str] | None) -> None:
        if dates and self.writable():
            self.adsdash.submit_job("repair", self.slug, start=dates[0], end=dates[1])
            self.reload()

    def action_repair(self) -> None:
        calendar = self.query_one(CoverageCalendar)
        if self.focused is calendar and (gap := calendar.gap_at(calendar.cursor)) is not None:
            self.app.push_screen(RepairDialog(self.slug, gap[0], gap[1], self.engine.client_today(self.slug),
                                              preview=self.repair_preview(self.slug)), self._queue_repair)
            return
        error = self.client.newest_error if self.client else None
        start = error.start_date if error else None
        end = error.end_date if error else None
        today: date = self.engine.client_today(self.slug)
        if error and start and end and start <= end <= today:
            body = (f"repair {self.slug} --start {start} --end {end}\n"
                    f"from the newest error ({error.command or '?'} at {error.timestamp or '?'}).")

            def answer(ok: bool | None) -> None:
                if ok:
                    self._queue_repair((start.isoformat(), end.isoformat()))

            self.app.push_screen(ConfirmDialog(f"Repair {self.slug}?", body), answer)
        else:
            self.app.push_screen(RepairDialog(self.slug, start, end, today, preview=self.repair_preview(self.slug)),
                                 self._queue_repair)

    def action_reports(self) -> None:
        from adsdash.screens.reports import ReportsScreen

        self.app.push_screen(ReportsScreen(self.slug))

    @on(DataTable.RowSelected)
    def _open_job(self) -> None:
        if job := self.query_one(JobTable).selected_job:
            self.app.push_screen(JobDetailScreen(job.id))

    def action_back(self) -> None:
        self.dismiss()
