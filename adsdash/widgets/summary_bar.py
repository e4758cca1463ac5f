"""The summary line over the clients table: freshness counts, jobs, failures, the worker."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from rich.text import Text
from textual.widgets import Static

from adsdash.freshness import SYMBOL, Kind
from adsdash.sanitize import one_line
from adsdash.store import WorkerInfo
from adsdash.widgets.clients_table import KIND_STYLE

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
              starting: bool = False) -> Summary:
    tally = {kind: 0 for kind in KIND_ORDER}
    for kind in kinds:
        tally[kind] += 1
    worker, ok = worker_text(live, starting)
    return Summary(tally, counts.get("started", 0), counts.get("queued", 0), counts.get("failed", 0),
                   worker, ok, read_only, problem)


def render_summary(summary: Summary, note: str = "") -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    if summary.problem:
        text.append(f"⚠ {one_line(summary.problem, 200)}  ", "bold red")
    text.append(f"{summary.total} clients ", "bold")
    for kind in KIND_ORDER:
        n = summary.kinds.get(kind, 0)
        text.append(f" {SYMBOL[kind]} {n} {kind}", KIND_STYLE[kind] if n else "dim")
    text.append("  │ ", "dim")
    text.append(f"{summary.running} running", "bold yellow" if summary.running else "dim")
    text.append(", ")
    text.append(f"{summary.queued} queued", "cyan" if summary.queued else "dim")
    text.append(", ")
    text.append(f"{summary.failed_24h} failed in 24h", "bold red" if summary.failed_24h else "dim")
    text.append("  │ ", "dim")
    text.append(summary.worker, "" if summary.worker_ok else "bold red")
    if summary.read_only:
        text.append("  │ ", "dim")
        text.append("READ-ONLY", "reverse bold")
    if note:
        text.append("  │ ", "dim")
        text.append(note, "dim")
    return text


class SummaryBar(Static):
    DEFAULT_CSS = """
    SummaryBar { height: 1; padding: 0 1; background: $panel; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.summary: Summary | None = None

    def show(self, summary: Summary, note: str = "") -> None:
        self.summary = summary
        self.update(render_summary(summary, note))
