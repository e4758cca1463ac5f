"""The snooze dialog (clients screen, `z`): a client's alerts quiet for N hours, or until it is fresh.

Dismissed with a SnoozeChoice, or None when called off. The snooze itself is the engine side's
(notify_send.snooze_client, as `adsdash snooze` does), so the app and the shell check and
audit it alike. Outside text (the slug, an old reason) goes on screen as Text, never markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from adsdash import notify_store
from adsdash.notify_send import MAX_SNOOZE_HOURS
from adsdash.notify_store import Snooze
from adsdash.sanitize import safe_text
from adsdash.screens.base import Dialog

if TYPE_CHECKING:
    from adsdash.screens.clients import ClientsScreen

DEFAULT_HOURS = "4"


class SnoozeChoice(NamedTuple):
    clear: bool = False  # end the snooze in force
    hours: float | None = None
    until_fresh: bool = False
    reason: str | None = None


class SnoozeDialog(Dialog[SnoozeChoice | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, slug: str, *, fresh: bool, current: Snooze | None) -> None:
        super().__init__()
        self.slug = slug
        self.fresh = fresh
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(safe_text(f"Snooze the alerts of {self.slug}"), id="dialog-title")
            yield Static("Its events are still recorded; none is sent while it is snoozed.", classes="hint")
            if self.current is not None:
                said = f" ({self.current.reason})" if self.current.reason else ""
                yield Static(safe_text(f"Snoozed now {self.current.describe()}, by {self.current.by_user or '?'}"
                                       f"{said}."), id="current")
            with RadioSet(id="how"):
                yield RadioButton("for some hours", value=True, id="for-hours")
                yield RadioButton("until it is fresh" + (" (it is fresh now)" if self.fresh else ""),
                                  id="until-fresh", disabled=self.fresh)
            yield Label("Hours")
            yield Input(DEFAULT_HOURS, id="hours", type="number")
            yield Static("", id="hours-error", classes="field-error")
            yield Label("Reason (optional)")
            yield Input("", id="reason", placeholder="e.g. billing issue, client paused ads")
            with Horizontal(id="buttons"):
                yield Button("Snooze", id="ok", variant="primary")
                if self.current is not None:
                    yield Button("End the snooze", id="clear")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#hours", Input).focus()

    @property
    def until_fresh(self) -> bool:
        return self.query_one("#until-fresh", RadioButton).value

    def choice(self) -> SnoozeChoice | None:
        """What the fields say, or None (the problem shown under the hours)."""
        reason = self.query_one("#reason", Input).value.strip() or None
        if self.until_fresh:
            return SnoozeChoice(until_fresh=True, reason=reason)
        text = self.query_one("#hours", Input).value.strip()
        try:
            hours = float(text)
        except ValueError:
            hours = None
        ok = hours is not None and 0 < hours <= MAX_SNOOZE_HOURS
        self.query_one("#hours-error", Static).update(
            "" if ok else safe_text(f"hours: a number above 0 and up to {MAX_SNOOZE_HOURS}"))
        return SnoozeChoice(hours=hours, reason=reason) if ok else None

    @on(RadioSet.Changed)
    def _how(self) -> None:
        self.query_one("#hours", Input).disabled = self.until_fresh
        self.query_one("#hours-error", Static).update("")

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self._confirm()

    def _confirm(self) -> None:
        if (choice := self.choice()) is not None:
            self.dismiss(choice)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._confirm()
        elif event.button.id == "clear":
            self.dismiss(SnoozeChoice(clear=True))
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


def snooze_selected(screen: ClientsScreen) -> None:
    """The clients screen's `z`: the dialog for the client under the cursor, then the app snoozes."""
    if not (screen.writable() and (client := screen._client())):
        return
    engine = screen.engine
    try:
        current = notify_store.snoozes(engine.store, engine.clock()).get(client.slug)
    except Exception as exc:  # noqa: BLE001 - a store fault: said, nothing opened
        screen.adsdash.refuse(f"cannot read the snoozes: {exc}")
        return

    def done(choice: SnoozeChoice | None) -> None:
        if choice is not None:
            screen.adsdash.snooze(client.slug, clear=choice.clear, hours=choice.hours,
                                  until_fresh=choice.until_fresh, reason=choice.reason)

    screen.app.push_screen(SnoozeDialog(client.slug, fresh=client.freshness.kind.value == "fresh",
                                        current=current), done)
