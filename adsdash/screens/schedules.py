"""The schedules screen: each schedule's next run, last outcomes and state; `p` pauses, `r` resumes.

The same facts as `adsdash schedules` (schedule_view.py), read off the UI thread every
second when something changed: the ledger (a run decided, a schedule paused), the settings
file (its schedules are read again when it changes), the ads_sync folder (clients, zones)
or the minute (next runs). Rows are keyed by schedule name and updated in place.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static
from textual.widgets.data_table import RowDoesNotExist

from adsdash import schedule_view as view
from adsdash.look import Look, Tone, look_style
from adsdash.sanitize import cell, one_line, safe_text
from adsdash.schedule_ledger import Ledger
from adsdash.schedules import ScheduleBook
from adsdash.screens.base import AdsdashScreen

# Widths for 160 columns; the last outcomes take what is left (None: as wide as they are).
COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("state", "State", 8), ("name", "Schedule", 14), ("command", "Command", 16), ("when", "When", 15),
    ("clients", "Clients", 30), ("next", "Next run (client time)", 40), ("here", "Next run (here)", 20),
    ("outcomes", "Last outcomes", None))
PAUSED_LOOK = Look("‖", Tone.WARN)
ACTIVE_LOOK = Look("▸", Tone.GOOD)


def row_cells(facts: view.Facts) -> tuple[Text, ...]:
    s = facts.schedule
    look = PAUSED_LOOK if facts.paused else ACTIVE_LOOK
    command = " ".join([s.command, *s.params.values()])
    client_time, here = view.next_texts(facts)
    return (Text(f"{look.symbol} {view.state_text(facts)}", style=look_style(look), no_wrap=True), cell(s.name),
            cell(command), cell(s.when), cell(f"{s.clients.text} ({facts.clients})", 60), cell(client_time, 60),
            cell(here), cell(view.outcomes_text(facts.outcomes), 80))


class SchedulesScreen(AdsdashScreen):
    CSS_PATH = "screens.tcss"
    MUTATING = frozenset({"pause", "resume"})
    BINDINGS = [
        Binding("escape", "back", "Back", id="schedules.back"),
        Binding("p", "pause", "Pause", id="schedules.pause"),
        Binding("r", "resume", "Resume", id="schedules.resume"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.book: ScheduleBook | None = None  # made at mount, from the app's settings
        self.paused: dict[str, bool] = {}  # schedule name -> paused, as shown
        self._seen: tuple = ()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(view.NO_ZONE_NOTE), id="schedules-note")
        yield DataTable(id="schedules", cursor_type="row", zebra_stripes=True)
        yield Static("", id="schedule-refusals")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Schedules"
        settings = self.engine.settings
        self.book = ScheduleBook(settings.config_file, settings.schedules, settings.schedule_refusals)
        self.start_listing(self.table, COLUMNS, every=1.0)

    @property
    def table(self) -> DataTable:
        return self.query_one("#schedules", DataTable)

    # -- reading ------------------------------------------------------------

    def reload(self, *, force: bool = False) -> None:
        engine, book, seen = self.engine, self.book, () if force else self._seen
        clock = self.adsdash.clock  # taken here: the thread may outlive the app
        assert book is not None

        def fetch() -> tuple[tuple, list[view.Facts], tuple[str, ...]] | None:
            now: datetime = clock()
            stamp = (Ledger(engine.store).fingerprint(), book.current(), engine.workspace.stamp(),
                     now.replace(second=0, microsecond=0))
            if stamp == seen:
                return None
            return (stamp, *view.overview(engine, book, now))

        self.read(fetch, self.show, group="schedules")

    def show(self, loaded: tuple[tuple, list[view.Facts], tuple[str, ...]] | None) -> None:
        if loaded is None:
            return
        self._seen, facts, refusals = loaded
        table = self.table
        names = [f.schedule.name for f in facts]
        with self.app.batch_update():
            for name in set(self.paused) - set(names):
                with suppress(RowDoesNotExist):
                    table.remove_row(name)
            for f in facts:
                cells = row_cells(f)
                if f.schedule.name not in self.paused:
                    table.add_row(*cells, key=f.schedule.name)
                    continue
                for (key, _label, _width), value in zip(COLUMNS, cells, strict=True):
                    table.update_cell(f.schedule.name, key, value, update_width=False)
        self.paused = {f.schedule.name: f.paused for f in facts}
        said = [f"refused: {line}" for line in refusals]
        if not facts:
            said.insert(0, view.none_text(self.engine.settings.config_file, bool(refusals)))
        lines = Text("\n").join(safe_text(line) for line in said)
        self.query_one("#schedule-refusals", Static).update(lines)
        self.refresh_bindings()

    def read_failed(self, error: Exception) -> None:
        message = f"schedules: cannot read or write the job store: {error}"
        self.query_one("#schedule-refusals", Static).update(safe_text(message))

    # -- pausing ------------------------------------------------------------

    @property
    def selected(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        try:
            return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        except RowDoesNotExist:
            return None

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self) -> None:
        self.refresh_bindings()

    def action_state(self, action: str) -> bool | None:
        if action in self.MUTATING:
            tables = self.query("#schedules")  # asked before compose, too
            name = self.selected if tables else None
            if name is None or self.paused.get(name) == (action == "pause"):
                return None
        return True

    def action_pause(self) -> None:
        self._set_paused(True)

    def action_resume(self) -> None:
        self._set_paused(False)

    def _set_paused(self, paused: bool) -> None:
        name = self.selected
        if name is None or not self.writable():
            return
        store, now = self.engine.store, self.adsdash.clock()

        def write() -> str:
            Ledger(store).set_paused([name], paused, now, origin="app")
            return name

        def done(changed: str) -> None:
            self.notify(one_line(f"schedule {changed} {'paused' if paused else 'resumed'}"), markup=False)
            self.reload(force=True)

        self.read(write, done, group="schedules-pause")

    def action_back(self) -> None:
        self.dismiss()
