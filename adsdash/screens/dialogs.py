"""Modal dialogs: confirm, repair dates, report scope.

Every text that may come from outside (a slug, an error message, a lock's PID line)
is put on screen as a Rich Text after sanitize.plain, never parsed as markup.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from adsdash.catalogue import DEFAULT_SCOPE, RequestError, check_scope, parse_day, scope_kinds
from adsdash.sanitize import safe_text
from adsdash.screens.base import Dialog

# The scope kinds that need a typed value, and a test that the value is of that kind
# (check_scope alone would accept "LIFETIME" typed into the quarter field).
_TYPED_KINDS = {"quarter": "-Q", "month range": ".."}


class ConfirmDialog(Dialog[bool]):
    """Yes or no. `y`/`enter` confirm, `n`/`escape` cancel."""

    BINDINGS = [
        Binding("y", "confirm", "Yes", id="dialog.confirm"),
        Binding("n,escape", "cancel", "No", id="dialog.cancel"),
    ]

    def __init__(self, title: str, body: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(safe_text(self.title_text), id="dialog-title")
            yield Static(safe_text(self.body), id="dialog-body")
            with Horizontal(id="buttons"):
                yield Button("Yes (y)", id="yes", variant="primary")
                yield Button("No (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()  # so enter confirms

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class RepairDialog(Dialog[tuple[str, str] | None]):
    """Start and end dates for a repair, checked as they are typed."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, slug: str, start: date | None, end: date | None, today: date,
                 preview: Callable[[str, str], list[str]] | None = None) -> None:
        """`preview(start, end)`: lines on what that repair would touch (Engine.repair_preview),
        shown as good dates are typed; read in a thread."""
        super().__init__()
        self.slug = slug
        self.start = start
        self.end = end
        self.today = today
        self.preview = preview

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(safe_text(f"Repair {self.slug}"), id="dialog-title")
            yield Static(safe_text(f"Re-pull a date range. Today in the client's zone is {self.today}."),
                         classes="hint")
            yield Label("Start (YYYY-MM-DD)")
            yield Input(self.start.isoformat() if self.start else "", placeholder="YYYY-MM-DD", id="start")
            yield Static("", id="start-error", classes="field-error")
            yield Label("End (YYYY-MM-DD)")
            yield Input(self.end.isoformat() if self.end else "", placeholder="YYYY-MM-DD", id="end")
            yield Static("", id="end-error", classes="field-error")
            yield Static("", id="preview", classes="hint")
            with Horizontal(id="buttons"):
                yield Button("Queue repair", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.validate()

    def validate(self) -> tuple[str, str] | None:
        """Show each field's problem under it; enable OK only when both dates are good."""
        days: dict[str, date | None] = {}
        errors: dict[str, str] = {}
        for field in ("start", "end"):
            text = self.query_one(f"#{field}", Input).value.strip()
            try:
                days[field] = parse_day(text, field, today=self.today)
            except RequestError as exc:
                days[field], errors[field] = None, str(exc)
        first, last = days["start"], days["end"]
        if first and last and first > last:
            errors["end"] = f"end {last} is before start {first}"
        for field in ("start", "end"):
            self.query_one(f"#{field}-error", Static).update(safe_text(errors.get(field, "")))
            self.query_one(f"#{field}", Input).set_class(field in errors, "-invalid")
        self.query_one("#ok", Button).disabled = bool(errors)
        if errors or first is None or last is None:
            self.query_one("#preview", Static).update("")
            return None
        if self.preview is not None and (first, last) != self._previewed:
            self._previewed = (first, last)
            self.run_worker(partial(self._read_preview, first.isoformat(), last.isoformat()), thread=True,
                            exclusive=True, group="preview", exit_on_error=False)
        return first.isoformat(), last.isoformat()

    _previewed: tuple[date, date] | None = None

    def _read_preview(self, start: str, end: str) -> None:
        assert self.preview is not None
        try:
            lines = self.preview(start, end)
        except Exception as exc:  # noqa: BLE001 - a preview that cannot be made is said, the dialog goes on
            lines = [f"no preview: {exc}"]
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_preview, lines)

    def _show_preview(self, lines: list[str]) -> None:
        if self.is_attached:
            self.query_one("#preview", Static).update(safe_text("\n".join(lines)))

    @on(Input.Changed)
    def _changed(self) -> None:
        self.validate()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        result = self.validate()
        if result is not None:
            self.dismiss(result)
        elif event.input.id == "start":
            self.query_one("#end", Input).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            result = self.validate()
            if result is not None:
                self.dismiss(result)
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class EndedList(OptionList):
    """An OptionList whose up and down stop at its ends: a key pressed once too often must not
    go round to the far end (Down past the month range landed on LIFETIME)."""

    def action_cursor_down(self) -> None:
        if self.highlighted is None or self.highlighted < self.option_count - 1:
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.highlighted is None or self.highlighted > 0:
            super().action_cursor_up()


