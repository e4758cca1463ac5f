"""The clients table: one keyed row per client (row key = slug), updated by diff.

Rows are built off the UI thread (`build_rows`, pure) and applied on it (`ClientsTable.show`):
only changed cells are written (`update_cell(..., update_width=False)` in one batch), rows
come and go by key, and after a re-sort the cursor is found again by key, so a refresh never
moves the operator's selection or the scroll.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from rich.console import JustifyMethod
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist, RowKey

from adsdash import timefmt
from adsdash.look import FRESHNESS, LOCK_HELD, LOCK_STALE, Look, Tone, job_status, style
from adsdash.sanitize import cell
from adsdash.store import Job
from adsdash.workspace import Client

# key, label, width (None: fit the content once, at the first fill)
COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("name", "Client", 36),
    ("slug", "Slug", 28),
    ("watermark", "Watermark", 10),
    ("lag", "Lag", 4),
    ("fresh", "Freshness", 11),
    ("job", "Last job", 30),
    ("lock", "Lock pid age", 22),
)
ORDERS = ("worst first", "name", "lag", "last job")

_NONE = "—"

Part = tuple[str, Tone | None]  # a piece of text, already clean (see `sanitize`), and its tone


class Cell:
    """One table cell, made into a Rich Text only when it is drawn (a thousand rows are built,
    a screenful is drawn), in the palette of the theme in use then (see `look`)."""

    __slots__ = ("bold", "justify", "parts", "plain", "tone")

    def __init__(self, *parts: Part, tone: Tone | None = None, bold: bool = False,
                 justify: JustifyMethod | None = None) -> None:
        self.parts, self.tone, self.bold, self.justify = parts, tone, bold, justify
        self.plain = "".join(text for text, _ in parts)

    @classmethod
    def of(cls, look: Look, text: str) -> Cell:
        return cls((text, None), tone=look.tone, bold=look.bold)

    def __rich__(self) -> Text:
        text = Text(style=style(self.tone, bold=self.bold) if self.tone else "", justify=self.justify, no_wrap=True)
        for part, tone in self.parts:
            text.append(part, style(tone) if tone else None)
        return text

    def _key(self) -> tuple:
        return self.parts, self.tone, self.bold, self.justify

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cell) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Cell({self.plain!r})"


@dataclass(frozen=True)
class ClientRow:
    slug: str
    name: str  # plain, for filtering and sorting
    severity: int
    lag: int | None
    job_time: float | None  # when its shown job last changed (epoch seconds), for "last job" order
    cells: tuple[Cell, ...]

    def matches(self, needle: str) -> bool:
        return not needle or needle in self.name.casefold() or needle in self.slug

    def sort_key(self, order: str) -> tuple:
        name = (self.name.casefold(), self.slug)
        if order == "name":
            return name
        if order == "lag":  # never-synced and broken ones count as infinitely behind
            return (-(self.lag if self.lag is not None else math.inf), *name)
        if order == "last job":
            return (self.job_time is None, -(self.job_time or 0.0), *name)
        return (self.severity, -(self.lag if self.lag is not None else 0), *name)


_NONE_CELL = Cell((_NONE, None), tone=Tone.MUTED)
_NONE_LAG_CELL = Cell((_NONE, None), tone=Tone.MUTED, justify="right")


def _job_cell(job: Job | None, now: datetime) -> tuple[Cell, float | None]:
    if job is None:
        return _NONE_CELL, None
    if job.status == "started":
        moment, age = job.started_at, f"{timefmt.duration(job.elapsed(now))}"
    elif job.status == "queued":  # ages in minutes: a table that changes every second redraws every second
        moment, age = job.queued_at, timefmt.ago(job.queued_at, now)
    else:
        moment, age = job.finished_at or job.queued_at, timefmt.ago(job.finished_at or job.queued_at, now)
    stamp = timefmt.parse(moment)
    status = job_status(job.status)
    return (Cell((job.command, None), (" ", None), (job.status, status.tone), (f" {age}", Tone.MUTED)),
            stamp.timestamp() if stamp else None)


def _lock_cell(client: Client) -> Cell:
    lock = client.lock
    if lock is None:
        return _NONE_CELL
    pid = f" {lock.pid}" if lock.pid else " ?"
    age = f" {timefmt.duration(lock.age_seconds)}" if lock.age_seconds is not None else ""
    state = LOCK_HELD if lock.alive else LOCK_STALE
    return Cell(("held" if lock.alive else "stale", state.tone), (pid, None), (age, Tone.MUTED))


def build_rows(clients: Iterable[Client], latest: Mapping[str, Job], active: Mapping[str, Job],
               now: datetime) -> list[ClientRow]:
    """The table's rows, from the workspace and the store. Pure; safe in any thread."""
    rows = []
    shared: dict[tuple, Cell] = {}  # most watermark, lag and freshness cells repeat: one object each

    def shared_cell(*parts: Part, look: Look | None = None, justify: JustifyMethod | None = None) -> Cell:
        if (found := shared.get(key := (parts, look, justify))) is None:
            found = shared[key] = Cell(*parts, tone=look.tone if look else None, bold=bool(look and look.bold),
                                       justify=justify)
        return found

    for client in clients:
        fresh = client.freshness
        watermark = client.watermarks.get("google_ads")
        lag = fresh.lag_days
        job = active.get(client.slug) or latest.get(client.slug)
        job_cell, job_time = _job_cell(job, now)
        cells = (
            Cell((cell(client.name, 60).plain, None)),
            Cell((client.slug, None)),  # slugs are safe by construction (workspace)
            shared_cell((watermark.isoformat(), None)) if watermark else _NONE_CELL,
            shared_cell((f"{lag}d", None), justify="right") if lag is not None else _NONE_LAG_CELL,
            shared_cell((f"{fresh.symbol} {fresh.kind}", None), look=FRESHNESS[fresh.kind]),
            job_cell,
            _lock_cell(client),
        )
        rows.append(ClientRow(client.slug, client.name, fresh.severity, lag, job_time, cells))
    return rows


