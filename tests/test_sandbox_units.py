"""The sandbox's pure parts: synthetic data, merge, scopes, windows, state writes, env lines."""

from __future__ import annotations

import itertools
import json
import os
import shlex
import sys
import time
from datetime import UTC, date, datetime

import pytest

from adsdash.sandbox import data
from adsdash.sandbox.commands import append_window, chunk_date_ranges
from adsdash.sandbox.generate import env_lines, history_days, plan, slugify
from adsdash.sandbox.project import Project, new_state, save_state, yesterday_in
from adsdash.sandbox.reports import scope_range


def test_synthetic_data_is_deterministic_and_plausible():
    a = data.rows_between("acme", date(2025, 1, 1), date(2025, 3, 31), "USD", "p")
    b = data.rows_between("acme", date(2025, 2, 1), date(2025, 2, 28), "USD", "p")
    assert [r for r in a if r[2].startswith("2025-02")] == b  # any window gives the same rows
    assert a != data.rows_between("other", date(2025, 1, 1), date(2025, 3, 31), "USD", "p")
    c = {name: i for i, name in enumerate(data.COLUMNS)}
    for r in a:
        impressions, clicks, cost = int(r[c["impressions"]]), int(r[c["clicks"]]), float(r[c["cost"]])
        assert impressions > 0 and 0 <= clicks <= impressions and cost >= 0
        assert (r[c["avg_cpc"]] == "") == (clicks == 0)
        if clicks:
            assert float(r[c["avg_cpc"]]) == pytest.approx(cost / clicks, abs=1e-3)
    counts = {len(data.campaigns_for(f"client-{i}")) for i in range(200)}
    assert min(counts) == 2 and max(counts) == 6


def test_two_years_of_six_campaigns_is_cheap():
    slug = next(f"c{i}" for i in range(500) if len(data.campaigns_for(f"c{i}")) == 6)
    started = time.process_time()
    rows = data.rows_between(slug, date(2023, 10, 1), date(2025, 9, 30), "USD", "p")
    assert time.process_time() - started < 0.5
    assert len(rows) > 1000


def test_merge_keeps_the_last_copy_of_each_key():
    old = [["google_ads", "p1", "2025-01-01", "1", "A"], ["google_ads", "p1", "2025-01-02", "1", "A"],
           ["google_ads", "p1", "2025-01-02", "2", "B"]]
    new = [["google_ads", "p2", "2025-01-01", "1", "A"], ["google_ads", "p2", "2025-01-03", "1", "A"]]
    merged, removed = data.merge(old, new)
    assert removed == 1
    # Like pandas' drop_duplicates(keep="last"): the survivor sits where its last copy was.
    assert [(r[2], r[3], r[1]) for r in merged] == [
        ("2025-01-02", "1", "p1"), ("2025-01-02", "2", "p1"), ("2025-01-01", "1", "p2"), ("2025-01-03", "1", "p2")]


@pytest.mark.parametrize("scope, expected", [
    ("LIFETIME", None),
    ("LAST-7-DAYS", (date(2025, 10, 6), date(2025, 10, 12))),
    ("LAST-30-DAYS", (date(2025, 9, 13), date(2025, 10, 12))),
    ("2025-Q3", (date(2025, 7, 1), date(2025, 9, 30))),
    ("2024-Q1", (date(2024, 1, 1), date(2024, 3, 31))),
    ("2025-01..2025-03", (date(2025, 1, 1), date(2025, 3, 31))),
    ("2024-02..2024-02", (date(2024, 2, 1), date(2024, 2, 29))),
    ("2025-Q5", None), ("2025-13..2025-14", None), ("", None), ("nonsense", None),
])
def test_scope_range(scope, expected):
    assert scope_range(scope, date(2025, 10, 12)) == expected


def test_chunks_and_append_window_follow_the_real_tool():
    chunks = chunk_date_ranges(date(2025, 1, 1), date(2025, 12, 31), 90)
    assert chunks[0] == (date(2025, 1, 1), date(2025, 4, 1)) and chunks[-1][1] == date(2025, 12, 31)
    assert all(b.toordinal() + 1 == c.toordinal() for (_, b), (c, _) in itertools.pairwise(chunks))
    y = date(2025, 10, 12)
    assert append_window("2025-10-11", 3, 30, y) == (date(2025, 10, 8), y, False)
    assert append_window("2025-08-01", 3, 30, y) == (date(2025, 9, 12), y, True)
    assert append_window(None, 3, 30, y) == (date(2025, 9, 12), y, False)


def test_yesterday_is_in_the_client_zone():
    now = datetime(2025, 10, 13, 3, 30, tzinfo=UTC)  # 22:30 the day before in Chicago
    assert yesterday_in("America/Chicago", now) == date(2025, 10, 11)
    assert yesterday_in("Europe/London", now) == date(2025, 10, 12)


def test_save_state_leaves_the_old_file_whole_on_failure(tmp_path, monkeypatch):
    project = Project(tmp_path)
    save_state(project, "acme", new_state("acme"))
    before = (tmp_path / "state" / "acme.json").read_text()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        save_state(project, "acme", {**new_state("acme"), "slug": "changed"})
    assert (tmp_path / "state" / "acme.json").read_text() == before
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["acme.json"]
    assert json.loads(before)["google_ads"] == {"watermark_date": None}


def test_env_lines_point_at_the_workspace_and_this_python(tmp_path):
    root = tmp_path / "a dir"
    export_path, export_cmd = env_lines(root)
    assert shlex.split(export_path) == ["export", f"ADS_SYNC_PROJECT_PATH={root.resolve()}"]
    (word,) = shlex.split(export_cmd)[1:]
    assert shlex.split(word.split("=", 1)[1]) == [sys.executable, "-m", "adsdash.sandbox"]


def test_plan_slugs_are_unique_and_large_plans_keep_one_of_each_special():
    big = plan(1000)
    assert len({p.slug for p in big}) == 1000
    kinds = [p.kind for p in big]
    assert all(kinds.count(k) == 1 for k in ("stale_lock", "failing", "broken_state"))
    assert slugify("Main St. Bakery & Café") == "main-st-bakery-cafe"
    assert slugify("O'Brien Family Dentistry") == "obrien-family-dentistry"
    assert history_days(30) == 730 and history_days(1000) < 730
