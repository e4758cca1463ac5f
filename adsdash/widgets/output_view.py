"""A virtual view of one job's whole output, however long (a million lines is fine).

Nothing is loaded up front: the view's virtual height is the job's line count, and
`render_line` reads only the pages of lines that are on screen from the store (a small
LRU keeps recent pages and rendered strips). The owner calls `set_line_count` as the
job grows; while the view sits at the bottom it follows the new lines.

Lines are outside text: cleaned with sanitize.keep_colour, so only SGR colours survive,
and turned into Text directly (Text.from_ansi for the colours), never parsed as markup.
A log record's level tints a line that has no colours of its own; stderr is marked in the
gutter. Text can be selected with the mouse and copied (only the selected lines are read).
"""

from __future__ import annotations

import time
from typing import NamedTuple

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Offset, Region, Size
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar
from textual.selection import Selection
from textual.strip import Strip
from textual.timer import Timer

from adsdash.sanitize import keep_colour, plain
from adsdash.store import Line, Store

PAGE_LINES = 256  # lines read from the store at a time
MAX_RENDER_CHARS = 2000  # a 1 MB line is cut on screen; search still sees all of it
BAR_SECONDS = 0.25  # while lines pour in, the scrollbar is drawn at most this often
CUT_BYTES = 16 * 1024  # what is read of a longer line (enough for MAX_RENDER_CHARS of any UTF-8)
MAX_COPY_LINES = 100_000  # a selection copies at most this many lines
LEVEL_TINTS = ((" - ERROR - ", "output-view--error"), (" - CRITICAL - ", "output-view--error"),
               (" - WARNING - ", "output-view--warning"))


class _Frame(NamedTuple):
    base: Style  # the widget's
    gutter: Style
    stderr: Style  # the gutter's bar on a stderr line
    scroll_x: int
    scroll_y: int
    width: int
    gutter_width: int
    selection: Selection | None


