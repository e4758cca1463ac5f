"""One job: its facts and its whole output, scrollable and searchable.

The output is an OutputView, which reads only the visible lines from the store, so a
job of a million lines opens at once. Search runs as an SQL query in a thread worker.
`w` saves the whole output to a file (save_dialog); `c` (and ctrl+c) copy the selection
to the clipboard with OSC 52, which reaches the operator's terminal over SSH too.
"""

from __future__ import annotations

import shlex
from datetime import datetime

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.selection import Selection
from textual.widget import Widget
from textual.widgets import Header, Input, Static

from adsdash import timefmt
from adsdash.exits import exit_text
from adsdash.look import Tone, style
from adsdash.output_file import Saved
from adsdash.sanitize import one_line, plain
from adsdash.screens.base import AdsdashScreen
from adsdash.screens.job_actions import JOB_ACTIONS, ask_cancel, ask_retry, job_action_state
from adsdash.screens.save_dialog import SaveOutputDialog
from adsdash.store import Job
from adsdash.widgets.fit_footer import FitFooter
from adsdash.widgets.job_table import args_text, status_text
from adsdash.widgets.output_view import OutputView


def _value(text: str | None, tone: Tone | None = None) -> Text:
    return Text(plain(text) if text else "—", style=style(tone) if tone else "")


def facts_table(job: Job, now) -> Group:
    """Two label/value pairs a row, then the long ones a row each; values are cleaned, never markup."""
    pairs = Table.grid(padding=(0, 2), expand=True)
    for _ in range(2):
        pairs.add_column(style="bold", no_wrap=True, min_width=9)
        pairs.add_column(ratio=1)
    status = status_text(job)
    status.append(f"   exit {exit_text(job.exit_code)}", style="")
    pairs.add_row("Job", _value(f"{job.id}  {job.command} {job.slug}"), "Status", status)
    pairs.add_row("Arguments", _value(args_text(job.args) or "none"), "Asked by", _value(job.asked))
    pairs.add_row("Queued", _value(timefmt.local(job.queued_at)), "Started", _value(timefmt.local(job.started_at)))
    pairs.add_row("Finished", _value(timefmt.local(job.finished_at)),
                  "Elapsed", _value(timefmt.duration(job.elapsed(now))))
    long = Table.grid(padding=(0, 2), expand=True)
    long.add_column(style="bold", no_wrap=True, min_width=9)
    long.add_column(ratio=1)
    long.add_row("Command", _value(shlex.join(job.argv)))
    if job.error:
        long.add_row("Error", _value(job.error, Tone.BAD))
    if job.result:
        long.add_row("Result", _value(job.result))
    if job.output_note:  # the store could not take the output at once (disk full)
        long.add_row("Output", _value(job.output_note, Tone.WARN))
    if job.output_pruned_at:  # retention removed it (adsdash/retention.py)
        long.add_row("Output", _value(f"pruned on {timefmt.local(job.output_pruned_at)}"
                                      f" ({job.line_count:,} lines; the job's facts are kept)", Tone.WARN))
    return Group(pairs, long)