class ReportDialog(Dialog[str | None]):
    """Pick a scope kind; the quarter and month-range kinds take a value, checked as typed."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, slug: str, today: date | None = None) -> None:
        """`today`: the client's (its last complete quarter is offered); default the local date."""
        super().__init__()
        self.slug = slug
        self.kinds = scope_kinds(today or date.today())
        # what was typed per kind, kept when switching; the quarter starts as the last complete one
        self._typed: dict[str, str] = {k.name: k.example for k in self.kinds if k.name == "quarter"}

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(safe_text(f"Report for {self.slug}"), id="dialog-title")
            yield Static("Pick a scope with enter; a quarter or a month range then takes a value.",
                         classes="hint")
            yield EndedList(
                *(Option(Text(f"{k.name:<13} {k.description}"), id=k.name) for k in self.kinds), id="kinds")
            yield Input(placeholder="", id="scope-value", classes="-hidden")
            yield Static("", id="scope-error", classes="field-error -hidden")
            with Horizontal(id="buttons"):
                yield Button("Queue report", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        kinds = self.query_one("#kinds", OptionList)
        kinds.highlighted = kinds.get_option_index(DEFAULT_SCOPE)
        kinds.focus()
        self._show_kind()

    @property
    def kind(self) -> str:
        kinds = self.query_one("#kinds", OptionList)
        index = kinds.highlighted
        return self.kinds[index].name if index is not None else DEFAULT_SCOPE

    def scope(self) -> str | None:
        """The chosen scope, or None while the typed value is not valid (its error shown)."""
        kind = self.kind
        error = ""
        result: str | None = kind
        if kind in _TYPED_KINDS:
            text = self.query_one("#scope-value", Input).value
            example = next(k.example for k in self.kinds if k.name == kind)
            try:
                result = check_scope(text)
                if _TYPED_KINDS[kind] not in result:
                    raise RequestError(f"a {kind} looks like {example}")
            except RequestError as exc:
                result, error = None, str(exc) if text.strip() else f"type a {kind}, e.g. {example}"
        self.query_one("#scope-error", Static).update(safe_text(error))
        self.query_one("#scope-value", Input).set_class(bool(error), "-invalid")
        self.query_one("#ok", Button).disabled = result is None
        return result

    def _show_kind(self) -> None:
        kind = self.kind
        typed = kind in _TYPED_KINDS
        value = self.query_one("#scope-value", Input)
        for widget in (value, self.query_one("#scope-error", Static)):
            widget.set_class(not typed, "-hidden")
        if typed:
            with value.prevent(Input.Changed):
                value.value = self._typed.get(kind, "")
            value.placeholder = next(k.example for k in self.kinds if k.name == kind)
        self.scope()

    @on(OptionList.OptionHighlighted)
    def _highlighted(self) -> None:
        self._show_kind()

    @on(OptionList.OptionSelected)
    def _selected(self) -> None:
        if self.kind in _TYPED_KINDS:
            self.query_one("#scope-value", Input).focus()
        else:
            self.dismiss(self.kind)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self._typed[self.kind] = event.value
        self.scope()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        if (result := self.scope()) is not None:
            self.dismiss(result)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
        elif (result := self.scope()) is not None:
            self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)