class ClientsTable(DataTable):
    """A DataTable of clients that changes only what changed."""

    DEFAULT_CSS = """
    ClientsTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, id=id)
        self._all: list[ClientRow] = []  # every client, filtered or not
        self._rows: dict[str, ClientRow] = {}  # the rows shown
        self.order = ORDERS[0]
        self.needle = ""

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # DataTable measures every cell of every new row, to widen auto-width columns: with
        # fixed widths, one-line rows and no labels that can change nothing, and for 1,000
        # rows it is most of the time to the first frame. Other rows still get measured.
        if not any(column.auto_width for column in self.columns.values()):
            rows = self.rows
            new_rows = [key for key in new_rows
                        if (row := rows.get(key)) is not None and (row.auto_height or row.label is not None)]
        super()._update_dimensions(new_rows)

    @property
    def selected_slug(self) -> str | None:
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except CellDoesNotExist:
            return None
        return row_key.value

    @property
    def shown_slugs(self) -> list[str]:
        return [str(row.key.value) for row in self.ordered_rows]

    def select_slug(self, slug: str, *, scroll: bool = True) -> bool:
        try:
            index = self.get_row_index(slug)
        except RowDoesNotExist:
            return False
        if index != self.cursor_row:
            self.move_cursor(row=index, scroll=scroll)
        return True

    def show(self, rows: list[ClientRow] | None = None, *, order: str | None = None,
             needle: str | None = None) -> None:
        """Make the table show `rows` (default: the last ones given), filtered and ordered,
        keeping the cursor on its client."""
        if rows is not None:
            self._all = rows
        if order is not None:
            self.order = order
        if needle is not None:
            self.needle = needle.strip().casefold()
        wanted = {r.slug: r for r in self._all if r.matches(self.needle)}
        selected = self.selected_slug
        keys = [key for key, _, _ in COLUMNS]
        with self.app.batch_update():
            for slug in self._rows.keys() - wanted.keys():
                self.remove_row(slug)
            for slug, row in wanted.items():
                old = self._rows.get(slug)
                if old is None:
                    self.add_row(*row.cells, key=slug)
                elif old.cells != row.cells:
                    for key, before, after in zip(keys, old.cells, row.cells, strict=True):
                        if before != after:
                            self.update_cell(slug, key, after, update_width=False)
            self._rows = wanted
            self._sort()
            if selected is not None and not self.select_slug(selected):
                self.move_cursor(row=min(self.cursor_row, max(self.row_count - 1, 0)))

    def _sort(self) -> None:
        order = self.order
        ranked = sorted(self._rows.values(), key=lambda r: r.sort_key(order))
        if [r.slug for r in ranked] == self.shown_slugs:
            return
        rank = {r.slug: i for i, r in enumerate(ranked)}
        self.sort("slug", key=lambda slug_cell: rank[slug_cell.plain])
