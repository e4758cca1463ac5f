"""A table of jobs keyed by id, newest first, updated in place (the cursor stays on its job).

Shared by the jobs screen, a client's detail and its reports; each picks its columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from adsdash import timefmt
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


def status_text(job: Job) -> Text:
    """The status with its symbol, so it reads without colour."""
    look = job_status(job.status)
    label = job.status + (" (cancelling)" if job.cancel_requested and not job.ended else "")
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
        "exit": lambda: cell("" if job.exit_code is None else str(job.exit_code)),
        "outcome": lambda: cell(outcome if outcome is not None else job.error or job.result or "", 200),
    }
    return tuple(values[key]() for key, _, _ in columns)


class JobTable(DataTable):
    """Jobs keyed by id, newest first, updated in place."""

    BINDINGS = [Binding("enter", "select_cursor", "Open", id="jobs.open")]

    def __init__(self, columns: tuple[Column, ...] = JOB_COLUMNS, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", id=id)
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
        return self.jobs.get(int(key.value or 0))

    def show(self, jobs: list[Job], now: datetime, outcomes: Mapping[int, str] | None = None) -> None:
        """Show `jobs`; `outcomes` replaces a job's result/error column (a report's file, say)."""
        outcomes = outcomes or {}
        selected = self.selected_job
        wanted = {str(job.id): job_cells(job, now, self.columns_spec, outcomes.get(job.id)) for job in jobs}
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