class JobDetailScreen(AdsdashScreen):
    CSS_PATH = "screens.tcss"
    MUTATING = JOB_ACTIONS
    BINDINGS = [
        Binding("escape", "back", "Back", id="job_detail.back"),
        Binding("slash", "open_search", "Search", id="job_detail.search"),
        Binding("n", "next_match", "Next", id="job_detail.next"),
        Binding("N", "previous_match", "Previous", id="job_detail.previous"),
        Binding("x", "cancel_job", "Cancel", id="job_detail.cancel"),
        Binding("R", "retry_job", "Retry", id="job_detail.retry"),
        Binding("w", "save_output", "Save", id="job_detail.save"),
        Binding("c", "copy_output", "Copy", id="job_detail.copy"),
    ]

    def __init__(self, job_id: int) -> None:
        super().__init__()
        self.job_id = job_id
        self.job: Job | None = None
        self.term: str | None = None
        self.match: int | None = None  # index of the current match
        self.search_note = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="facts")
        yield OutputView(self.engine.store, self.job_id, id="output")
        yield Input(placeholder="search the output: enter finds, escape closes", id="search", compact=True)
        yield Static("", id="status-line")
        yield FitFooter()  # keeps `?` and the main keys on a narrow terminal

    def on_mount(self) -> None:
        self.title = f"Job {self.job_id}"
        self.query_one(OutputView).focus()
        self.reload()
        self.set_interval(0.5, self.reload)

    @property
    def output(self) -> OutputView:
        return self.query_one(OutputView)

    def reload(self) -> None:
        """Re-read the job row (one indexed query); the view reads its own lines."""
        store, clock = self.engine.store, self.adsdash.clock  # taken here: the thread may outlive the app
        self.read(lambda: (store.job(self.job_id), clock()), self.show, group="job")

    def read_failed(self, error: Exception) -> None:
        self.search_note = plain(f"cannot read the job: {error}")
        self._show_status()

    def show(self, loaded: tuple[Job | None, datetime]) -> None:
        job, now = loaded
        if job is None:
            self.query_one("#facts", Static).update(Text(f"no job {self.job_id} in the store"))
            return
        changed = job != self.job
        self.job = job
        if changed or not job.ended:  # elapsed ticks while it runs
            self.query_one("#facts", Static).update(facts_table(job, now))
        self.output.set_line_count(0 if job.output_pruned_at else job.line_count)
        self._show_status()
        if changed:
            self.refresh_bindings()

    def _show_status(self) -> None:
        count = self.output.line_count
        parts = [f"{count:,} line{'s' if count != 1 else ''}"]
        if self.job and not self.job.ended:
            parts.append("following" if self.output.follow else "paused (end: G)")
        if self.search_note:
            parts.append(self.search_note)
        self.query_one("#status-line", Static).update(Text(" · ".join(parts)))

    # -- search -------------------------------------------------------------

    def action_open_search(self) -> None:
        box = self.query_one("#search", Input)
        box.add_class("-open")
        box.focus()

    def _close_search(self) -> None:
        self.query_one("#search", Input).remove_class("-open")
        self.output.focus()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        term = event.value.strip()
        self._close_search()
        if not term:
            return
        self.term, self.match = term, None
        self.refresh_bindings()  # n and N now have something to find
        top, _ = self.output.visible_range()
        self._find(term, after=top, before=None)  # first match from the top of the view

    def action_next_match(self) -> None:
        if self.term:
            after = self.match + 1 if self.match is not None else self.output.visible_range()[0]
            self._find(self.term, after=after, before=None)

    def action_previous_match(self) -> None:
        if self.term:
            before = self.match + 1 if self.match is not None else self.output.visible_range()[1] + 1
            self._find(self.term, after=0, before=before)

    def _find(self, term: str, *, after: int, before: int | None) -> None:
        store = self.engine.store

        def find() -> tuple[str, int | None, bool]:
            seq = store.find_line(self.job_id, term, after=after, before=before)
            wrapped = False
            if seq is None:  # go round once, like a pager does
                wrapped = True
                seq = (store.find_line(self.job_id, term, after=0) if before is None
                       else store.find_line(self.job_id, term, before=2**62))
            return term, seq, wrapped

        self.read(find, self._found, group="search")

    def _found(self, found: tuple[str, int | None, bool]) -> None:
        term, seq, wrapped = found
        if term != self.term:
            return
        shown = plain(term)
        if seq is None:
            self.match = None
            self.search_note = f"no line contains “{shown}”"
            self.output.highlight(term, None)
        else:
            self.match = seq - 1
            self.search_note = f"“{shown}” at line {seq:,}" + (" (wrapped)" if wrapped else "") + " · n/N"
            self.output.highlight(term, self.match)
            self.output.go_to(self.match)
        self._show_status()

    # -- actions ------------------------------------------------------------

    def action_state(self, action: str) -> bool | None:
        if action in JOB_ACTIONS:
            return job_action_state(action, self.job)
        if action in ("next_match", "previous_match"):
            return True if self.term else None
        if action in ("save_output", "copy_output"):
            return True if self.job is not None else None
        return True

    def action_cancel_job(self) -> None:
        if self.job is not None:
            ask_cancel(self.adsdash, self.engine.store.job(self.job_id) or self.job)

    def action_retry_job(self) -> None:
        if self.job is not None:
            ask_retry(self.adsdash, self.job, self._open_new)

    def _open_new(self, job: Job) -> None:
        """The retry's new job in place of this one (escape goes back to where this came from)."""
        if self.is_current:
            self.app.switch_screen(JobDetailScreen(job.id))

    # -- keeping the output ---------------------------------------------------

    def action_save_output(self) -> None:
        if self.job is not None:
            self.app.push_screen(SaveOutputDialog(self.engine.store, self.job), self._saved)

    def _saved(self, saved: Saved | None) -> None:
        if saved is not None:
            lines = f"{saved.lines:,} line{'s' if saved.lines != 1 else ''}"
            self.notify(one_line(f"{lines} written to {saved.path}", 500), title="Saved", markup=False)

    def action_copy_output(self) -> None:
        """The selection; without one, the current search match's line, else the lines on screen."""
        self._copy(dict(self.selections), self.match)

    def action_copy_text(self) -> None:
        """ctrl+c (Textual's key for it): the selection, with the same toast; without one the
        key goes on to the app (which says how to quit), as it does on every other screen."""
        if not self.selections:
            raise SkipAction()
        self._copy(dict(self.selections), None)

    def _copy(self, selections: dict[Widget, Selection], match: int | None) -> None:
        store, view = self.engine.store, self.output
        top, bottom = view.visible_range()

        def fetch() -> tuple[str, str]:  # a selection may span 100,000 lines: read off the UI thread
            if selections:
                parts = [piece for widget, selection in selections.items()
                         if widget.is_attached and (piece := widget.get_selection(selection)) is not None]
                text = "".join(text for text, _ending in parts).rstrip("\n")
                if text:
                    return text, "the selection"
            if match is not None:
                lines = store.lines(self.job_id, after=match, limit=1)
                return "\n".join(plain(line.as_text) for line in lines), f"line {match + 1:,}"
            lines = store.lines(self.job_id, after=top, limit=bottom - top)
            return "\n".join(plain(line.as_text) for line in lines), "the lines on screen (nothing selected)"

        self.read(fetch, self._copied, group="copy")

    def _copied(self, copied: tuple[str, str]) -> None:
        text, what = copied
        if not text:
            self.notify("nothing to copy", markup=False)
            return
        self.app.copy_to_clipboard(text)
        self.notify(f"copied {len(text):,} character{'s' if len(text) != 1 else ''} from {what}", markup=False)

    def action_back(self) -> None:
        boxes = self.query("#search")
        if boxes and boxes.first().has_class("-open"):
            self._close_search()
        else:
            self.dismiss()
