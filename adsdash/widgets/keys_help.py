"""`?`: every key that works on the current screen, with the binding id a keymap can override."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static


def key_rows(screen: Screen) -> list[tuple[Text, ...]]:
    """(key, what it does, binding id, where, state) for every binding on the screen, keymap applied.

    Walks the whole binding chain, so a key a focused widget shadows (DataTable's enter over
    the screen's) is listed too, marked as such.
    """
    app = screen.app
    active = screen.active_bindings
    rows = []
    for node, bindings in screen._modal_binding_chain:
        for key, key_bindings in bindings.key_to_bindings.items():
            for binding in key_bindings:
                winner = active.get(key)
                if winner is None:
                    state = "disabled"
                elif winner.node is not node or winner.binding.action != binding.action:
                    state = f"{type(winner.node).__name__} takes it"
                else:
                    state = "" if winner.enabled else "disabled"
                rows.append((
                    Text(app.get_key_display(binding), style="bold"),
                    Text(binding.description or binding.action),
                    Text(binding.id or "—", style="" if binding.id else "dim"),
                    Text(type(node).__name__, style="dim"),
                    Text(state, style="red" if state else ""),
                ))
    rows.sort(key=lambda r: (r[2].plain == "—", r[2].plain, r[0].plain))
    return rows


class KeysScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    KeysScreen { align: center middle; }
    KeysScreen > Vertical { width: 100; height: 80%; border: round $primary; background: $surface; }
    KeysScreen DataTable { height: 1fr; }
    KeysScreen #keys-note { height: auto; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "dismiss_keys", "Close", id="keys.close"),
        Binding("question_mark", "dismiss_keys", "Close", show=False),
        Binding("q", "dismiss_keys", "Close", show=False),
    ]

    def __init__(self, under: Screen) -> None:
        super().__init__(id="keys")
        self._rows = key_rows(under)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Keys on this screen. Override one in the config file:\n"
                         "[keymap]\n\"clients.validate\" = \"V\"", id="keys-note", markup=False)
            yield DataTable(cursor_type="row", id="keys-table")

    def on_mount(self) -> None:
        self.query_one(Vertical).border_title = "Keys"
        table = self.query_one(DataTable)
        table.add_columns("Key", "Does", "Binding id", "Where", "")
        table.add_rows(self._rows)
        table.focus()

    def action_dismiss_keys(self) -> None:
        self.dismiss(None)
