"""What a client's data holds, day by day: rows and cost per day from its master campaign CSV
(docs/ads-sync-contract.md, "Master CSV"), and the days it lacks.

A day from the first in the file to the watermark with no row at all is a **gap**; a day
with rows but no cost is *quiet* (paused campaigns), not a gap. The CSV is read streaming
(one pass, a dict entry per key), cached on the file's stat, never written. A file that
cannot be read gives the client a coverage with a `problem`, never an exception. No Textual.
"""

from __future__ import annotations

import csv
import math
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from adsdash.catalogue import strict_date

if TYPE_CHECKING:
    from adsdash.client_folder import ClientFolder
    from adsdash.workspace import Client

GAP, QUIET, PRESENT, AFTER, FUTURE = "gap", "quiet", "present", "after watermark", "future"
MAX_CSV_BYTES = 2 << 30  # a master CSV bigger than this is refused, not read
RECENT_DAYS = 90  # the clients table counts the gap days of this many days up to the watermark
_KEY = ("date", "campaign_id", "data_source")  # the file's primary key: a re-pull's row replaces the old


def csv_rel(slug: str) -> str:
    return f"data/{slug}/{slug}-master-campaign_data.csv"


class Day(NamedTuple):
    day: date
    rows: int
    cost: float
    kind: str


class Coverage(NamedTuple):
    slug: str
    days: dict[date, tuple[int, float]]  # day -> (rows, total cost), the days that have rows
    problem: str | None = None  # why the file could not be read (then `days` is empty)

    @property
    def first(self) -> date | None:
        return min(self.days) if self.days else None

    def kind(self, day: date, watermark: date | None, today: date) -> str:
        if day > today:
            return FUTURE
        if watermark is None or day > watermark:
            return AFTER
        rows, cost = self.days.get(day, (0, 0.0))
        return GAP if rows == 0 else QUIET if cost == 0 else PRESENT

    def each_day(self, start: date, end: date, watermark: date | None, today: date) -> Iterator[Day]:
        day = start
        while day <= end:
            rows, cost = self.days.get(day, (0, 0.0))
            yield Day(day, rows, cost, self.kind(day, watermark, today))
            day += timedelta(days=1)

    def gaps(self, watermark: date | None, *, since: date | None = None) -> list[tuple[date, date]]:
        """The gap days from the first day with rows (or `since`, if later) to the watermark, as
        ranges (first, last)."""
        first = self.first
        if first is None or watermark is None:
            return []
        start = max(first, since) if since else first
        ranges: list[tuple[date, date]] = []
        day = start
        while day <= watermark:
            if day not in self.days:
                if ranges and ranges[-1][1] == day - timedelta(days=1):
                    ranges[-1] = (ranges[-1][0], day)
                else:
                    ranges.append((day, day))
            day += timedelta(days=1)
        return ranges

    def recent_gap_days(self, watermark: date | None) -> int | None:
        """Gap days among the RECENT_DAYS up to the watermark; None when it cannot be told (no
        watermark, no readable file)."""
        if watermark is None or self.problem is not None:
            return None
        since = watermark - timedelta(days=RECENT_DAYS - 1)
        return sum((last - first).days + 1 for first, last in self.gaps(watermark, since=since))


def read(path: Path | str, slug: str) -> Coverage:
    """One client's coverage, read from its master CSV in one pass."""
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            if os.fstat(fh.fileno()).st_size > MAX_CSV_BYTES:
                return Coverage(slug, {}, f"{Path(path).name} is larger than {MAX_CSV_BYTES >> 30} GB: not read")
            rows = csv.reader(fh)
            header = next(rows, None)
            if header is None:
                return Coverage(slug, {})  # an empty file: no day has data
            try:
                at = [header.index(column) for column in (*_KEY, "cost")]
            except ValueError:
                missing = [c for c in (*_KEY, "cost") if c not in header]
                return Coverage(slug, {}, f"{Path(path).name} has no {', '.join(missing)} column")
            by_key: dict[tuple[str, str, str], float] = {}
            for line, row in enumerate(rows, start=2):
                try:
                    key = (row[at[0]], row[at[1]], row[at[2]])
                    cost = float(row[at[3]] or 0)
                except (IndexError, ValueError):
                    return Coverage(slug, {}, f"{Path(path).name} line {line}: not a row of the master CSV")
                if not math.isfinite(cost):
                    return Coverage(slug, {}, f"{Path(path).name} line {line}: cost {row[at[3]][:20]!r}")
                by_key[key] = cost
    except FileNotFoundError:
        return Coverage(slug, {})  # never synced: nothing yet
    except (OSError, csv.Error) as exc:
        return Coverage(slug, {}, f"{Path(path).name} cannot be read: {exc}")
    days: dict[date, tuple[int, float]] = {}
    texts: dict[str, date | None] = {}
    for (text, _, _), cost in by_key.items():
        if text not in texts:
            texts[text] = strict_date(text)
        if (day := texts[text]) is None:
            return Coverage(slug, {}, f"{Path(path).name}: date {text[:20]!r} is not YYYY-MM-DD")
        rows_then, cost_then = days.get(day, (0, 0.0))
        days[day] = (rows_then + 1, cost_then + cost)
    return Coverage(slug, days)


class CoverageCache:
    """Coverage per client, read again only when its CSV's stat changed. Thread-safe: the app
    reads in a background thread and draws from what is there."""

    def __init__(self, folder: ClientFolder) -> None:
        self.folder = folder  # finds the file as every read of the ads_sync folder does (no link out)
        self._lock = threading.Lock()
        self._made: dict[str, tuple[tuple, Coverage]] = {}
        # The clients table's column: slug -> gap days in the last RECENT_DAYS, or why the CSV
        # cannot be read; replaced whole (never changed in place) when a count changes, and
        # `generation` counts those changes (a refresh reads again when it moved).
        self.recent: Mapping[str, int | str | None] = {}
        self.generation = 0

    def count_recent(self, clients: Iterable[Client], *, stop: Callable[[], bool] = lambda: False) -> bool:
        """Count each client's recent gap days (reading the CSVs that changed); True when a
        count changed. Seconds for a thousand new CSVs: call it off the UI thread. `stop()`
        true: give up between two clients, keeping the last whole count (the screen has gone)."""
        counted: dict[str, int | str | None] = {}
        for client in clients:
            if stop():
                return False
            found = self.get(client.slug)
            counted[client.slug] = found.problem or found.recent_gap_days(client.watermarks.get("google_ads"))
        if counted == self.recent:
            return False
        self.recent = counted
        self.generation += 1
        return True

    def get(self, slug: str) -> Coverage:
        found_file = self.folder.file(csv_rel(slug))
        stamp: tuple = () if found_file is None else \
            (found_file.stat.st_mtime_ns, found_file.stat.st_size, found_file.stat.st_ino)
        path = found_file.path if found_file is not None else ""
        with self._lock:
            made = self._made.get(slug)
        if made is not None and made[0] == stamp:
            return made[1]
        found = read(path, slug) if path else Coverage(slug, {})  # none yet: nothing synced
        with self._lock:
            self._made[slug] = (stamp, found)
        return found

    def known(self, slug: str) -> Coverage | None:
        """What was read last, without looking at the file (None: not read yet)."""
        with self._lock:
            made = self._made.get(slug)
        return made[1] if made else None
