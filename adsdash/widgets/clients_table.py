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
from functools import cached_property, lru_cache

from rich.cells import cell_len
from rich.console import JustifyMethod
from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist, RowKey

from adsdash import client_filter, timefmt
from adsdash.client_filter import ClientFilter
from adsdash.look import FRESHNESS, LOCK_HELD, LOCK_STALE, Look, Tone, job_status, style
from adsdash.sanitize import cell
from adsdash.store import Job
from adsdash.widgets.column_fit import Fit, fit_columns, widest
from adsdash.workspace import Client

# key, label, the width it needs (the name's and slug's: their widest content, WIDEST_CONTENT);
# the table fits them to its width (NARROWEST, column_fit)
COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("name", "Client", 36),
    ("slug", "Slug", 28),
    ("watermark", "Watermark", 10),
    ("lag", "Lag", 4),
    ("gaps", "Gaps", 4),  # gap days in the last 90 up to the watermark (coverage.py); blank: none
    ("fresh", "Freshness", 9),
    ("job", "Last job", 30),
    ("lock", "Lock pid age", 22),
)
COLUMN_INDEX = {key: i for i, (key, _, _) in enumerate(COLUMNS)}
ORDERS = ("worst first", "name", "lag", "last job", "gaps")
# key: (narrowest width still of use, rank: on a narrow terminal the highest gives way first).
# A column's most is its width above, or for the name and the slug their widest content.
NARROWEST: dict[str, tuple[int, int]] = {
    "name": (16, 0), "fresh": (9, 1), "lag": (4, 2), "gaps": (4, 3), "job": (18, 4), "lock": (14, 5),
    "watermark": (10, 6), "slug": (14, 7),
}
WIDEST_CONTENT = {"name": 60, "slug": 64}  # the names are cut at 60 (build_rows), slugs are 64 at most
MARK = "mark"  # the key of the narrow first column: a mark on the clients marked for a sweep

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
        text = Text(style=style(self.tone, bold=self.bold) if self.tone else "", justify=self.justify, no_wrap=True,
                    overflow="ellipsis")  # a cut cell says so
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
    kind: str = ""  # its freshness kind, for `is:` filters
    gaps: int | str | None = None  # gap days in the last 90, or why its CSV cannot be read; None: unknown

    def matches(self, found: ClientFilter, marked: bool = False) -> bool:
        return found.matches(slug=self.slug, name=self.name, kind=self.kind, marked=marked, gaps=self.gaps)

    @cached_property
    def _keys(self) -> dict[str, tuple]:
        return {}  # order -> sort_key: a row is kept across refreshes (build_rows' memo), its keys with it

    @cached_property
    def content_widths(self) -> dict[str, int]:
        """The name's and the slug's widths in terminal cells (ClientsTable._fit_content)."""
        return {key: widest([self.cells[COLUMN_INDEX[key]].plain]) for key in WIDEST_CONTENT}

    def sort_key(self, order: str) -> tuple:
        if (key := self._keys.get(order)) is None:
            key = self._keys[order] = self._sort_key(order)
        return key

    def _sort_key(self, order: str) -> tuple:
        name = (self.name.casefold(), self.slug)
        if order == "name":
            return name
        if order == "lag":  # never-synced and broken ones count as infinitely behind
            return (-(self.lag if self.lag is not None else math.inf), *name)
        if order == "last job":
            return (self.job_time is None, -(self.job_time or 0.0), *name)
        if order == "gaps":  # an unreadable CSV first, then the most gap days
            return (not isinstance(self.gaps, str), -(self.gaps if isinstance(self.gaps, int) else 0), *name)
        return (self.severity, -(self.lag if self.lag is not None else 0), *name)


_NONE_CELL = Cell((_NONE, None), tone=Tone.MUTED)
_NONE_LAG_CELL = Cell((_NONE, None), tone=Tone.MUTED, justify="right")
_MARKED_CELL = Cell(("◉", None), tone=Tone.NEW, bold=True)  # one cell wide in every terminal (not ambiguous)
_UNMARKED_CELL = Cell((" ", None))


Span = tuple[datetime | None, datetime | None]  # from when until when (exclusive) a cell reads the same
_ALWAYS: Span = (None, None)


