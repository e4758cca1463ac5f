"""How far behind a client's data is: its watermark against yesterday in the client's zone.

`append` syncs up to yesterday in the client's own timezone, so that date, not UTC's,
is what a watermark must reach to be fresh.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


class Kind(enum.StrEnum):
    FRESH = "fresh"
    LATE = "late"
    STALE = "stale"
    NEVER = "never"
    ERROR = "error"


# Sorting ascending by severity puts the clients that need attention first.
SEVERITY: dict[Kind, int] = {Kind.ERROR: 0, Kind.NEVER: 1, Kind.STALE: 2, Kind.LATE: 3, Kind.FRESH: 4}

# One cell wide each, so a status column reads without colour. None is East Asian
# "ambiguous" width (U+25CB "○" is, hence the dotted circle), so CJK terminals agree.
SYMBOL: dict[Kind, str] = {
    Kind.FRESH: "✓",
    Kind.LATE: "◔",
    Kind.STALE: "✗",
    Kind.NEVER: "◌",
    Kind.ERROR: "!",
}


@dataclass(frozen=True)
class Freshness:
    kind: Kind
    lag_days: int | None  # yesterday (client zone) - watermark; <= 0 when fully synced
    reason: str | None = None

    @property
    def severity(self) -> int:
        return SEVERITY[self.kind]

    @property
    def symbol(self) -> str:
        return SYMBOL[self.kind]

    def describe(self) -> str:
        """Short human text, e.g. 'late (2 days behind)'."""
        if self.kind is Kind.ERROR:
            return f"error: {self.reason}" if self.reason else "error"
        if self.kind is Kind.NEVER:
            return "never synced"
        if self.lag_days is None or self.lag_days <= 0:
            return str(self.kind)
        unit = "day" if self.lag_days == 1 else "days"
        return f"{self.kind} ({self.lag_days} {unit} behind)"


def client_yesterday(zone: ZoneInfo, now: datetime) -> date:
    """The calendar day before today in `zone`, at the aware instant `now`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(zone).date() - timedelta(days=1)


def next_day_turn(zone: ZoneInfo, now: datetime) -> datetime:
    """The first instant after `now` at which client_yesterday(zone, ...) changes: the next local
    midnight (on a day whose midnight is skipped by a clock change, the moment of the change)."""
    local = now.astimezone(zone)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return midnight.astimezone(now.tzinfo)


def assess(
    watermark: date | None,
    zone: ZoneInfo,
    now: datetime,
    *,
    late_after_days: int = 1,
    stale_after_days: int = 3,
) -> Freshness:
    if watermark is None:
        return Freshness(Kind.NEVER, None)
    lag = (client_yesterday(zone, now) - watermark).days
    if lag >= stale_after_days:
        return Freshness(Kind.STALE, lag)
    if lag >= late_after_days:
        return Freshness(Kind.LATE, lag)
    return Freshness(Kind.FRESH, lag)
