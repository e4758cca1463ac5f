"""The audit screen: who changed what, when, from where and through what, newest first.

The same rows as `adsdash audit` (adsdash/audit.py). Filtered by action (a Select, as the jobs
screen's) and by words (`/`): a row shows when every word appears in it (user, address, origin,
action, target, outcome, reason, detail), case-insensitive. Read off the UI thread every second,
again only when a row was added or a filter changed. Every value is outside text: cells are
plain Text, never markup.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

from adsdash import audit, timefmt
from adsdash.look import Tone, style
from adsdash.sanitize import cell, safe_text
from adsdash.screens.base import AdsdashScreen

LIMIT = 1000  # rows read at most; `adsdash audit --limit` reads further back
COLUMNS = (("when", "When", 19), ("user", "User", 12), ("from", "From", 15), ("via", "Via", 18),
           ("action", "Action", 12), ("target", "Target", 36), ("outcome", "Outcome", 24), ("detail", "Detail", None))


def row_text(entry: audit.Entry) -> str:
    """Everything a row shows, lower case: what the filter's words are looked for in."""
    return " ".join(str(part) for part in (entry.at, entry.user, entry.address, entry.origin, entry.action,
                                           entry.target, entry.outcome, entry.reason, audit.describe(entry.detail))
                    if part).lower()


def matches(entry: audit.Entry, words: list[str]) -> bool:
    text = row_text(entry)
    return all(word in text for word in words)


def row_cells(entry: audit.Entry) -> tuple[Text, ...]:
    outcome = cell(entry.outcome + (f": {entry.reason}" if entry.reason else ""), 200)
    if entry.outcome != audit.OK:
        outcome.stylize(style(Tone.WARN))
    return (cell(timefmt.local(entry.at)), cell(entry.user or "?"), cell(entry.address or "local"),
            cell(entry.origin or "—"), cell(entry.action), cell(entry.target, 200), outcome,
            cell(audit.describe(entry.detail), 200))


class AuditScreen(AdsdashScreen):
    CSS_PATH = "screens.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", id="audit.back"),
        Binding("slash", "filter", "Filter", id="audit.filter"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.chosen_action: str | None = None
        self.words: list[str] = []
        self._seen: tuple = ()  # (newest id, action filter, words) last shown
        self.shown: list[audit.Entry] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filters"):
            yield Select([(Text("all actions"), ""), *((Text(a), a) for a in audit.ACTIONS)],
                         allow_blank=False, value="", id="action-filter", compact=True)
            yield Input(placeholder="/ filter: words in any column (user, client, job, schedule…)", id="filter",
                        compact=True)
            yield Static("", id="summary")
        yield DataTable(id="audit", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Audit"
        self.start_listing(self.table, COLUMNS, every=1.0)

    @property
    def table(self) -> DataTable:
        return self.query_one("#audit", DataTable)

    # -- reading ------------------------------------------------------------

    def reload(self) -> None:
        store, action, words, seen = self.engine.store, self.chosen_action, list(self.words), self._seen

        def fetch() -> tuple[tuple, list[audit.Entry]] | None:
            stamp = (audit.newest_id(store), action, tuple(words))
            if stamp == seen:
                return None
            rows = audit.read(store, action=action, limit=LIMIT)
            return stamp, [entry for entry in rows if matches(entry, words)]

        self.read(fetch, self.show, group="audit")

    def show(self, loaded: tuple[tuple, list[audit.Entry]] | None) -> None:
        if loaded is None:
            return
        stamp, entries = loaded
        if stamp[1:] != (self.chosen_action, tuple(self.words)):
            return  # read for filters that have changed since
        self._seen, self.shown = stamp, entries
        table = self.table
        keep = table.cursor_row
        with self.app.batch_update():
            table.clear()
            for entry in entries:
                table.add_row(*row_cells(entry), key=str(entry.id))
        if entries:
            table.move_cursor(row=min(keep, len(entries) - 1))
        filters = ", ".join(f for f in (self.chosen_action, " ".join(self.words)) if f) or "no filter"
        count = f"{len(entries)} row{'s' if len(entries) != 1 else ''}"
        self.query_one("#summary", Static).update(safe_text(f"{count} · {filters} · newest first"))

    def read_failed(self, error: Exception) -> None:
        self.query_one("#summary", Static).update(safe_text(f"cannot read the audit: {error}"))

    # -- filters ------------------------------------------------------------

    @on(Select.Changed, "#action-filter")
    def _action_changed(self, event: Select.Changed) -> None:
        self.chosen_action = str(event.value) if event.value else None
        self.reload()

    @on(Input.Changed, "#filter")
    def _words_changed(self, event: Input.Changed) -> None:
        self.words = event.value.lower().split()
        self.reload()

    @on(Input.Submitted, "#filter")
    def _words_done(self) -> None:
        self.table.focus()

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_back(self) -> None:
        if self.focused is self.query_one("#filter", Input) and self.words:
            self.query_one("#filter", Input).value = ""  # escape clears the filter first
            self.table.focus()
            return
        self.dismiss()