class OutputView(ScrollView, can_focus=True):
    """One job's output, read page by page from the store as it is scrolled."""

    COMPONENT_CLASSES = {
        "output-view--gutter", "output-view--stderr", "output-view--match", "output-view--current",
        "output-view--error", "output-view--warning",
    }
    DEFAULT_CSS = """
    OutputView {
        background: $surface;
        overflow: auto auto;
        &:focus { background-tint: $foreground 3%; }
        & > .output-view--gutter { color: $text-muted; }
        & > .output-view--stderr { color: $text-error; }
        & > .output-view--error { color: $text-error; }
        & > .output-view--warning { color: $text-warning; }
        & > .output-view--match { background: $warning 50%; color: $text; }
        & > .output-view--current { background: $accent 30%; }
    }
    """
    BINDINGS = [
        Binding("g", "top", "Top", show=False, id="output.top"),
        Binding("G", "bottom", "End", show=False, id="output.end"),
    ]

    def __init__(self, store: Store, job_id: int | None, *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.store = store
        self.job_id = job_id
        self.line_count = 0
        self.follow = True  # keep the newest line in view while the job writes
        self.term: str | None = None  # highlighted search term
        self.current: int | None = None  # index of the current search match
        # page number -> (index of its first line held, the lines held from there on)
        self._pages: LRUCache[int, tuple[int, list[tuple[Line, int]]]] = LRUCache(64)
        self._strips: LRUCache[int, Strip] = LRUCache(1024)
        self._text_width = 0  # widest line rendered so far, in cells
        self._frame: _Frame | None = None  # what every line of the frame being drawn needs
        self._growing = False  # set_line_count is moving the view to new lines
        self._bar_drawn_at = 0.0
        self._bar_timer: Timer | None = None

    # -- growing ------------------------------------------------------------

    def show_job(self, job_id: int | None) -> None:
        """Show another job's output (from its end, following it)."""
        if job_id == self.job_id:
            return
        self.job_id = job_id
        self.line_count = 0
        self.term, self.current = None, None
        self._pages.clear()
        self._strips.clear()
        self._text_width = 0
        self._resize()
        # At once, like the scroll to the end that may follow in the same tick (a deferred one would undo it).
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.follow = True  # scrolling up to 0 has just turned it off
        self.refresh()

    def set_line_count(self, count: int) -> None:
        if count == self.line_count:
            return
        at_end = self.is_vertical_scroll_end  # before the new lines move the end
        if count < self.line_count:  # never in practice; start afresh rather than show stale pages
            self._pages.clear()
            self._strips.clear()
        self.line_count = count  # a page read while still filling is topped up when its new lines are drawn
        self._resize()
        if self.follow or at_end:  # off once the operator scrolls up, on again at the bottom
            self.follow = True
            # At once, as Textual's Log does: a scroll deferred to after the refresh costs a frame
            # that still shows the old lines. `force`: the scrollbar that allows it may only
            # appear at the next layout, which may also resize the view (then on_resize scrolls again).
            self._growing = True
            try:
                self.scroll_end(animate=False, x_axis=False, immediate=True, force=True)
            finally:
                self._growing = False

    def on_resize(self) -> None:
        self._keep_at_end()

    def _keep_at_end(self) -> None:
        if self.follow and self.scroll_offset.y != self.max_scroll_y:
            self.scroll_end(animate=False, x_axis=False, immediate=True, force=True)

    def watch_show_horizontal_scrollbar(self, shown: bool) -> None:
        if shown:  # the bar takes a row: the end moved (known after the layout)
            self.call_after_refresh(self._keep_at_end)

    @property
    def gutter_width(self) -> int:
        return len(str(max(self.line_count, 1))) + 3  # "1234 │ "

    def _resize(self) -> None:
        size = Size(self.gutter_width + self._text_width, self.line_count)
        if size == self.virtual_size:
            return
        if (self.show_vertical_scrollbar and size.width == self.virtual_size.width
                and size.height > self.virtual_size.height):
            # More lines under a scrollbar already shown: nothing else on screen moves, so no
            # layout of the whole screen (a flood grows the view at every frame); the bar is told.
            # Nothing in view changes unless it follows, and the scroll that follows redraws it.
            self.set_reactive(OutputView.virtual_size, size)
            self._update_bar(virtual_size=size.height)
        else:
            self.virtual_size = size  # a layout: the scrollbars may come or go

    def _update_bar(self, *, virtual_size: int | None = None, position: float | None = None) -> None:
        """Tell the vertical bar of new lines or of the scroll that follows them. While lines pour
        in, the bar is drawn again at most BAR_SECONDS apart (its thumb hardly moves, and drawing
        it costs as much as a dozen lines of text); its values are always up to date."""
        bar = self.vertical_scrollbar
        if virtual_size is not None:
            bar.set_reactive(ScrollBar.window_virtual_size, virtual_size)
        if position is not None:
            bar.set_reactive(ScrollBar.position, position)
        if self._bar_timer is None:
            wait = self._bar_drawn_at + BAR_SECONDS - time.monotonic()
            if wait <= 0:
                self._draw_bar()
            else:
                self._bar_timer = self.set_timer(wait, self._draw_bar, name="output-view-bar")

    def _draw_bar(self) -> None:
        self._bar_timer = None
        self._bar_drawn_at = time.monotonic()
        self.vertical_scrollbar.refresh()

    # -- moving ---------------------------------------------------------------

    def go_to(self, index: int) -> None:
        """Bring line `index` (0-based) to the middle of the view."""
        self.follow = False
        height = self.size.height
        self.scroll_to(y=max(0, index - height // 2), animate=False, immediate=True)

    def action_top(self) -> None:
        self.follow = False
        self.scroll_to(y=0, animate=False)

    def action_bottom(self) -> None:
        self.follow = True
        self.scroll_end(animate=False, x_axis=False)

    def shown_lines(self) -> list[str]:
        """The text of the lines on screen now, as drawn (without the gutter)."""
        top, bottom = self.visible_range()
        gutter = self.gutter_width
        return [self.render_line(y).crop(gutter).text.rstrip() for y in range(bottom - top)]

    def visible_range(self) -> tuple[int, int]:
        top = self.scroll_offset.y
        return top, min(self.line_count, top + self.size.height)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        if self._growing and self.show_vertical_scrollbar:  # following new lines: as ScrollView does, bar aside
            self._update_bar(position=new_value)
            if round(old_value) != round(new_value):
                self.refresh(self.size.region)
        else:
            super().watch_scroll_y(old_value, new_value)
        if new_value < old_value:  # the operator scrolled up: stop following
            self.follow = False
        elif round(new_value) >= self.max_scroll_y:
            self.follow = True

    def highlight(self, term: str | None, current: int | None) -> None:
        if (term, current) != (self.term, self.current):
            self.term, self.current = term, current
            self._strips.clear()
            self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()  # a theme change recolours every line

    # -- reading --------------------------------------------------------------

    def line(self, index: int) -> tuple[Line, int] | None:
        """Line `index` (0-based; seq is index + 1), cut for display, and its whole length."""
        if self.job_id is None or not 0 <= index < self.line_count:
            return None
        page_no = index // PAGE_LINES
        start, end = page_no * PAGE_LINES, min(self.line_count, (page_no + 1) * PAGE_LINES)
        first, held = self._pages.get(page_no) or (index, [])
        if index < first:  # scrolled up into a page read from the middle: read the whole page
            first, held = start, []
        if index >= first + len(held):
            # Only what is missing: the tail page as it fills, or (first sight, e.g. following a
            # flood) the page from this line on, not the lines above it that are not on screen.
            after = first + len(held)
            held = held + self.store.lines_cut(self.job_id, after=after, limit=end - after, max_bytes=CUT_BYTES)
            self._pages.discard(page_no)  # LRUCache.set keeps a key's first value
            self._pages[page_no] = (first, held)
        offset = index - first
        return held[offset] if offset < len(held) else None

    # -- drawing --------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # What every line needs (styles walk the ancestors): once a frame, not once a line.
        self._frame = self._frame_state()
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def _frame_state(self) -> _Frame:
        base = self.rich_style
        gutter = base + self.get_component_rich_style("output-view--gutter")
        scroll_x, scroll_y = self.scroll_offset
        return _Frame(base, gutter, base + self.get_component_rich_style("output-view--stderr"), scroll_x,
                      scroll_y, self.size.width, self.gutter_width, self.text_selection)

    def render_line(self, y: int) -> Strip:
        frame = self._frame or self._frame_state()
        index = frame.scroll_y + y
        found = self.line(index)
        if found is None:
            return Strip.blank(frame.width, frame.base)
        line, length = found
        span = frame.selection.get_span(index) if frame.selection is not None else None
        text = self._strips.get(index) if span is None else None
        if text is None:
            text = self._render_text(index, line, length, frame.base, span)
            if span is None:
                self._strips[index] = text
        # One strip a line, built here: the gutter, then the text with the offsets that text
        # selection reads (as Strip.apply_offsets), cut or padded to the width. A flood draws
        # every line on screen anew at each frame, so each strip made costs.
        stderr = line.stream == "stderr"
        mark = "▸" if index == self.current else " "
        segments = [Segment(f"{index + 1:>{frame.gutter_width - 3}}{mark}", frame.gutter),
                    Segment("┃" if stderr else "│", frame.stderr if stderr else frame.gutter),
                    Segment(" ", frame.base)]
        body_width = max(0, frame.width - frame.gutter_width)
        parts = list(text)
        if frame.scroll_x or text.cell_length > body_width:
            parts = list(text.crop_extend(frame.scroll_x, frame.scroll_x + body_width, frame.base))
        elif text.cell_length < body_width:
            parts.append(Segment(" " * (body_width - text.cell_length), frame.base))
        x = frame.scroll_x
        for part, style, _ in parts:
            offset = Style.from_meta({"offset": (x, index)})
            segments.append(Segment(part, style + offset if style else offset))
            x += len(part)
        return Strip(segments, frame.gutter_width + body_width)

    def _render_text(self, index: int, line: Line, length: int, base: Style,
                     span: tuple[int, int] | None = None) -> Strip:
        raw = line.as_text
        cut = length > CUT_BYTES or len(raw) > MAX_RENDER_CHARS
        cleaned = keep_colour(raw[:MAX_RENDER_CHARS] if cut else raw)
        if not (cut or span or self.term or index == self.current or "\x1b[" in cleaned):
            # The common line (one style, nothing marked): its segment directly, without a Text.
            strip = Strip([Segment(cleaned, self._tint(line, cleaned, base))] if cleaned else [], cell_len(cleaned))
            return self._widest(strip)
        text = Text.from_ansi(cleaned, no_wrap=True, end="") if "\x1b[" in cleaned else Text(
            cleaned, no_wrap=True, end="")
        if cut:
            text.append(f" … (cut here: the line has {length:,} bytes)",
                        style=self.get_component_rich_style("output-view--gutter"))
        under = self._tint(line, cleaned, base)
        if index == self.current:
            under += self.get_component_rich_style("output-view--current")
        text.stylize_before(under)  # the line's own colours win over the base
        if self.term:
            text.highlight_words([self.term], self.get_component_rich_style("output-view--match"),
                                 case_sensitive=False)
        if span is not None:
            start, end = span
            text.stylize(self.screen.get_component_rich_style("screen--selection"), start,
                         len(text) if end == -1 else end)
        return self._widest(Strip(text.render(self.app.console, end=""), text.cell_len))

    def _tint(self, line: Line, cleaned: str, base: Style) -> Style:
        """The style under a line's own colours: stderr's, else its log level's."""
        if line.stream == "stderr":
            return base + self.get_component_rich_style("output-view--stderr")
        if "\x1b[" not in cleaned:
            for marker, tint in LEVEL_TINTS:
                if marker in cleaned:
                    return base + self.get_component_rich_style(tint)
        return base

    def _widest(self, strip: Strip) -> Strip:
        if strip.cell_length > self._text_width:
            self._text_width = strip.cell_length
            self.call_later(self._resize)  # not during render: it changes the layout
        return strip

    # -- selecting ------------------------------------------------------------

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The selected text, read from the store: only the selected lines, at most MAX_COPY_LINES."""
        if self.job_id is None or not self.line_count:
            return None
        first = selection.start.y if selection.start is not None else 0
        last = selection.end.y if selection.end is not None else self.line_count - 1
        last = min(last, first + MAX_COPY_LINES - 1, self.line_count - 1)
        lines = self.store.lines(self.job_id, after=first, limit=last - first + 1)
        text = "\n".join(plain(line.as_text) for line in lines)
        start = Offset(selection.start.x, 0) if selection.start is not None else None
        end = Offset(selection.end.x, selection.end.y - first) if selection.end is not None else None
        return Selection(start, end).extract(text), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._strips.clear()
        self.refresh()
