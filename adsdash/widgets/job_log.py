"""The live log pane: follows one client's running (else latest) job.

Two halves, so fast output can never freeze the app:
- a watcher *thread* (plain threading, no Textual calls) finds the job to follow and polls
  its row (status, line count) every ~20 ms while it runs, and for an init, its progress;
- a UI timer (60 Hz; a growing job moves the pane at most 30 times a second) hands what
  the watcher last saw to the header, the progress bar and an OutputView in tail mode,
  which reads only the lines on screen from the store. However
  fast the CLI writes, the pane costs one page read a tick; the store keeps every line,
  and scrolling up reads back through all of them.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import ProgressBar, Static

from adsdash import timefmt
from adsdash.exits import exit_text
from adsdash.look import Tone, job_status, look_style, style
from adsdash.sanitize import one_line
from adsdash.store import Job, Store
from adsdash.widgets.output_view import OutputView

log = logging.getLogger(__name__)

POLL_SECONDS = 0.01  # while the followed job is queued or running
IDLE_POLL_SECONDS = 0.25  # while it has ended (or there is none): a new one is found by the pick
PICK_SECONDS = 0.25  # how often the watcher re-reads which job to follow
TICK_SECONDS = 1 / 60
# A running job's new lines move the pane at most this often. Each move draws every line in view
# anew, and nobody reads a flood faster: the rest of the frames are left to keys and the table.
PACE_SECONDS = 1 / 30
HEADER_SECONDS = 0.25  # ... and its header's line count at most this often
PACE_SLACK = 0.002  # two ticks of the timer are a pace, though one comes a little early
IDLE_TICKS = 15  # fast ticks with nothing new before the fast tick sleeps
PROGRESS_LINES = 200  # the last lines looked at for init's progress
_CHUNK = re.compile(r"Processing chunk (\d+)/(\d+)")


@dataclass(frozen=True)
class View:
    """What the pane shows, as the watcher last saw it."""
    slug: str | None = None
    job: Job | None = None
    progress: tuple[int, int] | None = None  # init's chunk i of N
    problem: str | None = None


class Watcher(threading.Thread):
    """Finds and polls the followed job in the store. Plain thread; never calls Textual."""

    def __init__(self, store: Callable[[], Store], on_news: Callable[[], object] = lambda: None,
                 on_change: Callable[[], object] = lambda: None):
        """`on_news`: called (from this thread) when the view changes while the pane sleeps;
        `on_change`: when it changes while the pane is awake (so the pane need not wait for its tick)."""
        super().__init__(name="adsdash-log-watcher", daemon=True)
        self._get_store = store
        self._on_news = on_news
        self._on_change = on_change
        self.pane_asleep = threading.Event()  # set by the pane when its tick stops: then tell it of news
        self._lock = threading.Lock()
        self._view = View()
        self._wanted: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._paused = False

    # -- called from the UI thread -------------------------------------------

    def follow(self, slug: str | None) -> None:
        with self._lock:
            self._wanted = slug
        self._wake.set()

    def look_now(self) -> None:
        """Look for a new job at once (one was just queued)."""
        self._wake.set()

    def pause(self, paused: bool) -> None:
        self._paused = paused
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    @property
    def view(self) -> View:
        with self._lock:
            return self._view

    # -- the thread --------------------------------------------------------

    def run(self) -> None:
        store: Store | None = None
        next_pick, progress_at, version = 0.0, -1, -1
        view = View()
        while not self._stop.is_set():
            if self._paused:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            try:
                store = store or self._get_store()  # opened here, not on the UI thread
                with self._lock:
                    slug = self._wanted
                now = time.monotonic()
                # Which job to follow is read again when asked, or when the store changed at all.
                if slug != view.slug or self._wake.is_set() or (
                        now >= next_pick and version != (version := store.data_version())):
                    self._wake.clear()
                    next_pick = now + PICK_SECONDS
                    job = self._pick(store, slug)
                    if slug != view.slug or (job and job.id) != (view.job and view.job.id):
                        view, progress_at = View(slug, job), -1
                    else:
                        view = View(slug, job, view.progress)
                elif view.job is not None and not view.job.ended:
                    view = View(slug, store.job(view.job.id) or view.job, view.progress)
                job = view.job
                if job is not None and job.command == "init" and job.line_count != progress_at:
                    progress_at = job.line_count
                    view = View(slug, job, self._progress(store, job) or view.progress)
            except Exception as exc:  # noqa: BLE001 - a locked or broken store must not kill the pane
                log.warning("log watcher: %s", exc)
                view = View(view.slug, view.job, view.progress, one_line(f"cannot read the job store: {exc}"))
                self._stop.wait(1.0)
            with self._lock:
                changed = view != self._view
                if changed:  # a new object only when something changed: the UI compares identity
                    self._view = view
            if changed and self.pane_asleep.is_set():
                self.pane_asleep.clear()
                self._on_news()
            elif changed:
                self._on_change()
            running = view.job is not None and not view.job.ended
            self._wake.wait(POLL_SECONDS if running else IDLE_POLL_SECONDS)

    @staticmethod
    def _pick(store: Store, slug: str | None) -> Job | None:
        if slug is None:
            return None
        active = store.active_job(slug)  # one client's: the whole table's is read by the clients screen
        if active is not None:
            return active
        latest = store.jobs(slug=slug, limit=1)
        return latest[0] if latest else None

    @staticmethod
    def _progress(store: Store, job: Job) -> tuple[int, int] | None:
        """The newest `Processing chunk i/N` among the last lines (None: keep the last one seen)."""
        for line in reversed(store.lines(job.id, after=max(0, job.line_count - PROGRESS_LINES))):
            if match := _CHUNK.search(line.as_text):
                return int(match[1]), int(match[2])
        return None


def header_text(view: View, now: datetime) -> Text:
    job = view.job
    text = Text(no_wrap=True, overflow="ellipsis")
    muted = style(Tone.MUTED)
    if view.slug is None:
        return Text("no client selected", style=muted)
    if job is None:
        text.append(view.slug, "bold")
        text.append(": no jobs yet", muted)
        return text
    status = "cancelling" if job.cancel_requested and job.status == "started" else job.status
    look = job_status(job.status)
    text.append(f"job {job.id} ", "bold")
    text.append(f"{job.command} {job.slug}")
    text.append("  ")
    text.append(f"{look.symbol} {status}", look_style(look))
    text.append(f"  elapsed {timefmt.duration(job.elapsed(now))}" if job.started_at else "  waiting for a worker")
    text.append(f"  exit {exit_text(job.exit_code)}")
    text.append(f"  {job.line_count:,} lines" + (", output pruned" if job.output_pruned_at else ""), muted)
    if job.error and job.status in ("failed", "cancelled"):
        text.append("\n")
        text.append(one_line(job.error, 400), look_style(look) if job.status == "failed" else muted)
    if view.problem:
        text.append("\n")
        text.append(view.problem, style(Tone.BAD, bold=True))
    return text


def _moved(before: Job | None, after: Job | None) -> bool:
    """Another job, or the same one in another status."""
    return (before and (before.id, before.status)) != (after and (after.id, after.status))


class JobLog(Vertical):
    """The pane. Its times come from the screen's clock tick (`set_now`), so they agree with the
    table's; when the followed job starts, ends or is replaced it says so (`Moved`), so the
    screen reads its rows and summary again at once instead of at its next refresh."""

    class Moved(Message):
        """The followed client's job changed status, or a new job took its place."""

        def __init__(self, job: Job | None) -> None:
            super().__init__()
            self.job = job

    DEFAULT_CSS = """
    JobLog { height: 16; border-top: solid $primary; }
    JobLog > #job-header { height: auto; max-height: 2; padding: 0 1; }
    JobLog > ProgressBar { height: 1; padding: 0 1; display: none; }
    JobLog > ProgressBar.-active { display: block; }
    JobLog > OutputView { height: 1fr; }
    """

    def __init__(self, store: Callable[[], Store], *, clock: Callable[[], datetime],
                 held: Callable[[], bool] = lambda: False, id: str | None = None):
        """`held()`: new lines wait (a key's effect is being drawn first: see InputFirst)."""
        super().__init__(id=id)
        self.store = store
        self.clock = clock
        self.held = held
        self.watcher: Watcher | None = None
        self._fast: Timer | None = None
        self._idle_ticks = 0
        self.view = View()
        self._header: Text | None = None
        self._slug: str | None = None  # followed before the watcher started
        self._paused = False
        self._gone = False
        self._fresh_posted = threading.Event()
        self._fresh_at = 0.0  # when the last Fresh was posted (read and written by the watcher only)
        self.now: datetime | None = None  # the screen's clock at its last tick; None: ask `clock`
        self._shown_at = 0.0  # when the pane last showed what the watcher saw
        self._header_at = 0.0  # when the header was last drawn
        self._header_due = False  # a line count is waiting to be shown in the header

    def compose(self) -> ComposeResult:
        yield Static("", id="job-header", markup=False)  # the ProgressBar is mounted on the first chunk line

    def on_mount(self) -> None:
        # Until the watcher has read the store there is nothing to show: the app's first frame
        # has the empty pane, and the view, the watcher thread and the timer start after it.
        self.call_after_refresh(self._start)

    def _start(self) -> None:
        if self._gone or self.watcher is not None or not self.is_attached:
            return
        self.mount(OutputView(self.store(), None, id="job-output"))
        self.watcher = Watcher(self.store, on_news=lambda: self.post_message(self.News()), on_change=self._changed)
        self.watcher.follow(self._slug)
        self.watcher.pause(self._paused)
        self.watcher.start()
        self._fast = self.set_interval(TICK_SECONDS, self.tick, name="job-log-tick")

    def on_unmount(self) -> None:
        self._gone = True
        if self.watcher is not None:
            self.watcher.stop()

    @property
    def output(self) -> OutputView:
        return self.query_one(OutputView)

    def follow(self, slug: str | None) -> None:
        changed, self._slug = slug != self._slug, slug
        if self.watcher is not None:
            self.watcher.follow(slug)
            if changed:  # the same client again (every refresh says so) is no news
                self._wake_up()

    def look_now(self) -> None:
        if self.watcher is not None:
            self.watcher.look_now()
            self._wake_up()

    def _wake_up(self) -> None:
        self._idle_ticks = 0
        if self.watcher is not None:
            self.watcher.pane_asleep.clear()
        if self._fast is not None:
            self._fast.resume()

    class News(Message):
        """The watcher saw something new while the tick slept (a job queued elsewhere)."""

    class Fresh(Message):
        """The watcher saw something new while the tick runs: show it now, not at the next tick."""

    def _changed(self) -> None:
        """From the watcher's thread: one Fresh message on its way at a time, and at most one a
        frame (TICK_SECONDS): a flood must not cost the UI more than its tick did."""
        now = time.monotonic()
        if not self._fresh_posted.is_set() and now - self._fresh_at >= TICK_SECONDS:
            self._fresh_at = now
            self._fresh_posted.set()
            self.post_message(self.Fresh())

    def on_job_log_fresh(self, message: Fresh) -> None:
        message.stop()
        self._fresh_posted.clear()  # before reading the view: a change after this posts again
        if not self._paused:
            self.tick()

    def on_job_log_news(self, message: News) -> None:
        message.stop()
        if not self._paused:
            self._wake_up()

    def pause(self, paused: bool) -> None:
        """Under another screen: the watcher and the fast tick sleep."""
        self._paused = paused
        if self.watcher is not None:
            self.watcher.pause(paused)
        if self._fast is not None:
            if paused:
                self._fast.pause()
            else:
                self._wake_up()

    def set_now(self, now: datetime) -> None:
        """The screen's clock ticked: elapsed times move with the table's, from the same moment
        (drawn now, or with the header's next line count, from this moment all the same)."""
        self.now = now
        if self.view.job is not None and not self.view.job.ended:
            self._show_header(paced=True)

    def _show_header(self, *, paced: bool = False) -> None:
        """`paced`: only the count or the time moved; drawn HEADER_SECONDS apart at most (a tick draws the last)."""
        now = time.monotonic()
        if paced and now - self._header_at < HEADER_SECONDS:
            self._header_due = True
            return
        self._header_due, self._header_at = False, now
        view = self.view
        header = header_text(view if view.slug == self._slug else View(self._slug), self.now or self.clock())
        if header != self._header:
            # Its height follows its lines (one, or two with an error): only a new count of lines
            # lays the screen out again, not each tick of a flood's line count.
            lines_changed = self._header is None or header.plain.count("\n") != self._header.plain.count("\n")
            self._header = header
            self.query_one("#job-header", Static).update(header, layout=lines_changed)

    def tick(self) -> None:
        if self.watcher is None:
            return
        view = self.watcher.view
        if self._header_due and time.monotonic() - self._header_at >= HEADER_SECONDS:
            self._show_header()
        if view is self.view:  # nothing new (while a job runs, its elapsed time moves with set_now)
            if view.job is None or view.job.ended:  # after a moment the fast tick sleeps until the watcher has news
                self._idle_ticks += 1
                if self._idle_ticks > IDLE_TICKS and self._fast is not None and self.watcher is not None:
                    self._fast.pause()
                    self.watcher.pane_asleep.set()
                    if self.watcher.view is not self.view:  # news between the look above and the set
                        self._wake_up()
            return
        outputs = self.query(OutputView)
        if not outputs:  # not mounted yet, or removed as the screen closes (a message still on its way)
            return
        output = outputs.first(OutputView)
        self._idle_ticks = 0
        now = time.monotonic()
        grew = self._only_grew(view)
        if grew and (now - self._shown_at < PACE_SECONDS - PACE_SLACK or self.held()):
            return  # a later tick shows it
        self._shown_at = now
        before, self.view = self.view, view
        if view.slug == self._slug == before.slug and _moved(before.job, view.job):  # not a new client followed
            self.post_message(self.Moved(view.job))
        job = view.job if view.slug == self._slug else None  # the watcher may not have switched yet
        output.show_job(job.id if job else None)
        if job is not None:
            output.set_line_count(0 if job.output_pruned_at else job.line_count)  # pruned: nothing to read
        self._show_header(paced=grew)
        self._show_progress(view if job else View())

    def _only_grew(self, view: View) -> bool:
        """The same job of the same client, in the same state, with more lines (or progress)."""
        before = self.view

        def state(job: Job | None) -> tuple[object, ...] | None:
            return job and (job.id, job.status, job.cancel_requested)

        return (view.slug == before.slug and view.problem == before.problem and view.job is not None
                and state(view.job) == state(before.job))

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
