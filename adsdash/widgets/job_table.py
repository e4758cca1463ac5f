"""A table of jobs keyed by id, newest first, updated in place (the cursor stays on its job).

Shared by the jobs screen, a client's detail and its reports; each picks its columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from adsdash import timefmt
from adsdash.exits import exit_text
from adsdash.look import job_status, look_style
from adsdash.sanitize import cell
from adsdash.store import Job

Column = tuple[str, str, int]  # key, label, width
# The outcome column takes what is left at 160 columns.
JOB_COLUMNS: tuple[Column, ...] = (
    ("id", "Job", 5), ("client", "Client", 22), ("command", "Command", 12), ("args", "Arguments", 24),
    ("status", "Status", 13), ("queued", "Queued", 19), ("elapsed", "Elapsed", 7), ("exit", "Exit", 4),
    ("outcome", "Result / error", 34),
)
EXIT_WIDEST = len("killed (SIGSEGV)")  # exits.exit_text: the exit column takes it from the outcome's


def status_text(job: Job) -> Text:
    """The status with its symbol, so it reads without colour."""
    look = job_status(job.status)
    label = job.status + (" (cancelling)" if job.cancel_requested and not job.ended else "")
    if job.waits_for is not None:  # a chain: it runs once that job finished
        label = f"waits {job.waits_for}"
    return Text(f"{look.symbol} {label}", style=look_style(look), no_wrap=True)


def args_text(args: Mapping[str, str]) -> str:
    return " ".join(f"{key}={value}" for key, value in args.items())


def args_short(args: Mapping[str, str]) -> str:
    """For a narrow column: `2025-09-01 → 2025-09-30`, `LAST-30-DAYS`."""
    if set(args) == {"start", "end"}:
        return f"{args['start']} → {args['end']}"
    return " ".join(args.values())


def job_cells(job: Job, now: datetime, columns: Iterable[Column] = JOB_COLUMNS,
              outcome: str | None = None) -> tuple[Text, ...]:
    values = {
        "id": lambda: Text(str(job.id), justify="right"),
        "client": lambda: cell(job.slug, 40),
        "command": lambda: cell(job.command),
        "args": lambda: cell(args_short(job.args), 40),
        "status": lambda: status_text(job),
        "queued": lambda: cell(timefmt.local(job.queued_at)),
        "elapsed": lambda: cell(timefmt.duration(job.elapsed(now))),
        "exit": lambda: cell(exit_text(job.exit_code, missing="")),
        "outcome": lambda: cell(outcome if outcome is not None else job.error or job.result or "", 200),
    }
    return tuple(values[key]() for key, _, _ in columns)


class JobTable(DataTable):
    """Jobs keyed by id, newest first, updated in place."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Open", id="jobs.open"),
        # DataTable's home/end scroll sideways; in a table of rows they go to the first/last row.
        Binding("home", "scroll_top", "First row", show=False, id="table.first"),
        Binding("end", "scroll_bottom", "Last row", show=False, id="table.last"),
    ]

    def __init__(self, columns: tuple[Column, ...] = JOB_COLUMNS, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", id=id)
        self.columns_spec = columns
        self.jobs: dict[int, Job] = {}
        self._shown: dict[str, tuple[Text, ...]] = {}
        # the exit column's width now: wider while a job killed by a signal is listed
        self._exit_width = next((width for key, _, width in columns if key == "exit"), 0)

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        wider = self._exit_width - next((width for key, _, width in self.columns_spec if key == "exit"), 0)
        for key, label, width in self.columns_spec:
            shown = width + wider if key == "exit" else width - wider if key == "outcome" else width
            self.add_column(Text(label), key=key, width=max(shown, 1))

    def _fit_exit(self, wanted: Mapping[str, tuple[Text, ...]]) -> None:
        """An exit named (`killed (SIGSEGV)`) widens the exit column, from the outcome's room;
        the columns are made again (with the rows) when that width changes."""
        keys = [key for key, _, _ in self.columns_spec]
        if "exit" not in keys:
            return
        at = keys.index("exit")
        need = max(self.columns_spec[at][2], min(EXIT_WIDEST, max([0, *(c[at].cell_len for c in wanted.values())])))
        if need == self._exit_width:
            return
        self._exit_width = need
        if self.columns:  # (before mount, on_mount adds them)
            self.clear(columns=True)
            self._shown = {}
            self._add_columns()

    @property
    def selected_job(self) -> Job | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return self.jobs.get(int(key.value or 0))

    def select_job(self, job_id: int) -> bool:
        """Move the cursor to the job, if shown."""
        try:
            self.move_cursor(row=self.get_row_index(str(job_id)))
        except RowDoesNotExist:
            return False
        return True

    def show(self, jobs: list[Job], now: datetime, outcomes: Mapping[int, str] | None = None) -> None:
        """Show `jobs`; `outcomes` replaces a job's result/error column (a report's file, say)."""
        outcomes = outcomes or {}
        selected = self.selected_job
        wanted = {str(job.id): job_cells(job, now, self.columns_spec, outcomes.get(job.id)) for job in jobs}
        self._fit_exit(wanted)
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
                for (column, _, _), before, after in zip(self.columns_spec, old, cells, strict=True):
                    if before != after:
                        self.update_cell(key, column, after)
            self._shown[key] = cells
        self.jobs = {job.id: job for job in jobs}
        if added:
            self.sort("id", key=lambda id_cell: int(id_cell.plain), reverse=True)
        if selected is not None and str(selected.id) in wanted:
            self.move_cursor(row=self.get_row_index(str(selected.id)), scroll=False)
