"""A client's last 26 weeks, a cell per day (gap, quiet, present, after the watermark, future),
with a cursor over the days: the client detail's `r` repairs the gap under it.

Weeks are columns (Monday at the top), as in a contribution graph, so 26 weeks fit in 56
columns. Everything drawn is made here from dates and counts: no outside text.
"""

from __future__ import annotations

from datetime import date, timedelta

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from adsdash.coverage import AFTER, FUTURE, GAP, PRESENT, QUIET, Coverage
from adsdash.look import Tone, style

WEEKS = 26
_GLYPH = {GAP: ("■", Tone.BAD), QUIET: ("■", Tone.WARN), PRESENT: ("■", Tone.GOOD), AFTER: ("·", Tone.MUTED),
          FUTURE: (" ", None)}
_DAY_NAMES = ("Mo", "", "We", "", "Fr", "", "Su")
_CURSOR = Style(reverse=True)


class CoverageCalendar(Widget, can_focus=True):
    DEFAULT_CSS = """
    CoverageCalendar { height: 10; width: auto; min-width: 58; }
    CoverageCalendar:focus { background: $boost; }
    """
    BINDINGS = [  # the cursor moves by day (up/down) and by week (left/right), as the grid is drawn
        Binding("up", "move(-1)", "Day before", show=False, id="calendar.up"),
        Binding("down", "move(1)", "Day after", show=False, id="calendar.down"),
        Binding("left", "move(-7)", "Week before", show=False, id="calendar.left"),
        Binding("right", "move(7)", "Week after", show=False, id="calendar.right"),
    ]
    cursor: reactive[date | None] = reactive(None)

    class Moved(Message):
        def __init__(self, day: date) -> None:
            super().__init__()
            self.day = day

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.coverage: Coverage | None = None
        self.watermark: date | None = None
        self.today: date | None = None

    @property
    def first_day(self) -> date | None:
        """The Monday the grid starts on."""
        if self.today is None:
            return None
        return self.today - timedelta(days=self.today.weekday() + 7 * (WEEKS - 1))

    def show(self, coverage: Coverage, watermark: date | None, today: date) -> None:
        self.coverage, self.watermark, self.today = coverage, watermark, today
        if self.cursor is None or not (self.first_day or today) <= self.cursor <= today:
            gaps = coverage.gaps(watermark, since=self.first_day)
            self.cursor = gaps[-1][1] if gaps else (watermark or today)  # the newest gap, if any
        self.refresh()

    def kind(self, day: date) -> str | None:
        if self.coverage is None or self.today is None:
            return None
        return self.coverage.kind(day, self.watermark, self.today)

    def gap_at(self, day: date | None) -> tuple[date, date] | None:
        """The gap (first, last day) the day is in, if it is in one."""
        if day is None or self.coverage is None or self.kind(day) != GAP:
            return None
        return next(((a, b) for a, b in self.coverage.gaps(self.watermark) if a <= day <= b), None)

    def action_move(self, days: int) -> None:
        if self.cursor is None or self.today is None or (first := self.first_day) is None:
            return
        moved = min(max(self.cursor + timedelta(days=days), first), self.today)
        if moved != self.cursor:
            self.cursor = moved
            self.post_message(self.Moved(moved))

    def watch_cursor(self) -> None:
        self.refresh()

    def render(self) -> Text:
        first = self.first_day
        if self.coverage is None or first is None:
            return Text("reading the master CSV…", style=style(Tone.MUTED))
        if self.coverage.problem:
            return Text(f"coverage unknown: {self.coverage.problem}", style=style(Tone.BAD))
        header = [" "] * (3 + 2 * WEEKS)
        month = None
        for week in range(WEEKS):  # a month's name over the first week that has its first day
            monday = first + timedelta(days=7 * week)
            sunday = monday + timedelta(days=6)
            if sunday.month != month and (at := 3 + 2 * week) + 3 <= len(header) and header[at - 1] == " ":
                header[at:at + 3] = sunday.strftime("%b")
                month = sunday.month
        text = Text()
        text.append("".join(header).rstrip() + "\n", style=style(Tone.MUTED))
        for weekday in range(7):
            text.append(f"{_DAY_NAMES[weekday]:<3}", style=style(Tone.MUTED))
            for week in range(WEEKS):
                day = first + timedelta(days=7 * week + weekday)
                glyph, tone = _GLYPH[self.coverage.kind(day, self.watermark, self.today or day)]
                cell_style = style(tone) if tone else Style()
                if day == self.cursor:
                    cell_style += _CURSOR
                text.append(glyph, style=cell_style)
                text.append(" ")
            text.append("\n")
        text.append(self.describe(self.cursor))
        return text

    def describe(self, day: date | None) -> str:
        """One line on the day under the cursor."""
        if day is None or self.coverage is None:
            return ""
        kind = self.kind(day)
        rows, cost = self.coverage.days.get(day, (0, 0.0))
        line = f"{day:%a %Y-%m-%d}: {kind}"
        if kind in (PRESENT, QUIET):
            line += f", {rows} rows, cost {cost:,.2f}"
        if (gap := self.gap_at(day)) is not None:
            length = (gap[1] - gap[0]).days + 1
            line += f" ({length} day{'s' * (length != 1)}: {gap[0]}..{gap[1]}) · r repairs it"
        return line
