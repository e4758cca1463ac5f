"""Synthetic, deterministic campaign history and the master CSV it lives in.

Every (slug, day) draws from its own `random.Random(f"{slug}:{day}")`, so any window
pulled at any time yields the same rows: init, append, repair and the workspace
generator agree, and a re-pull is idempotent after dedup.
"""

from __future__ import annotations

import csv
import math
import os
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

COLUMNS = [
    "data_source", "pull_date", "date", "campaign_id", "campaign_name", "campaign_status",
    "impressions", "clicks", "cost", "conversions", "conversions_value", "all_conversions",
    "view_through_conversions", "ctr", "avg_cpc", "cpa", "conv_rate", "currency_code",
    "schema_version",
]
# Primary key (date, campaign_id, data_source) as column indexes.
_KEY = (COLUMNS.index("date"), COLUMNS.index("campaign_id"), COLUMNS.index("data_source"))

_CAMPAIGN_NAMES = [
    "Search - Brand", "Search - Non-Brand", "Search - Emergency Service", "Performance Max",
    "Display - Remarketing", "Search - Competitors", "YouTube - Awareness",
    "Search - Near Me", "Local Services", "Demand Gen - Lookalikes", "Search - Spanish",
]
_WEEKDAY = (1.0, 1.06, 1.04, 1.0, 0.93, 0.62, 0.55)  # Monday first: weekends are quieter
_EPOCH = date(2020, 1, 1)


@dataclass(frozen=True)
class Campaign:
    id: int
    name: str
    status: str
    impressions: float  # typical daily impressions
    ctr: float
    cpc: float
    conv_rate: float
    value: float  # conversion value per conversion
    launched: date
    paused_from: date | None


def campaigns_for(slug: str) -> list[Campaign]:
    """2-6 campaigns per client, fixed by the slug."""
    rng = random.Random(f"{slug}:campaigns")
    names = rng.sample(_CAMPAIGN_NAMES, rng.randint(2, 6))
    result = []
    for i, name in enumerate(names):
        launched = _EPOCH if i == 0 else _EPOCH + timedelta(days=rng.randint(0, 1400))
        awareness = name.split()[0] in ("Display", "YouTube", "Demand")  # cheap, low-CTR inventory
        paused = None
        if i > 0 and rng.random() < 0.25:
            paused = launched + timedelta(days=rng.randint(45, 400))
        result.append(Campaign(
            id=rng.randint(10_000_000_000, 23_999_999_999),
            name=name,
            status="PAUSED" if paused else "ENABLED",
            impressions=rng.uniform(40, 2500) * (8.0 if awareness else 1.0),
            ctr=rng.uniform(0.003, 0.012) if awareness else rng.uniform(0.025, 0.09),
            cpc=rng.uniform(0.3, 2.5) if awareness else rng.uniform(2.0, 18.0),
            conv_rate=rng.uniform(0.004, 0.03) if awareness else rng.uniform(0.03, 0.16),
            value=rng.uniform(60, 900),
            launched=launched,
            paused_from=paused,
        ))
    return result


def _num(x: float) -> str:
    return repr(float(x))


def _ratio(a: float, b: float, digits: int) -> str:
    return repr(round(a / b, digits)) if b > 0 else ""


def rows_for_day(slug: str, day: date, campaigns: list[Campaign], currency: str,
                 pull_date: str) -> list[list[str]]:
    """One row per campaign that served that day (no row without impressions, like the API)."""
    rng = random.Random(f"{slug}:{day.isoformat()}")
    season = 1.0 + 0.18 * math.sin(2 * math.pi * day.timetuple().tm_yday / 365.25)
    growth = 1.0 + 0.00035 * (day - _EPOCH).days
    day_factor = _WEEKDAY[day.weekday()] * season * growth
    rows = []
    for c in campaigns:
        noise = rng.uniform(0.7, 1.3), rng.uniform(0.8, 1.2), rng.uniform(0.85, 1.15), rng.random(), rng.random()
        if day < c.launched or (c.paused_from and day >= c.paused_from):
            continue
        impressions = int(c.impressions * day_factor * noise[0])
        if impressions <= 0:
            continue
        clicks = int(impressions * c.ctr * noise[1] + noise[3])
        cost = round(clicks * c.cpc * noise[2], 2)
        conversions = float(int(clicks * c.conv_rate * (0.5 + noise[4])))
        value = round(conversions * c.value * noise[1], 2)
        all_conv = conversions + float(int(clicks * 0.03 * noise[3]))
        view_through = int(impressions * 0.0008 * noise[4])
        rows.append([
            "google_ads", pull_date, day.isoformat(), str(c.id), c.name, c.status,
            str(impressions), str(clicks), _num(cost), _num(conversions), _num(value),
            _num(all_conv), str(view_through),
            _ratio(clicks, impressions, 6), _ratio(cost, clicks, 4),
            _ratio(cost, conversions, 4), _ratio(conversions, clicks, 6),
            currency, "1",
        ])
    return rows


def rows_between(slug: str, start: date, end: date, currency: str, pull_date: str,
                 campaigns: list[Campaign] | None = None) -> list[list[str]]:
    """All rows from `start` to `end` inclusive (empty if start > end)."""
    campaigns = campaigns if campaigns is not None else campaigns_for(slug)
    rows: list[list[str]] = []
    day = start
    while day <= end:
        rows.extend(rows_for_day(slug, day, campaigns, currency, pull_date))
        day += timedelta(days=1)
    return rows


def merge(existing: list[list[str]], new: list[list[str]]) -> tuple[list[list[str]], int]:
    """Concatenate and drop duplicate keys, keeping the last (pandas' keep='last')."""
    by_key: dict[tuple[str, str, str], list[str]] = {}
    for row in existing + new:
        key = (row[_KEY[0]], row[_KEY[1]], row[_KEY[2]])
        by_key.pop(key, None)  # re-insert so the survivor sits where the last copy was
        by_key[key] = row
    return list(by_key.values()), len(existing) + len(new) - len(by_key)


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != COLUMNS:
            raise ValueError(f"Unexpected columns in {path.name}: {header}")
        return list(reader)


def write_csv(path: Path, rows: list[list[str]]) -> None:
    """Atomic: a temporary file next to it, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    os.replace(tmp, path)


def date_span(rows: list[list[str]]) -> tuple[str, str] | None:
    """(first, last) date in the rows, or None when empty."""
    if not rows:
        return None
    i = _KEY[0]
    return min(r[i] for r in rows), max(r[i] for r in rows)
