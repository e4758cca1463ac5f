"""The summary line over the clients table: freshness counts, jobs, failures, the worker."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from rich.text import Text
from textual.widgets import Static

from adsdash.freshness import SYMBOL, Kind
from adsdash.look import FRESHNESS, JOB_STATUS, Tone, look_style, style
from adsdash.retention import human_bytes
from adsdash.sanitize import one_line
from adsdash.store import FAILED, QUEUED, STARTED, WorkerInfo

KIND_ORDER = (Kind.FRESH, Kind.LATE, Kind.STALE, Kind.NEVER, Kind.ERROR)


@dataclass(frozen=True)
class Summary:
    kinds: Mapping[Kind, int] = field(default_factory=dict)
    running: int = 0
    queued: int = 0
    failed_24h: int = 0
    worker: str = ""
    worker_ok: bool = True
    read_only: bool = False
    problem: str | None = None  # e.g. the ads_sync folder is missing
    store_bytes: int | None = None  # the job store's size (retention keeps it from growing forever)
    notify_problem: str | None = None  # an alert URL failing (notify_send.failing_text)

    @property
    def total(self) -> int:
        return sum(self.kinds.values())


def worker_text(live: Sequence[WorkerInfo], starting: bool = False) -> tuple[str, bool]:
    """Which worker serves this data folder (background, standalone, ...), or that none does."""
    if live:
        first = live[0]
        where = "" if first.here else f" on {first.host}"
        more = f" (+{len(live) - 1} more)" if len(live) > 1 else ""
        return one_line(f"{first.kind} worker pid {first.pid}{where}{more}", 80), True
    if starting:
        return "starting a background worker…", True
    return "no worker — jobs will wait", False


def summarize(kinds: Iterable[Kind], counts: Mapping[str, int], *,
              live: Sequence[WorkerInfo], read_only: bool, problem: str | None = None,
              starting: bool = False, store_bytes: int | None = None,
              notify_problem: str | None = None) -> Summary:
    tally = dict.fromkeys(KIND_ORDER, 0)
    for kind in kinds:
        tally[kind] += 1
    worker, ok = worker_text(live, starting)
    return Summary(tally, counts.get("started", 0), counts.get("queued", 0), counts.get("failed", 0),
                   worker, ok, read_only, problem, store_bytes, notify_problem)


def render_summary(summary: Summary, note: str = "", width: int | None = None) -> Text:
    """The line; when it is wider than `width`, the store's size (least needed) goes, then the
    freshness counts go short (`✓18 ◔5`) so the jobs' counts still show on an 80-column terminal."""
    for short in (False, True):
        for store in (True, False):
            text = _render(summary, note, short=short, store=store)
            if width is None or text.cell_len <= width:
                return text
    return text


def _render(summary: Summary, note: str, *, short: bool, store: bool = True) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    muted = style(Tone.MUTED)
    if summary.problem:
        text.append(f"⚠ {one_line(summary.problem, 200)}  ", style(Tone.BAD, bold=True))
    text.append(f"{summary.total} clients ", "bold")
    for kind in KIND_ORDER:
        n = summary.kinds.get(kind, 0)
        text.append(f" {SYMBOL[kind]}{n}" if short else f" {SYMBOL[kind]} {n} {kind}",
                    look_style(FRESHNESS[kind]) if n else muted)
    text.append("  │ ", muted)
    text.append(f"{summary.running} running", look_style(JOB_STATUS[STARTED]) if summary.running else muted)
    text.append(", ")
    text.append(f"{summary.queued} queued", look_style(JOB_STATUS[QUEUED]) if summary.queued else muted)
    text.append(", ")
    text.append(f"{summary.failed_24h} failed in 24h", look_style(JOB_STATUS[FAILED]) if summary.failed_24h else muted)
    text.append("  │ ", muted)
    text.append(summary.worker, "" if summary.worker_ok else style(Tone.BAD, bold=True))
    if summary.notify_problem:
        text.append("  │ ", muted)
        text.append(f"⚠ {one_line(summary.notify_problem, 120)}", style(Tone.BAD, bold=True))
    if summary.read_only:
        text.append("  │ ", muted)
        text.append("READ-ONLY", "reverse bold")
    if note:
        text.append("  │ ", muted)
        text.append(note, muted)
    if store and summary.store_bytes is not None:
        text.append(f"  │ store {human_bytes(summary.store_bytes)}", muted)
    return text


class SummaryBar(Static):
    DEFAULT_CSS = """
    SummaryBar { height: 1; padding: 0 1; background: $panel; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.summary: Summary | None = None
        self.note = ""

    def show(self, summary: Summary, note: str = "") -> None:
        self.summary, self.note = summary, note
        # One row, whatever it says: no layout of the screen for it (a refresh of 1,000 rows shows it)
        self.update(render_summary(summary, note, self.content_region.width or None), layout=False)

    def on_resize(self) -> None:
        if self.summary is not None:
            self.show(self.summary, self.note)
