"""The clients screen: the table, the summary line, the live log, and every action on a client."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Vertical
from textual.events import Key
from textual.markup import escape
from textual.widget import MountError, Widget
from textual.widgets import DataTable, Input
from textual.worker import get_current_worker

from adsdash import timefmt, watermarks
from adsdash.client_filter import SYNTAX
from adsdash.sanitize import one_line
from adsdash.screens.base import AdsdashScreen
from adsdash.screens.client_detail import ClientDetailScreen
from adsdash.screens.clients_read import ClientsData, changes, failure_notice, read_clients, start_first_read
from adsdash.screens.dialogs import ConfirmDialog, RepairDialog, ReportDialog
from adsdash.screens.report_actions import queue_report
from adsdash.screens.reports import ReportsScreen
from adsdash.screens.sweep_actions import palette_sweeps, sweep_marked
from adsdash.store import Job
from adsdash.widgets.clients_table import ORDERS, ClientsTable, build_rows
from adsdash.widgets.fit_footer import FitFooter
from adsdash.widgets.job_log import JobLog
from adsdash.widgets.summary_bar import SummaryBar

if TYPE_CHECKING:
    from adsdash.app import AdsdashApp
    from adsdash.workspace import Client

STALE_FIRST_LOAD = 1.0  # a first read older than this at mount is read again at once
FAILURE_TOASTS = 3  # at most this many failures announced one by one per refresh; the rest counted
AGES_SECONDS = 15.0  # "5m ago" changes by the minute: no need to look every second
COVERAGE_SECONDS = 30.0  # how often the gap days are counted again (only changed CSVs are read)
# The table keeps its order while the operator works (a key pressed, a job queued less than this
# ago, by the app's clock), so the row under the cursor does not jump away; then it re-sorts.
RESORT_IDLE_SECONDS = 5.0



class ClientCommands(Provider):
    """The selected client's actions in the command palette (titles are plain Text: names are outside text)."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        screen = self.screen
        return screen.palette_commands() if isinstance(screen, ClientsScreen) else []

    async def discover(self) -> Hits:
        for title, help, callback in self._commands():
            yield DiscoveryHit(Text(title), callback, text=title, help=help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help, callback in self._commands():
            if (score := matcher.match(title)) > 0:
                yield Hit(score, Text(title), callback, text=title, help=help)


class ClientsScreen(AdsdashScreen):
    COMMANDS = {ClientCommands}
    MUTATING = frozenset({"append", "validate", "init", "repair", "unlock", "report", "snooze"})
    BINDINGS = [
        Binding("a", "append", "Append", id="clients.append"),
        Binding("v", "validate", "Validate", id="clients.validate"),
        Binding("i", "init", "Init", id="clients.init"),
        Binding("r", "repair", "Repair", id="clients.repair"),
        Binding("u", "unlock", "Unlock", id="clients.unlock"),
        Binding("g", "report", "Report", id="clients.report"),
        Binding("enter", "open_client", "Detail", id="clients.detail"),
        Binding("p", "reports", "Reports", id="clients.reports"),
        Binding("s", "cycle_sort", "Sort", id="clients.sort"),
        Binding("slash", "filter", "Filter", id="clients.filter", tooltip=SYNTAX),
        Binding("escape", "clear_filter", "Clear filter, then marks", show=False, id="clients.clear_filter"),
        Binding("space", "toggle_mark", "Mark", id="clients.mark"),
        Binding("asterisk", "mark_shown", "Mark all shown", show=False, id="clients.mark_all"),
        Binding("o", "resort", "Re-sort now", show=False, id="clients.resort"),
        Binding("l", "toggle_log", "Log", id="clients.log"),
        Binding("z", "snooze", "Snooze alerts", show=False, id="clients.snooze"),
    ]
    # Verb shown in the palette, for each action.
    VERBS = (("append", "Append"), ("validate", "Validate"), ("init", "Init (backfill)"),
             ("repair", "Repair a date range for"), ("unlock", "Force-unlock"), ("report", "Report on"),
             ("open_client", "Open"), ("reports", "Reports of"), ("snooze", "Snooze the alerts of"))

    def __init__(self, first_read: Future[ClientsData] | None = None) -> None:
        """`first_read`: the files and store, already being read as the app starts."""
        super().__init__(id="clients")
        self.first_read = first_read
        self.data = ClientsData()
        self._ages_at = 0.0
        self.checks = 0  # refreshes done, whether anything had changed or not; tests wait on it
        self.loaded = 0  # datas applied; tests wait on it
        self._failed_seen: set[int] | None = None  # failed job ids already known; None before the first read
        self._suspended = False
        self._counting = False  # a count of the gap days is under way (count_gaps)
        self._worked_at: datetime | None = None  # the app's clock at the operator's last key or action

    @classmethod
    def opening(cls, app: AdsdashApp) -> ClientsScreen:
        """The first screen, its rows read as the app is made (see start_first_read)."""
        return cls(start_first_read(app))

    def compose(self) -> ComposeResult:
        self._parts = (SummaryBar(id="summary"), ClientsTable(id="clients-table"),
                       JobLog(lambda: self.engine.store, clock=self.adsdash.clock,
                              held=self.adsdash.input_first.holding, id="job-log"))
        summary, table, job_log = self._parts
        # The list in a container of its own: Textual draws again every widget whose clip meets a
        # changed region, and a child of the screen clips to the whole screen, so a flood in the
        # log pane would redraw the whole table at each frame.
        with Vertical(id="clients-top"):
            yield summary
            yield table  # the filter Input is mounted above it on the first `/`
        yield job_log
        # A Footer draws no keys in the first frame anyway (Textual waits for the bindings): an
        # empty bar holds its line, and the Footer, a dozen widgets, is mounted after that frame.
        yield Widget(id="footer-slot")

    async def _mount_footer(self) -> None:
        slots = self.query("#footer-slot")
        if not slots:  # the app is closing: its widgets are already gone
            return
        try:
            await slots.first().mount(FitFooter())
        except MountError:  # ... or going as we mount
            return
        self.refresh_bindings()  # a Footer shows its keys when the bindings are next published

    def on_mount(self) -> None:
        self.call_after_refresh(self._mount_footer)
        self.table.focus()
        self.engine.workspace.watch()  # the OS tells which files changed: refreshes state none (folder_watch)
        first = self.first_read
        if first is None:
            self.reload()
        elif not first.done() or first.exception() is not None:  # still reading (slow folder), or failed
            self.read(lambda: first.result(timeout=60), self._apply, group="clients")
        else:
            data = first.result()
            self._apply(data)
            if time.monotonic() - data.taken > STALE_FIRST_LOAD:  # the app was made well before it ran
                self.reload()
        self.set_interval(self.engine.settings.refresh_seconds, self.reload, name="clients-refresh")
        self.set_interval(COVERAGE_SECONDS, self.count_gaps, name="clients-gaps")
        self.set_interval(1.0, self._clock_tick, name="clients-clock")

    def on_unmount(self) -> None:
        self.engine.workspace.stop_watching()

    def on_screen_suspend(self) -> None:
        self._suspended = True
        self.job_log.pause(True)

    def on_screen_resume(self) -> None:
        self.job_log.pause(self.job_log.has_class("-hidden"))  # a hidden pane's watcher sleeps on
        if self._suspended:  # back from another screen: show what changed meanwhile
            self._suspended = False
            self.reload()

    @property
    def _attached(self) -> bool:
        """The summary, table and log pane are all still there (as the app closes they go one by one)."""
        return all(part.is_attached for part in self._parts)

    @property
    def table(self) -> ClientsTable:
        return self.query_one(ClientsTable)

    @property
    def job_log(self) -> JobLog:
        return self.query_one(JobLog)

    # -- refresh: read in a thread, apply on the UI thread -----------------

    def reload(self) -> None:
        """Read the folder and the store again, if either changed."""
        if self._suspended:  # under another screen: read again when back (on_screen_resume)
            return
        since, app = self.data, self.adsdash  # taken here: in the thread, an app that has just closed is no more

        def fetch() -> ClientsData | None:
            changed = changes(app, since)
            return None if changed is None else read_clients(app, fingerprint=changed[0], live=changed[1],
                                                             memo=since.memo)

        self.read(fetch, self._apply_changes, group="clients")

    def count_gaps(self) -> None:
        """Count each client's gap days from its master CSV in the background (seconds for a
        thousand CSVs never read; unchanged ones are not read again); a count that changed makes
        the screen read again. One count at a time."""
        if self._counting or not self.data.clients:
            return
        self._counting = True
        clients, engine, clock = list(self.data.clients.values()), self.engine, self.adsdash.clock

        def count() -> bool:
            worker = get_current_worker()  # cancelled as the app closes: the count stops too
            try:  # the watermarks seen, too: a change made outside adsdash is recorded (watermarks.py)
                watermarks.observe(engine.store, clients, clock())
                return engine.coverage.count_recent(clients, stop=lambda: worker.is_cancelled)
            finally:  # failed too (read_failed says why): the next interval counts again
                self._counting = False

        self.read(count, self._gaps_counted, group="coverage")

    def _gaps_counted(self, changed: bool) -> None:
        if changed:
            self.reload()

    def _apply_changes(self, data: ClientsData | None) -> None:
        self.checks += 1  # reads done, changed or not; tests wait on it
        if data is not None:
            self._apply(data)

    def _clock_tick(self) -> None:
        """What changes with time alone: the rows' ages and the log pane's elapsed time, as of
        one reading of the app's clock (one clock on screen: they agree)."""
        if self._suspended or not self._attached:  # unseen, or going
            return
        if self.table.order_waiting and not self._holding():
            self.action_resort()
        now = self.adsdash.clock()
        self._tick_ages(now)
        self.job_log.set_now(now)

    def _tick_ages(self, when: datetime) -> None:
        """Redraw the rows' times from the last read, without reading: a running job's elapsed
        time every second, the others' ages ("5m ago", by the minute) every AGES_SECONDS."""
        data = self.data
        if not self.loaded or not (data.latest or data.active):
            return
        now = time.monotonic()
        if not data.active and now - self._ages_at < AGES_SECONDS:
            return
        self._ages_at = now
        self.table.show(build_rows(data.clients.values(), data.latest, data.active, when, data.memo, data.gaps),
                        hold=self._holding())
        self._show_summary()

    def read_failed(self, error: Exception) -> None:
        """A locked store or an odd folder: say so, keep the last rows. (No news of failures:
        the store was not read.)"""
        problem = one_line(f"cannot refresh: {type(error).__name__}: {error}")
        self._apply(replace(self.data, summary=replace(self.data.summary, problem=problem), failed=None))

    def _apply(self, data: ClientsData) -> None:
        # A read that lands as the app closes finds its widgets going one by one: it has nowhere to go.
        if not self._attached:
            return
        self.data = data
        table = self.table
        first = not self.loaded
        table.show(data.rows, hold=self._holding())
        if first and table.row_count:
            table.move_cursor(row=0)
        self._show_summary()
        self.job_log.follow(table.selected_slug)
        if data.now is not None:  # the pane's times as of the rows' moment, till the next tick
            self.job_log.set_now(data.now)
        self.loaded += 1
        if first:
            self.count_gaps()
        self._announce_failures(data.failed)

    def _announce_failures(self, failed: tuple[Job, ...] | None) -> None:
        """A toast for each job that failed since the last read; none for those failed before the first."""
        if failed is None:
            return
        # By id set, not by "id > last": jobs run side by side, so a lower id can fail later.
        new = [job for job in reversed(failed) if self._failed_seen is not None and job.id not in self._failed_seen]
        self._failed_seen = {job.id for job in failed}  # failed is final: an id that drops out never returns
        for job in new[:FAILURE_TOASTS]:
            self.app.notify(failure_notice(job), title=f"Job {job.id} failed", severity="error", markup=False,
                            timeout=15)
        if (extra := len(new) - FAILURE_TOASTS) > 0:
            self.app.notify(f"{extra} more job{'s' if extra > 1 else ''} failed (j: jobs)", title="Jobs failed",
                            severity="error", markup=False, timeout=15)

    def _show_summary(self) -> None:
        table = self.table
        parts = []  # what needs the operator's eye first: the line is cut on narrow terminals
        if table.order_waiting:
            parts.append("new order waiting (o)")
        if table.marks:
            parts.append(f"{len(table.marks)} marked")
        if table.filter.problem:
            parts.append(one_line(table.filter.problem, 80))
        if table.needle:
            parts.append(f"filter: {one_line(table.needle, 40)} ({table.row_count} shown)")
        parts.append(f"sorted: {table.order}")
        self.query_one(SummaryBar).show(self.data.summary, " · ".join(parts))

    def action_toggle_log(self) -> None:
        """Hide the log pane (the list takes its rows; its watcher sleeps), or show it again."""
        log_pane = self.job_log
        log_pane.set_class(not log_pane.has_class("-hidden"), "-hidden")
        log_pane.pause(log_pane.has_class("-hidden"))

    @on(JobLog.Moved)
    def _log_moved(self) -> None:
        """The log pane saw its job start, end or appear: the table and the summary read it now,
        not at the next refresh (else they tell another story than the pane for seconds)."""
        self.reload()

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        # The table's current row, not the event's: a re-sort may have moved rows since it was sent.
        self.job_log.follow(self.table.selected_slug)

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_client()

    # -- filter and order ----------------------------------------------------

    def action_cycle_sort(self) -> None:
        table = self.table
        table.show(order=ORDERS[(ORDERS.index(table.order) + 1) % len(ORDERS)])
        self._show_summary()

    # -- the order holds while the operator works; marks ------------------------

    def on_key(self, event: Key) -> None:
        self._worked()  # (Textual calls AdsdashScreen.on_key too: no super() here)

    def _worked(self) -> None:
        self._worked_at = self.adsdash.clock()

    def _holding(self) -> bool:
        """Whether the operator is at work: a key or an action less than RESORT_IDLE_SECONDS ago."""
        if self._worked_at is None:
            return False
        return timedelta(0) <= self.adsdash.clock() - self._worked_at < timedelta(seconds=RESORT_IDLE_SECONDS)

    def action_resort(self) -> None:
        self.table.show()
        self._show_summary()

    def action_toggle_mark(self) -> None:
        if (slug := self.table.selected_slug) is not None:
            self.table.toggle_mark(slug)
            self._show_summary()

    def action_mark_shown(self) -> None:
        self.table.mark_shown()
        self._show_summary()

    def swept(self) -> None:
        """A sweep ran: its marks are done with; the new jobs show at once."""
        self._worked()
        self.table.clear_marks()
        self._show_summary()
        self.job_log.look_now()
        self.reload()

    def _filter_box(self) -> Input | None:
        boxes = self.query("#filter")
        return boxes.first(Input) if boxes else None

    def action_filter(self) -> None:
        box = self._filter_box()
        if box is None:
            box = Input(placeholder=f"filter: {SYNTAX} (Esc clears)", id="filter", compact=True)
            self.query_one("#clients-top").mount(box, before=self.table)
        box.display = True
        self.query_one("#clients-top").add_class("-filtering")  # a row more, or the list loses one
        box.focus()

    def action_clear_filter(self) -> None:
        box = self._filter_box()
        if (box is None or not box.display) and not self.table.needle:
            self.table.clear_marks()  # no filter to clear: the marks go
            self._show_summary()
            return
        if box is not None:
            box.value = ""
            box.display = False
            self.query_one("#clients-top").remove_class("-filtering")
        self.table.show(needle="")
        self.table.focus()
        self._show_summary()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table.show(needle=event.value)
        self._show_summary()
        self.job_log.follow(self.table.selected_slug)

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.table.focus()

    # -- actions -------------------------------------------------------------

    def _client(self, *, fresh: bool = False) -> Client | None:
        slug = self.table.selected_slug
        if slug is None:
            self.adsdash.refuse("no client selected")
            return None
        client = self.engine.workspace.client(slug) if fresh else self.data.clients.get(slug)
        if client is None:
            self.adsdash.refuse(f"client {slug} is gone from the ads_sync folder")
        return client

    def submit(self, command: str, slug: str, **params: str | None) -> None:
        self._worked()
        if self.adsdash.submit_job(command, slug, **params) is not None:
            self._queued()

    def _queued(self) -> None:
        self.job_log.look_now()
        self.reload()

    def _then(self, command: str, slug: str) -> Callable[[bool | None], None]:
        """A confirm dialog's answer: yes queues `command` for `slug`."""
        def answer(ok: bool | None) -> None:
            if ok:
                self.submit(command, slug)
        return answer

    def action_append(self) -> None:
        if self.table.marks:
            sweep_marked(self, "append")
        elif self.writable() and (client := self._client()):
            self.submit("append", client.slug)

    def action_validate(self) -> None:
        if self.table.marks:
            sweep_marked(self, "validate")
        elif self.writable() and (client := self._client()):
            self.submit("validate", client.slug)

    def action_init(self) -> None:
        if not (self.writable() and (client := self._client())):
            return
        body = (f"Run the one-time historical backfill for {one_line(client.name)} ({client.slug})?\n"
                "It takes 5-15 minutes and holds the client's lock meanwhile.")
        self.app.push_screen(ConfirmDialog("Init (backfill)?", body), self._then("init", client.slug))

    def action_repair(self) -> None:
        if not (self.writable() and (client := self._client(fresh=True))):
            return
        error = client.newest_error
        start, end = (error.start_date, error.end_date) if error else (None, None)

        def done(dates: tuple[str, str] | None) -> None:
            if dates:
                self.submit("repair", client.slug, start=dates[0], end=dates[1])

        self.app.push_screen(RepairDialog(client.slug, start, end, self.engine.client_today(client.slug),
                                          preview=self.repair_preview(client.slug)),
                             done)

    def action_unlock(self) -> None:
        if not (self.writable() and (client := self._client(fresh=True))):
            return
        lock = client.lock
        if lock is None:
            body = f"{client.slug} has no lock file now. Run force-unlock anyway?"
        else:
            who = f"PID {lock.pid}" if lock.pid else "an unknown process (no PID in the file)"
            state = "is ALIVE: the command may still be running" if lock.alive else "is not running (stale lock)"
            age = timefmt.duration(lock.age_seconds)
            body = f"The lock on {client.slug} is held by {who}, which {state}. Age: {age}.\nDelete the lock file?"
        self.app.push_screen(ConfirmDialog("Force-unlock?", body), self._then("force-unlock", client.slug))

    def action_report(self) -> None:
        if self.table.marks:
            sweep_marked(self, "report")
            return
        if not (self.writable() and (client := self._client())):
            return
        def queue(scope: str | None) -> None:
            if scope:
                self._worked()
                queue_report(self, client.slug, scope, then=self._queued)

        self.app.push_screen(ReportDialog(client.slug, self.engine.client_today(client.slug)), queue)

    def action_snooze(self) -> None:
        from adsdash.screens.snooze_dialog import snooze_selected  # here: the notifications' parts when asked

        snooze_selected(self)

    def action_open_client(self) -> None:
        if client := self._client():
            self.app.push_screen(ClientDetailScreen(client.slug))

    def action_reports(self) -> None:
        if client := self._client():
            self.app.push_screen(ReportsScreen(client.slug))

    def palette_commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        sweeping = [] if self.adsdash.read_only else palette_sweeps(self)
        slug = self.table.selected_slug
        client = self.data.clients.get(slug) if slug else None
        if client is None:
            return sweeping
        name = one_line(client.name, 60)
        out = []
        for action, verb in self.VERBS:
            if action in self.MUTATING and self.adsdash.read_only:
                continue
            out.append((f"{verb} {name}", escape(f"{action.replace('_', ' ')} · {slug}"),
                        getattr(self, f"action_{action}")))
        return out + sweeping
