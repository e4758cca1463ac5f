"""The live log pane: follows one client's running (else latest) job.

Two halves, so fast output can never freeze the app:
- a feeder *thread* (plain threading, no Textual calls) polls the store every ~10 ms while
  its job runs, reads at most the newest PER_POLL lines (a person reads a few lines a
  second; the store keeps every line, and what was skipped is counted and marked), cleans
  each (`sanitize.keep_colour`), marks stderr, and appends to a bounded deque;
- a UI timer (30 Hz) drains the deque - at most DRAIN_MAX lines, the newest - with one
  `write_lines` into a bounded Log that renders the SGR colours keep_colour left, and
  nothing else.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.strip import Strip
from textual.widget import MountError
from textual.widgets import Log, ProgressBar, Static

from adsdash import timefmt
from adsdash.sanitize import keep_colour, one_line
from adsdash.store import Job, Store
from adsdash.widgets.clients_table import STATUS_STYLE

log = logging.getLogger(__name__)

KEEP = 5000  # lines held by the Log, and at most waiting in the feeder's deque
TAIL = 2000  # lines loaded when the pane switches to a job
PER_POLL = 200  # lines read a poll while following: at most 20,000 lines/s reach the pane
DRAIN_MAX = 2500  # lines written to the Log per UI tick
POLL_SECONDS = 0.01  # while the followed job is queued or running
IDLE_POLL_SECONDS = 0.1  # while it has ended (or there is none): a new one is found by the pick
PICK_SECONDS = 0.25  # how often the feeder re-reads which job to follow (and its status)
TICK_SECONDS = 1 / 30

STDERR_MARK = "\x1b[31m┃\x1b[39m "  # a bar, red: stderr reads apart even without colour
_SGR = re.compile(r"\x1b\[[0-9;]*m")
_CHUNK = re.compile(r"Processing chunk (\d+)/(\d+)")


def prepare(stream: str, text: str) -> str:
    """One stored line, ready for the Log: cleaned (SGR colour kept), stderr marked."""
    text = keep_colour(text)
    if stream == "stderr":
        return STDERR_MARK + text
    if "\x1b" not in text:
        if " - ERROR - " in text:
            return f"\x1b[91m{text}\x1b[39m"
        if " - WARNING - " in text:
            return f"\x1b[33m{text}\x1b[39m"
    return text


def visible(line: str) -> str:
    return _SGR.sub("", line) if "\x1b" in line else line


class ColourLog(Log):
    """A Log whose lines may carry SGR colour codes - only those: the feeder cleaned them."""

    @classmethod
    def _process_line(cls, line: str) -> str:
        return super()._process_line(visible(line))

    def _update_size(self, updates: int, lines: list[str]) -> None:
        # Cheaper than Log's thread per write: len() for ASCII, cell_len otherwise.
        if lines:
            width = max(len(v) if v.isascii() else cell_len(v) for v in map(visible, lines))
            self._update_maximum_width(updates, width)

    def _render_line_strip(self, y: int, rich_style: Style) -> Strip:
        selection = self.text_selection
        if selection is None and y in self._render_line_cache:
            return self._render_line_cache[y]
        raw = self._lines[y]
        if "\x1b" in raw:
            text = Text.from_ansi(raw, no_wrap=True, end="")
            text.stylize_before(rich_style)
        else:
            text = Text(raw, no_wrap=True, end="")
            text.stylize(rich_style)
        if selection is not None and (span := selection.get_span(y - self._clear_y)) is not None:
            start, end = span
            text.stylize(self.screen.get_component_rich_style("screen--selection"),
                         start, len(text) if end == -1 else end)
        strip = Strip(text.render(self.app.console), text.cell_len)
        if selection is None:
            self._render_line_cache[y] = strip
        return strip

    def get_selection(self, selection):
        return selection.extract("\n".join(visible(line) for line in self._lines)), "\n"


@dataclass
class View:
    """What the UI shows, as the feeder last saw it."""
    number: int = 0  # changes whenever the followed job (or client) changes: clear the Log
    slug: str | None = None
    job: Job | None = None
    hidden: int = 0  # lines of this job not shown (before the tail, or skipped under load)
    progress: tuple[int, int] | None = None
    problem: str | None = None


class Feeder(threading.Thread):
    """Reads the followed job's lines from the store. Plain thread; never calls Textual."""

    def __init__(self, store: Callable[[], Store], *, keep: int = KEEP, tail: int = TAIL):
        super().__init__(name="adsdash-log-feeder", daemon=True)
        self._get_store = store
        self.store: Store | None = None
        self.keep, self.tail = keep, tail
        self.lock = threading.Lock()
        self.pending: deque[str] = deque()
        self.view = View()
        self.new_skips = 0  # skipped since the UI last drained: it writes a marker line
        self._want: tuple[int, str | None] = (0, None)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._paused = False

    # -- called from the UI thread -------------------------------------------

    def follow(self, slug: str | None) -> None:
        with self.lock:
            if slug != self._want[1]:
                self._want = (self._want[0] + 1, slug)
        self._wake.set()

    def poke(self) -> None:
        """Look for a new job at once (one was just queued)."""
        self._wake.set()

    def pause(self, paused: bool) -> None:
        self._paused = paused
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def drain(self, limit: int) -> tuple[View, list[str], int]:
        """Everything waiting, or the newest `limit` lines if more wait (the rest count as skipped)."""
        with self.lock:
            pending = self.pending
            excess = len(pending) - limit
            if excess > 0:
                for _ in range(excess):
                    pending.popleft()
                self.view.hidden += excess
                self.new_skips += excess
            lines = list(pending)
            pending.clear()
            skips, self.new_skips = self.new_skips, 0
            return self.view, lines, skips

    # -- the thread --------------------------------------------------------

    def run(self) -> None:
        number, job, seq, next_pick, first_read = -1, None, 0, 0.0, False
        while not self._stop.is_set():
            if self._paused:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            try:
                if self.store is None:
                    self.store = self._get_store()  # opened here, not on the UI thread
                with self.lock:
                    want_number, slug = self._want
                now = time.monotonic()
                if want_number != number or self._wake.is_set() or now >= next_pick:
                    self._wake.clear()
                    next_pick = now + PICK_SECONDS
                    picked = self._pick(slug)
                    if want_number != number or (picked and picked.id) != (job and job.id):
                        number = want_number
                        seq = max(0, picked.line_count - self.tail) if picked else 0
                        first_read = True
                        self._switch(slug, picked, seq)
                    else:
                        with self.lock:
                            self.view.job = picked
                    job = picked
                if job is not None:
                    if not job.ended:  # fresh status and line count on every poll
                        job = self.store.job(job.id) or job
                        with self.lock:
                            self.view.job = job
                    # The first read after a switch loads the tail; then at most PER_POLL lines a
                    # poll, the newest: nobody reads faster, and the store keeps every line.
                    limit = max(self.tail, PER_POLL) if first_read else PER_POLL
                    first_read = False
                    behind = job.line_count - seq
                    if behind > limit:
                        self._skipped(behind - limit)
                        seq += behind - limit
                    batch = self.store.lines(job.id, after=seq, limit=limit)
                    if batch:
                        seq = batch[-1].seq
                        self._add(batch)
                with self.lock:
                    self.view.problem = None
            except Exception as exc:  # a locked or broken store must not kill the pane
                log.warning("log feeder: %s", exc)
                with self.lock:
                    self.view.problem = one_line(f"cannot read the job store: {exc}")
                self._stop.wait(1.0)
            self._wake.wait(POLL_SECONDS if job is not None and not job.ended else IDLE_POLL_SECONDS)

    def _pick(self, slug: str | None) -> Job | None:
        if slug is None:
            return None
        active = self.store.active_by_slug().get(slug)
        if active is not None:
            return active
        latest = self.store.jobs(slug=slug, limit=1)
        return latest[0] if latest else None

    def _switch(self, slug: str | None, job: Job | None, seq: int) -> None:
        with self.lock:
            self.pending.clear()
            self.new_skips = 0
            self.view = View(self.view.number + 1, slug, job, hidden=seq)

    def _skipped(self, n: int) -> None:
        with self.lock:
            self.view.hidden += n
            self.new_skips += n

    def _add(self, batch) -> None:
        lines = [prepare(line.stream, line.str) for line in batch]
        progress = None
        for line in reversed(lines):
            if "Processing chunk" in line and (m := _CHUNK.search(line)):
                progress = (int(m[1]), int(m[2]))
                break
        with self.lock:
            pending = self.pending
            overflow = len(pending) + len(lines) - self.keep
            if overflow > 0:  # the UI is behind: keep the newest
                self.view.hidden += overflow
                self.new_skips += overflow
                if overflow >= len(pending):
                    lines = lines[overflow - len(pending):]
                    pending.clear()
                else:
                    for _ in range(overflow):
                        pending.popleft()
            pending.extend(lines)
            if progress:
                self.view.progress = progress