def _job_cell(job: Job | None, now: datetime) -> tuple[Cell, float | None, Span]:
    """The job's cell, when its job last changed (epoch seconds), and while the cell reads the same."""
    if job is None:
        return _NONE_CELL, None, _ALWAYS
    span: Span = (now, now)  # a running job's elapsed time: made again every time
    if job.status == "started":
        moment, age = job.started_at, f"{timefmt.duration(job.elapsed(now))}"
    else:  # ages in minutes: a table that changes every second redraws every second
        moment = job.queued_at if job.status == "queued" else job.finished_at or job.queued_at
        age = timefmt.ago(moment, now)
        at = timefmt.parse(moment)
        span = timefmt.ago_span(at, now) if at is not None else _ALWAYS
    stamp = timefmt.parse(moment)
    status = job_status(job.status)
    return (Cell((job.command, None), (" ", None), (job.status, status.tone), (f" {age}", Tone.MUTED)),
            stamp.timestamp() if stamp else None, span)


_NO_GAPS_CELL = Cell(("", None))
_GAPS_UNREADABLE_CELL = Cell(("!", None), tone=Tone.BAD, bold=True, justify="right")  # why: client detail


@lru_cache(maxsize=512)
def _gaps_cell(gap: int | str | None) -> Cell:
    if isinstance(gap, str):
        return _GAPS_UNREADABLE_CELL
    return Cell((f"{gap}d", None), tone=Tone.WARN, justify="right") if gap else _NO_GAPS_CELL


def _holds(span: Span, now: datetime) -> bool:
    return (span[0] is None or span[0] <= now) and (span[1] is None or now < span[1])


def _lock_cell(client: Client) -> Cell:
    lock = client.lock
    if lock is None:
        return _NONE_CELL
    pid = f" {lock.pid}" if lock.pid else " ?"
    age = f" {timefmt.duration(lock.age_seconds)}" if lock.age_seconds is not None else ""
    state = LOCK_HELD if lock.alive else LOCK_STALE
    return Cell(("held" if lock.alive else "stale", state.tone), (pid, None), (age, Tone.MUTED))


@lru_cache(maxsize=4096)
def _clean_name(name: str) -> str:
    """A client's name made safe for a cell: the same few names at every refresh, cleaned once."""
    return cell(name, 60).plain


# slug -> the client and job a row was made of, while its job cell reads the same, and the row (see build_rows)
RowMemo = dict[str, tuple[Client, Job | None, Span, "ClientRow"]]


def build_rows(clients: Iterable[Client], latest: Mapping[str, Job], active: Mapping[str, Job],
               now: datetime, memo: RowMemo | None = None,
               gaps: Mapping[str, int | str | None] | None = None) -> list[ClientRow]:
    """The table's rows, from the workspace, the store and the gap days counted (coverage.py:
    slug -> days, or why its CSV cannot be read). Pure; safe in any thread. `memo`: the row made
    last time is used again when its client, job and gaps are the same and its job's age still
    reads the same (the store gives the same Job for an unchanged row), so a refresh of 1,000 rows
    makes the few changed."""
    gaps = gaps or {}
    rows = []
    shared: dict[tuple, Cell] = {}  # most watermark, lag and freshness cells repeat: one object each

    def shared_cell(*parts: Part, look: Look | None = None, justify: JustifyMethod | None = None) -> Cell:
        if (found := shared.get(key := (parts, look, justify))) is None:
            found = shared[key] = Cell(*parts, tone=look.tone if look else None, bold=bool(look and look.bold),
                                       justify=justify)
        return found

    for client in clients:
        slug = client.slug
        job = active.get(slug) or latest.get(slug)
        gap = gaps.get(slug)
        # The same client and job (the workspace and the store give the same objects for unchanged
        # ones): the row is the same while the job's age reads the same. (Looked at first: it is
        # what most of a thousand rows are.)
        if memo is not None and (made := memo.get(slug)) is not None and made[1] is job \
                and (made[0] is client or made[0] == client) and made[3].gaps == gap and _holds(made[2], now):
            rows.append(made[3])
            continue
        fresh = client.freshness
        watermark = client.watermarks.get("google_ads")
        lag = fresh.lag_days
        job_cell, job_time, span = _job_cell(job, now)
        cells = (
            Cell((_clean_name(client.name), None)),
            Cell((client.slug, None)),  # slugs are safe by construction (workspace)
            shared_cell((watermark.isoformat(), None)) if watermark else _NONE_CELL,
            shared_cell((f"{lag}d", None), justify="right") if lag is not None else _NONE_LAG_CELL,
            _gaps_cell(gap),
            shared_cell((f"{fresh.symbol} {fresh.kind}", None), look=FRESHNESS[fresh.kind]),
            job_cell,
            _lock_cell(client),
        )
        row = ClientRow(client.slug, client.name, fresh.severity, lag, job_time, cells, fresh.kind.value, gap)
        if memo is not None:
            memo[client.slug] = (client, job, span, row)
        rows.append(row)
    return rows


