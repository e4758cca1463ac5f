"""Times for people: stored in UTC, shown in the operator's local zone, ages kept short."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo


def parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def duration(seconds: float | None) -> str:
    """`0.4s`, `4s`, `2m05s`, `1h02m`, `3d04h`; `—` when unknown."""
    if seconds is None:
        return "—"
    if 0 < seconds < 10:
        return f"{seconds:.1f}s"  # quick jobs are the common case: 0.3s, not 0s
    s = int(max(0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def ago(value: str | datetime | None, now: datetime) -> str:
    """`just now`, `5m ago`, `2h ago`, `3d ago`: an age for a table that should not change
    every second (each change redraws it)."""
    moment = parse(value) if isinstance(value, str) or value is None else value
    if moment is None:
        return "—"
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"


def ago_span(moment: datetime, now: datetime) -> tuple[datetime | None, datetime | None]:
    """From when until when (exclusive; None: without end) ago(moment, ...) reads as it does at `now`."""
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return None, moment + timedelta(seconds=60)
    for size in (86400, 3600, 60):
        if seconds >= size:
            start = int(seconds // size) * size
            return moment + timedelta(seconds=start), moment + timedelta(seconds=start + size)
    return None, None  # not reached


def local(value: str | datetime | None, zone: tzinfo | None = None) -> str:
    """`2026-11-28 07:01:55` in the operator's zone (or `zone`)."""
    moment = parse(value) if isinstance(value, str) or value is None else value
    if moment is None:
        return "—"
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
