"""A Footer whose keys fit its width: on a narrow terminal it goes compact, then leaves out the
keys needed least, so the main ones and `?` (every key) always show. Textual's Footer just
cuts the line off at the right ("p Repor" at 80 columns)."""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer

PALETTE = "command_palette"
# The keys a narrow footer keeps, most needed first, by binding id (the palette by its action);
# keys not listed come after these, in the footer's order.
FOOTER_RANK = (
    "app.keys", "app.quit", "clients.append", "clients.validate", "clients.report", "clients.filter",
    "clients.mark", "app.jobs", PALETTE, "jobs.retry", "jobs.cancel", "job_detail.search",
)


def key_width(key: Widget, compact: bool) -> int:
    """The cells a FooterKey takes, by the Footer's styles (Textual 8): compact, `k desc` and a
    margin; otherwise ` k desc `. The palette key adds its border (and padding when not compact)."""
    display, description = getattr(key, "key_display", ""), getattr(key, "description", "")
    shown = cell_len(display) + (1 + cell_len(description) if description else 0)
    if key.has_class("-command-palette"):
        return shown + 1 + (0 if compact else 3)
    return shown + (1 if compact else 3 if description else 2)


class FitFooter(Footer):
    def __init__(self, *children: Widget, id: str | None = None) -> None:
        super().__init__(*children, id=id)
        self._laid_out_for = 0  # the width the keys were last fitted to

    def compose(self) -> ComposeResult:
        keys = list(super().compose())  # Textual's FooterKeys (measured here, never made here)
        width = self.size.width
        self._laid_out_for = width
        if not width or not all(hasattr(key, "key_display") for key in keys):
            yield from keys  # not laid out yet, or grouped keys (none here): as Textual has them
            return
        compact = sum(key_width(key, False) for key in keys) > width
        self.compact = compact
        kept = set(self._most_needed(keys, width, compact))
        yield from (key for key in keys if key in kept)

    def _most_needed(self, keys: list[Widget], width: int, compact: bool) -> list[Widget]:
        active = self.screen.active_bindings

        def rank(key: Widget) -> int:
            found = active.get(getattr(key, "key", ""))
            name = PALETTE if key.has_class("-command-palette") else (found.binding.id if found else None)
            return FOOTER_RANK.index(name) if name in FOOTER_RANK else len(FOOTER_RANK)

        kept, used = [], 0
        for key in sorted(keys, key=rank):  # a stable sort: unlisted keys keep the footer's order
            if used + key_width(key, compact) <= width:
                kept.append(key)
                used += key_width(key, compact)
        return kept

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._laid_out_for:
            self.call_after_refresh(self.recompose)
