"""A report is checked against the data before it is queued: the days its scope covers that
the client's data does not hold (after the watermark, or gaps before it) are named, and the
report waits for an append (`--append-first`) or is asked for anyway. No Textual here.

adsdash reads a scope as: LAST-N-DAYS the N days that end on the client's yesterday; a quarter
or a month range their calendar days; LIFETIME from the first day with data to yesterday.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from typing import TYPE_CHECKING, NamedTuple

from adsdash.catalogue import MONTHS_RE, QUARTER_RE, RequestError

if TYPE_CHECKING:
    from adsdash.coverage import Coverage

_LAST_N = re.compile(r"LAST-(\d{1,4})-DAYS")


def scope_days(scope: str, yesterday: date, first: date | None) -> tuple[date, date] | None:
    """The days a (checked) scope covers, first and last; None when it covers none yet
    (LIFETIME of a client with no data)."""
    if scope == "LIFETIME":
        return (first, yesterday) if first is not None and first <= yesterday else None
    if m := _LAST_N.fullmatch(scope):
        return yesterday - timedelta(days=int(m[1]) - 1), yesterday
    if m := QUARTER_RE.fullmatch(scope):  # checked by catalogue.check_scope: a quarter 1-4
        year, last = int(m[1]), 3 * int(m[2])
        return date(year, last - 2, 1), date(year, last, calendar.monthrange(year, last)[1])
    if m := MONTHS_RE.fullmatch(scope):
        end_year, end_month = int(m[3]), int(m[4])
        return date(int(m[1]), int(m[2]), 1), date(end_year, end_month, calendar.monthrange(end_year, end_month)[1])
    raise RequestError(f"scope {scope!r} has no days adsdash can tell")


def _span(first: date, last: date) -> str:
    days = (last - first).days + 1
    return f"{days} day{'s' * (days != 1)} ({first}..{last})" if days > 1 else f"1 day ({first})"


class Missing(NamedTuple):
    scope: str
    start: date
    end: date
    after_watermark: tuple[date, date] | None  # the days past the watermark (all of them with none)
    gaps: list[tuple[date, date]]  # days with no row before the watermark

    @property
    def days(self) -> int:
        spans = ([self.after_watermark] if self.after_watermark else []) + self.gaps
        return sum((last - first).days + 1 for first, last in spans)

    def describe(self, watermark: date | None) -> str:
        parts = []
        if self.after_watermark:
            since = f"the watermark {watermark}" if watermark else "no watermark (never synced)"
            parts.append(f"{_span(*self.after_watermark)} after {since}")
        if self.gaps:
            total = sum((b - a).days + 1 for a, b in self.gaps)
            shown = ", ".join(f"{a}..{b}" if a != b else str(a) for a, b in self.gaps[:3])
            parts.append(f"{total} gap day{'s' * (total != 1)} ({shown}{', …' if len(self.gaps) > 3 else ''})")
        return f"{self.scope} covers {self.start}..{self.end}, and the data lacks " + " and ".join(parts)


def missing(scope: str, coverage: Coverage, watermark: date | None, yesterday: date) -> Missing | None:
    """What the scope's days lack in the client's data; None when they hold it all."""
    days = scope_days(scope, yesterday, coverage.first)
    if days is None:
        return None
    start, end = days
    after = None
    if watermark is None or watermark < end:
        after = (max(start, watermark + timedelta(days=1)) if watermark else start, end)
    gaps = [(max(a, start), min(b, end)) for a, b in coverage.gaps(watermark, since=start) if a <= end]
    if after is None and not gaps:
        return None
    return Missing(scope, start, end, after, gaps)


class ReportLacksData(RequestError):
    """A report whose scope covers days the client's data does not hold."""

    def __init__(self, slug: str, found: Missing, watermark: date | None = None) -> None:
        super().__init__(f"report {slug}: {found.describe(watermark)}; queue an append first (--append-first)"
                         " or ask for it anyway (--anyway)")
        self.missing = found