def header_text(view: View, now: datetime) -> Text:
    job = view.job
    text = Text(no_wrap=True, overflow="ellipsis")
    if view.slug is None:
        return Text("no client selected", style="dim")
    if job is None:
        text.append(view.slug, "bold")
        text.append(": no jobs yet", "dim")
        return text
    status = "cancelling" if job.cancel_requested and job.status == "started" else job.status
    text.append(f"job {job.id} ", "bold")
    text.append(f"{job.command} {job.slug}")
    text.append("  ")
    text.append(status, STATUS_STYLE.get(job.status, ""))
    text.append(f"  elapsed {timefmt.duration(job.elapsed(now))}" if job.started_at else "  waiting for a worker")
    text.append(f"  exit {job.exit_code if job.exit_code is not None else '—'}")
    text.append(f"  {job.line_count:,} lines", "dim")
    if view.hidden:
        text.append(f" ({view.hidden:,} not shown here; all in the job's detail)", "dim")
    if job.error and job.status in ("failed", "cancelled"):
        text.append("\n")
        text.append(one_line(job.error, 400), "bold red" if job.status == "failed" else "dim")
    if view.problem:
        text.append("\n")
        text.append(view.problem, "bold red")
    return text


class JobLog(Vertical):
    DEFAULT_CSS = """
    JobLog { height: 16; border-top: solid $primary; }
    JobLog > #job-header { height: auto; max-height: 2; padding: 0 1; }
    JobLog > ProgressBar { height: 1; padding: 0 1; display: none; }
    JobLog > ProgressBar.-active { display: block; }
    JobLog > ColourLog { height: 1fr; }
    """

    def __init__(self, store: Callable[[], Store], *, clock: Callable[[], datetime], id: str | None = None):
        super().__init__(id=id)
        self.store = store
        self.clock = clock
        self.feeder: Feeder | None = None
        self._number = -1
        self._header: Text | None = None
        self.view = View()
        self._slug: str | None = None  # followed before the feeder started
        self._paused = False
        self._gone = False

    def compose(self) -> ComposeResult:
        yield Static("", id="job-header", markup=False)  # the ProgressBar is mounted on the first chunk line

    def on_mount(self) -> None:
        # Until the feeder has read the store there is nothing to show: the app's first frame
        # has the empty pane, and the Log, the feeder thread and the drain timer start after it.
        self.call_after_refresh(self._start)

    def _start(self) -> None:
        if self._gone or self.feeder is not None:
            return
        try:
            self.mount(ColourLog(max_lines=KEEP, auto_scroll=True, id="job-output"))
        except MountError:  # the app is closing: nothing to start
            return
        self.feeder = Feeder(self.store)
        self.feeder.follow(self._slug)
        self.feeder.pause(self._paused)
        self.feeder.start()
        self.set_interval(TICK_SECONDS, self.tick, name="job-log-drain")

    def on_unmount(self) -> None:
        self._gone = True
        if self.feeder is not None:
            self.feeder.stop()

    @property
    def output(self) -> ColourLog:
        return self.query_one(ColourLog)

    def follow(self, slug: str | None) -> None:
        self._slug = slug
        if self.feeder is not None:
            self.feeder.follow(slug)

    def poke(self) -> None:
        if self.feeder is not None:
            self.feeder.poke()

    def pause(self, paused: bool) -> None:
        self._paused = paused
        if self.feeder is not None:
            self.feeder.pause(paused)

    def tick(self) -> None:
        if self.feeder is None:
            return
        view, lines, skips = self.feeder.drain(DRAIN_MAX)
        self.view = view
        output = self.output
        if view.number != self._number:
            self._number = view.number
            output.clear()
        if skips:
            lines.insert(0, f"\x1b[2m⋯ {skips:,} lines skipped to keep up (kept in the store) ⋯\x1b[22m")
        if lines:
            output.write_lines(lines)
        header = header_text(view, self.clock())
        if header != self._header:
            self._header = header
            self.query_one("#job-header", Static).update(header)
        self._show_progress(view)

    def _show_progress(self, view: View) -> None:
        bars = self.query(ProgressBar)
        if view.progress is None:
            if bars:
                bars.first().remove_class("-active")
            return
        if bars:
            bar = bars.first(ProgressBar)
        else:
            bar = ProgressBar(total=None, show_eta=False, id="job-progress")
            self.mount(bar, after=self.query_one("#job-header"))
        bar.add_class("-active")
        chunk, total = view.progress
        done = total if view.job is not None and view.job.status == "finished" else max(chunk - 1, 0)
        if bar.total != total or bar.progress != done:
            bar.update(total=max(total, 1), progress=min(done, total))
