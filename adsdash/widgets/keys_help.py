"""`?`: every key that works on the current screen, with the binding id a keymap can override."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static

from adsdash.look import Tone, style

# Textual's own bindings that come without a description: what each does, in words.
UNDESCRIBED_ACTIONS = {"help_quit": "Say how to quit"}


def describe_action(action: str) -> str:
    """Words for a binding that has no description: never the action's internal name as it is."""
    name = action.partition("(")[0].rpartition(".")[2]  # "app.help_quit", "focus('x')" too
    return UNDESCRIBED_ACTIONS.get(name) or name.replace("_", " ").capitalize()


def class_bindings(cls: type, keymap: Mapping[str, str]) -> Iterator[tuple[str, Binding]]:
    """(key, binding) of a class and the classes it inherits from (Textual merges them), the
    class's own first; a key a subclass binds again hides its base class's binding of it."""
    seen: set[str] = set()
    for klass in cls.__mro__:
        for binding in Binding.make_bindings(klass.__dict__.get("BINDINGS", [])):
            keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
            for key in (k.strip() for k in keys.split(",")):
                if key not in seen:
                    seen.add(key)
                    yield key, binding


def key_rows(screen: Screen, keymap: Mapping[str, str]) -> list[tuple[Text, ...]]:
    """(key, binding id, what it does, where, state) for every binding from the focused widget
    up to the app, `keymap` (binding id -> keys) applied, with what Textual's `active_bindings`
    says of each key: a key a focused widget shadows (a table's enter over the screen's) is
    listed too, marked as such. Public data only: the BINDINGS of each class and its bases."""
    app = screen.app
    muted = style(Tone.MUTED)
    active = screen.active_bindings
    start = screen.focused or screen
    rows: list[tuple[Text, ...]] = []
    for node in start.ancestors_with_self:
        for key, binding in class_bindings(type(node), keymap):
            winner = active.get(key)
            if winner is None:
                state = "hidden here"
            elif winner.node is not node or winner.binding.action != binding.action:
                state = f"{type(winner.node).__name__} takes it"
            else:
                state = "" if winner.enabled else "not now"
            shown = Binding(key, binding.action, binding.description, show=binding.show, key_display=None)
            rows.append((
                Text(app.get_key_display(shown), style="bold"),
                Text(binding.id or "—", style="" if binding.id else muted),  # beside its key: never cut off
                Text((binding.description or describe_action(binding.action))
                     + (f": {binding.tooltip}" if binding.tooltip else "")),  # e.g. the filter's syntax
                Text(type(node).__name__, style=muted),
                Text(state, style=muted),
            ))
    rows.sort(key=lambda r: (r[1].plain == "—", r[1].plain, r[0].plain))
    return rows


class KeysScreen(ModalScreen[None]):
    CSS_PATH = "../screens/screens.tcss"
    BINDINGS = [
        Binding("escape", "dismiss_keys", "Close", id="keys.close"),
        Binding("question_mark", "dismiss_keys", "Close", show=False),
        Binding("q", "dismiss_keys", "Close", show=False),
    ]

    def __init__(self, under: Screen, keymap: Mapping[str, str]) -> None:
        super().__init__(id="keys")
        self.rows = key_rows(under, keymap)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Keys on this screen. Override one in the config file:\n"
                         "[keymap]\n\"clients.validate\" = \"V\"", id="keys-note", markup=False)
            yield DataTable(cursor_type="row", id="keys-table")

    def on_mount(self) -> None:
        self.query_one(Vertical).border_title = "Keys"
        table = self.query_one(DataTable)
        table.add_columns("Key", "Binding id", "Does", "Where", "")
        table.add_rows(self.rows)
        table.focus()

    def action_dismiss_keys(self) -> None:
        self.dismiss(None)
