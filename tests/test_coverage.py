"""Coverage by day from the master CSV (issue 11): exact rows and cost per day, gaps as ranges,
quiet days not gaps, a re-pulled row counted once, a broken CSV an error that breaks nothing."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta

from conftest import run_adsdash

from adsdash.coverage import GAP, PRESENT, QUIET, CoverageCache
from adsdash.engine import Engine


def master_csv(settings, slug):
    return settings.ads_sync_path / "data" / slug / f"{slug}-master-campaign_data.csv"


def a_synced_client(settings) -> tuple[str, date]:
    engine = Engine(settings)
    client = next(c for c in engine.workspace.clients()
                  if c.watermarks.get("google_ads") and master_csv(settings, c.slug).exists())
    return client.slug, client.watermarks["google_ads"]


def rewrite(path, keep=lambda row: True, change=lambda row: row, extra=()):
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        fields, rows = reader.fieldnames, list(reader)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fields)
        writer.writeheader()
        for row in rows:
            if keep(row):
                writer.writerow(change(dict(row)))
        for row in extra:
            writer.writerow(row)
    return rows


def test_rows_cost_gaps_and_quiet_days_per_day(sandbox_settings):
    slug, watermark = a_synced_client(sandbox_settings)
    path = master_csv(sandbox_settings, slug)
    gap = {watermark - timedelta(days=d) for d in (3, 4, 5, 20)}  # a three-day gap and a single day
    quiet = watermark - timedelta(days=10)
    repulled = watermark - timedelta(days=30)
    original = rewrite(path, keep=lambda row: date.fromisoformat(row["date"]) not in gap,
                       change=lambda row: {**row, "cost": "0"} if row["date"] == quiet.isoformat() else row)
    again = next(row for row in original if row["date"] == repulled.isoformat())
    rewrite(path, extra=[{**again, "cost": "1000.5"}])  # a re-pull: the same key, the last one wins
    expected: dict[date, list] = {}
    for row in original:
        day = date.fromisoformat(row["date"])
        if day in gap:
            continue
        cost = 0.0 if day == quiet else 1000.5 if row is again else float(row["cost"])
        rows_cost = expected.setdefault(day, [0, 0.0])
        rows_cost[0] += 1
        rows_cost[1] += cost

    shown = json.loads(run_adsdash(sandbox_settings, "--json", "coverage", slug, "--days", "0").stdout)
    days = {date.fromisoformat(d["date"]): d for d in shown["days"]}
    first = min(expected)
    assert shown["first"] == first.isoformat() and shown["watermark"] == watermark.isoformat()
    for day in (first + timedelta(days=n) for n in range((watermark - first).days + 1)):
        rows, cost = expected.get(day, (0, 0.0))
        assert (days[day]["rows"], days[day]["cost"]) == (rows, round(cost, 2)), day
        assert days[day]["kind"] == (GAP if day in gap else QUIET if day == quiet else PRESENT), day
    assert days[watermark + timedelta(days=1)]["kind"] == "after watermark"
    gaps = [{"start": (watermark - timedelta(days=20)).isoformat(), "end": (watermark - timedelta(days=20)).isoformat(),
             "days": 1},
            {"start": (watermark - timedelta(days=5)).isoformat(), "end": (watermark - timedelta(days=3)).isoformat(),
             "days": 3}]
    assert shown["gaps"] == gaps

    listed = run_adsdash(sandbox_settings, "--json", "gaps", check=1)  # 1: a gap was found (for cron)
    assert json.loads(listed.stdout) == [{"slug": slug, "watermark": watermark.isoformat(), "gap_days": 4,
                                          "gaps": gaps, "problem": None}]
    cache = CoverageCache(Engine(sandbox_settings).workspace)
    assert cache.get(slug).recent_gap_days(watermark) == 4
    assert cache.get(slug) is cache.get(slug)  # read again only when the file changes


def test_a_broken_csv_is_one_line_and_breaks_nothing(sandbox_settings):
    slug, _ = a_synced_client(sandbox_settings)
    path = master_csv(sandbox_settings, slug)
    text = path.read_text().splitlines()
    path.write_text("\n".join([text[0], text[1], "google_ads,x,2025-13-45,1,a,b,1,1,1", *text[2:5]]) + "\n")
    failed = run_adsdash(sandbox_settings, "coverage", slug, check=1)
    assert failed.stderr.decode().count("\n") == 1 and "2025-13-45" in failed.stderr.decode()
    assert b"Traceback" not in failed.stderr
    listed = json.loads(run_adsdash(sandbox_settings, "--json", "gaps", check=1).stdout)
    assert [(f["slug"], bool(f["problem"])) for f in listed] == [(slug, True)]
    run_adsdash(sandbox_settings, "clients")  # the listing does not care
    path.write_text("date,cost\n2025-10-01,1\n")
    assert "no campaign_id, data_source column" in run_adsdash(sandbox_settings, "coverage", slug,
                                                               check=1).stderr.decode()


def test_an_unknown_client_is_refused(sandbox_settings):
    assert "unknown client" in run_adsdash(sandbox_settings, "coverage", "nobody", check=2).stderr.decode()


async def test_the_clients_table_counts_gap_days_and_filters_on_them(sandbox_settings, make_app):
    from conftest import SIZE, loaded, until

    slug, watermark = a_synced_client(sandbox_settings)
    gap = {watermark - timedelta(days=d) for d in (1, 2, 3)}
    rewrite(master_csv(sandbox_settings, slug), keep=lambda row: date.fromisoformat(row["date"]) not in gap)
    broken, _ = next((c.slug, c) for c in Engine(sandbox_settings).workspace.clients()
                     if c.slug != slug and master_csv(sandbox_settings, c.slug).exists())
    master_csv(sandbox_settings, broken).write_text("date,cost\n")  # no key columns: cannot be read
    app = make_app(sandbox_settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        table = screen.table
        await until(pilot, lambda: table.get_cell(slug, "gaps").plain == "3d", what="the gap days counted")
        assert table.get_cell(broken, "gaps").plain == "!"  # its coverage cannot be read: said, listing on
        others = [s for s in table.shown_slugs if s not in (slug, broken)]
        assert others and all(table.get_cell(s, "gaps").plain == "" for s in others)
        table.show(needle="is:gaps")
        assert sorted(table.shown_slugs) == sorted([slug, broken])
        table.show(needle="", order="gaps")
        assert table.shown_slugs[:2] == [broken, slug]  # the unreadable first, then the most gap days


async def test_r_on_a_gap_in_the_calendar_queues_a_repair_of_exactly_that_gap(sandbox_settings, make_app):
    from conftest import SIZE, until
    from textual.widgets import Input

    from adsdash.screens.client_detail import ClientDetailScreen
    from adsdash.screens.dialogs import RepairDialog
    from adsdash.widgets.coverage_calendar import CoverageCalendar

    slug, watermark = a_synced_client(sandbox_settings)
    first, last = watermark - timedelta(days=7), watermark - timedelta(days=6)
    rewrite(master_csv(sandbox_settings, slug), keep=lambda row: not first <= date.fromisoformat(row["date"]) <= last)
    app = make_app(sandbox_settings)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(ClientDetailScreen(slug))
        calendar = app.screen.query_one(CoverageCalendar)
        await until(pilot, lambda: calendar.coverage is not None, what="the coverage read")
        calendar.focus()
        await pilot.pause()
        assert calendar.cursor == last  # on the newest gap
        assert f"gap (2 days: {first}..{last})" in calendar.describe(calendar.cursor)
        await pilot.press("up")  # the day before: still in the gap
        assert calendar.cursor == first
        await pilot.press("r")
        dialog = app.screen
        assert isinstance(dialog, RepairDialog)
        assert (dialog.query_one("#start", Input).value, dialog.query_one("#end", Input).value) == (
            first.isoformat(), last.isoformat())
        await pilot.click("#ok")
        jobs = await until(pilot, lambda: app.engine.store.jobs(slug=slug), what="the repair job")
        assert (jobs[0].command, jobs[0].args) == ("repair", {"start": first.isoformat(), "end": last.isoformat()})
        await pilot.press("up")  # off the gap: r does what it does elsewhere (the newest error, or the dialog)
        assert calendar.gap_at(calendar.cursor) is None


def test_a_count_told_to_stop_keeps_the_last_whole_one(sandbox_settings):
    """The clients screen's count stops when the app closes: between two clients, leaving the
    last whole count as it was (no half count is ever shown)."""
    engine = Engine(sandbox_settings)
    clients = engine.workspace.clients()
    cache = engine.coverage
    asked = []

    def stop_at_the_third() -> bool:
        asked.append(1)
        return len(asked) > 2

    assert cache.count_recent(clients, stop=stop_at_the_third) is False
    assert (cache.generation, cache.recent, len(asked)) == (0, {}, 3)
    assert cache.count_recent(clients) is True
    assert cache.generation == 1 and set(cache.recent) == {c.slug for c in clients}