class ClientsTable(DataTable):
    """A DataTable of clients that changes only what changed."""

    DEFAULT_CSS = """
    ClientsTable { height: 1fr; }
    """
    BINDINGS = [  # DataTable's home/end scroll sideways; here they go to the first/last client
        Binding("home", "scroll_top", "First row", show=False, id="table.first"),
        Binding("end", "scroll_bottom", "Last row", show=False, id="table.last"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, id=id)
        self._all: list[ClientRow] = []  # every client, filtered or not
        self._by_slug: dict[str, ClientRow] = {}  # the same, by slug
        self._rows: dict[str, ClientRow] = {}  # the rows shown
        self.order = ORDERS[0]
        self.needle = ""
        self.filter = ClientFilter()  # the needle, parsed (client_filter)
        self.marks: set[str] = set()  # slugs marked for a sweep, kept across refreshes and sorts
        self._marks_shown: set[str] = set()  # rows whose mark cell shows a mark
        self.order_waiting = False  # rows held in place while a new order waits (show(hold=True))
        self.widths: dict[str, int] = {}  # the columns shown and their widths (column_fit)
        self._content: dict[str, int] = {}  # the widest name and slug of the rows given

    def on_mount(self) -> None:
        self._lay_out()

    def _add_columns(self) -> None:
        self.add_column(" ", key=MARK, width=1)
        for key, label, _ in COLUMNS:
            if key in self.widths:
                self.add_column(label, key=key, width=self.widths[key])

    # -- the columns fit the width: fewer on a narrow terminal, wider on a wide one ----------

    def on_resize(self) -> None:
        self._lay_out()

    def _lay_out(self) -> None:
        """Fit the columns to the table's width (before the first layout: the terminal's); a new
        fit makes the columns again."""
        room = (self.size.width or self.app.size.width) - self.styles.scrollbar_size_vertical \
            - (1 + 2 * self.cell_padding)  # the mark column
        fits = [Fit(key, NARROWEST[key][0],
                    max(cell_len(label), self._content.get(key, 0) if key in WIDEST_CONTENT else width or 0),
                    NARROWEST[key][1]) for key, label, width in COLUMNS]
        widths = fit_columns(fits, room, gap=2 * self.cell_padding)
        if widths != self.widths or not self.columns:
            self.widths = widths
            self._rebuild()

    def _fit_content(self, rows: list[ClientRow]) -> None:
        """The name and slug columns are as wide as their widest content, where there is room."""
        content = {key: min(cap, max((row.content_widths[key] for row in rows), default=0))
                   for key, cap in WIDEST_CONTENT.items()}
        if content != self._content:
            self._content = content
            self._lay_out()

    def _rebuild(self) -> None:
        """The columns again at `widths`, the rows in the order shown, the cursor on its client."""
        order, selected = self.shown_slugs, self.selected_slug
        with self.app.batch_update():
            self.clear(columns=True)
            self._add_columns()
            for slug in order:
                self.add_row(_UNMARKED_CELL, *self._shown_cells(self._rows[slug]), key=slug)
            self._marks_shown = set()
            self._show_marks()
            if selected is not None:
                self.select_slug(selected)

    def _shown_cells(self, row: ClientRow) -> tuple[Cell, ...]:
        widths = self.widths
        return tuple(value for (key, _, _), value in zip(COLUMNS, row.cells, strict=True) if key in widths)

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
             needle: str | None = None, hold: bool = False) -> None:
        """Make the table show `rows` (default: the last ones given), filtered and ordered,
        keeping the cursor on its client. `hold`: the rows keep their places (new ones come
        last) and a new order waits (`order_waiting`) for a show without it; a new `order` or
        `needle` sorts anyway. New rows for the same clients, in the same order and filter,
        cost only the rows that changed (a refresh of 1,000 clients where one job moved)."""
        changed = self._changed(rows) if rows is not None and order is None and needle is None else None
        if rows is not None:
            if changed is None or any(slug not in self._by_slug or self._by_slug[slug].content_widths
                                      != row.content_widths for slug, row in changed.items()):
                self._fit_content(rows)
            self._all, self._by_slug = rows, {row.slug: row for row in rows}
            self.marks.intersection_update(self._by_slug)  # a client gone takes its mark along
        if order is not None:
            self.order = order
        if needle is not None:
            self.needle = needle.strip()
            self.filter = client_filter.parse(needle)
        marks = self.marks
        if changed is None:
            wanted = {r.slug: r for r in self._all if r.matches(self.filter, r.slug in marks)}
        else:
            wanted = dict(self._rows)
            for slug, row in changed.items():
                if row.matches(self.filter, slug in marks):
                    wanted[slug] = row
                else:
                    wanted.pop(slug, None)
        selected = self.selected_slug
        keys = [key for key, _, _ in COLUMNS]
        order_moved = changed is None
        with self.app.batch_update():
            for slug in (self._rows.keys() - wanted.keys() if changed is None else
                         [slug for slug in changed if slug in self._rows and slug not in wanted]):
                self.remove_row(slug)
                self._marks_shown.discard(slug)
                order_moved = True
            for slug in wanted if changed is None else [slug for slug in changed if slug in wanted]:
                row, old = wanted[slug], self._rows.get(slug)
                if old is None:
                    self.add_row(_UNMARKED_CELL, *self._shown_cells(row), key=slug)
                    order_moved = True
                elif old is not row:
                    if old.cells != row.cells:
                        for key, before, after in zip(keys, old.cells, row.cells, strict=True):
                            if before != after and key in self.widths:
                                self.update_cell(slug, key, after, update_width=False)
                    order_moved = order_moved or old.sort_key(self.order) != row.sort_key(self.order)
            self._rows = wanted
            self._show_marks()
            hold = hold and order is None and needle is None
            if order_moved or (self.order_waiting and not hold):  # else the ranking is as it was
                self._sort(hold=hold)
            if selected is not None and not self.select_slug(selected):
                self.move_cursor(row=min(self.cursor_row, max(self.row_count - 1, 0)))

    def _changed(self, rows: list[ClientRow]) -> dict[str, ClientRow] | None:
        """slug -> its new row for the clients whose row is not the one given last; None when
        the clients are not the same ones (every row is looked at then)."""
        by_slug = self._by_slug
        changed = {row.slug: row for row in rows if by_slug.get(row.slug) is not row}
        if len(rows) != len(by_slug) or not all(slug in by_slug for slug in changed):
            return None
        return changed

    def _show_marks(self) -> None:
        """Draw the mark column where a mark came or went."""
        marked = self.marks & self._rows.keys()
        for slug in marked ^ self._marks_shown:
            self.update_cell(slug, MARK, _MARKED_CELL if slug in marked else _UNMARKED_CELL, update_width=False)
        self._marks_shown = marked

    # -- marks: slugs, so they outlive refreshes, sorts and filters ---------------

    def toggle_mark(self, slug: str) -> None:
        self.marks.symmetric_difference_update({slug})
        self.show(hold=True)  # (an `is:marked` filter may drop the row)

    def mark_shown(self) -> bool:
        """Mark every client shown, or unmark them all when they all are; True: marked."""
        shown = set(self._rows)
        marking = not shown <= self.marks
        if marking:
            self.marks |= shown
        else:
            self.marks -= shown
        self.show(hold=True)
        return marking

    def clear_marks(self) -> None:
        self.marks.clear()
        self.show(hold=True)

    def _sort(self, *, hold: bool = False) -> None:
        order = self.order
        ranked = sorted(self._rows.values(), key=lambda r: r.sort_key(order))
        self.order_waiting = [r.slug for r in ranked] != self.shown_slugs
        if hold or not self.order_waiting:
            return
        self.order_waiting = False
        # By the name column (the one always shown), each cell known by identity: names repeat.
        rank = {id(self.get_cell(r.slug, "name")): i for i, r in enumerate(ranked)}
        self.sort("name", key=lambda name_cell: rank[id(name_cell)])
