"""What every adsdash screen shares.

- A typed handle on the app (`self.adsdash`) and its engine (`self.engine`).
- One read-only gate: a screen names its actions that change something in `MUTATING`;
  in read-only mode they are hidden from the footer and the palette, and their keys say
  why instead of doing nothing. `action_state` greys an action that makes no sense now.
- One way to read the store and the files: `read(fetch, show)` runs `fetch` in a thread
  (a slow disk must not freeze the screen) and hands its result to `show` on the UI
  thread, or its error to `read_failed`. A newer read of a group replaces an older one.
  (The live log pane streams in a thread of its own: it follows a job, it does not read.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, ClassVar, TypeVar, cast

from textual.events import Key
from textual.screen import ModalScreen, Screen
from textual.worker import get_current_worker

from adsdash.sanitize import one_line

if TYPE_CHECKING:
    from textual.widgets import DataTable

    from adsdash.app import AdsdashApp
    from adsdash.engine import Engine

log = logging.getLogger(__name__)
T = TypeVar("T")
READ_ONLY = "read-only: actions are disabled"


class AdsdashScreen(Screen[None]):
    MUTATING: ClassVar[frozenset[str]] = frozenset()  # actions refused in read-only mode

    @property
    def adsdash(self) -> AdsdashApp:
        return cast("AdsdashApp", self.app)

    @property
    def engine(self) -> Engine:
        return self.adsdash.engine

    # -- the read-only gate ------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.MUTATING and self.adsdash.read_only:
            return False  # hidden: there is nothing to offer
        return self.action_state(action)

    def action_state(self, action: str) -> bool | None:
        """True: offered; None: shown greyed (makes no sense now). Screens override."""
        return True

    def writable(self) -> bool:
        """For an action reached another way (the palette, a dialog's answer)."""
        if self.adsdash.read_only:
            self.adsdash.refuse(READ_ONLY)
            return False
        return True

    def on_key(self, event: Key) -> None:
        """A hidden action's key says why it does nothing."""
        if self.adsdash.read_only and self._mutating_key(event.key):
            event.stop()
            self.adsdash.refuse(READ_ONLY)

    def _mutating_key(self, key: str) -> bool:
        keymap = self.engine.settings.keymap
        for binding in self.BINDINGS:
            if isinstance(binding, tuple) or binding.action not in self.MUTATING:
                continue
            keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
            if key in (k.strip() for k in keys.split(",")):
                return True
        return False

    # -- reading off the UI thread ---------------------------------------------

    def start_listing(self, table: DataTable, columns: Iterable[tuple[str, str, int | None]],
                      *, every: float) -> None:
        """A listing screen's start: its table's columns (key, label, width) and the focus, then a
        read now and one every `every` seconds (`reload`)."""
        for key, label, width in columns:
            table.add_column(label, key=key, width=width)
        table.focus()
        self.reload()
        self.set_interval(every, self.reload)

    def reload(self) -> None:
        """Read again what the screen shows (screens that list something override it)."""

    def repair_preview(self, slug: str) -> Callable[[str, str], list[str]]:
        """For the repair dialog: what a repair of the client would touch (Engine.repair_preview)."""
        return lambda start, end: self.engine.repair_preview(slug, start, end).lines()

    def read(self, fetch: Callable[[], T], show: Callable[[T], None], *, group: str) -> None:
        self.run_worker(lambda: self._read(fetch, show), thread=True, exclusive=True, group=group,
                        exit_on_error=False)

    def _read(self, fetch: Callable[[], T], show: Callable[[T], None]) -> None:
        worker = get_current_worker()
        try:
            result = fetch()
        except Exception as exc:  # noqa: BLE001 - a locked store, an odd folder: shown by read_failed
            log.warning("%s: read failed: %s: %s", type(self).__name__, type(exc).__name__, exc)
            if not worker.is_cancelled:
                self.app.call_from_thread(self._deliver, self.read_failed, exc)
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._deliver, show, result)

    def _deliver(self, show: Callable[[T], None], value: T) -> None:
        if self.is_attached and self.is_mounted:  # a read landing as the screen goes has nowhere to go
            show(value)

    def read_failed(self, error: Exception) -> None:
        self.notify(one_line(f"cannot read: {error}"), severity="error", markup=False)


class Dialog(ModalScreen[T]):
    """A modal dialog: a titled box in the middle (styles in screens.tcss, class `dialog`)."""

    CSS_PATH = "screens.tcss"

    def __init__(self) -> None:
        super().__init__(classes="dialog")
