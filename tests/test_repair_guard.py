"""Guarded repairs (issue 11): a repair whose days a queued or running repair or append of the
client already pulls is refused naming that job; a dry run says what a repair would touch."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from conftest import SIZE, run_adsdash, running_worker, until, wait_ended

from adsdash.catalogue import RequestError
from adsdash.engine import Engine
from adsdash.repair_guard import APPEND_REACH_DAYS


def synced(engine: Engine) -> tuple[str, date]:
    """A client with a watermark, rows, and no error file (r opens the repair dialog at once)."""
    client = next(c for c in engine.workspace.clients() if c.watermarks.get("google_ads")
                  and engine.coverage.get(c.slug).days and c.newest_error is None)
    return client.slug, client.watermarks["google_ads"]


def test_an_overlapping_repair_is_refused_naming_the_job(sandbox_settings):
    engine = Engine(sandbox_settings)  # no worker: what is queued stays queued
    slug, watermark = synced(engine)
    far = watermark - timedelta(days=60)
    first = engine.submit("repair", slug, start=str(far), end=str(far + timedelta(days=4)))
    with pytest.raises(RequestError, match=f"overlaps job {first.id} \\(repair {far}..{far + timedelta(days=4)}"):
        engine.submit("repair", slug, start=str(far + timedelta(days=4)), end=str(far + timedelta(days=9)))
    beside = engine.submit("repair", slug, start=str(far + timedelta(days=5)), end=str(far + timedelta(days=9)))
    other = next(c.slug for c in engine.workspace.clients() if c.slug != slug)
    engine.submit("repair", other, start=str(far), end=str(far + timedelta(days=4)))  # another client's days
    append = engine.submit("append", slug)
    near = watermark - timedelta(days=APPEND_REACH_DAYS - 1)
    with pytest.raises(RequestError, match=f"overlaps job {append.id} \\(append"):
        engine.submit("repair", slug, start=str(near), end=str(near))
    results = engine.submit_many("repair", [slug, other], start=str(far + timedelta(days=20)),
                                 end=str(far + timedelta(days=21)))
    assert [type(r).__name__ for r in results] == ["Job", "Job"]  # days nobody pulls: both queued
    results = engine.submit_many("repair", [slug, other], start=str(far), end=str(far))
    assert [f"job {first.id}" in str(r) for r in results] == [True, False]  # a sweep: refused per client
    assert {j.id for j in engine.store.jobs(slug=slug)} >= {first.id, beside.id, append.id}


def test_a_dry_run_counts_the_days_the_rows_and_the_time_of_earlier_repairs(sandbox_settings):
    engine = Engine(sandbox_settings)
    slug, watermark = synced(engine)
    start, end = watermark - timedelta(days=40), watermark - timedelta(days=31)
    coverage = engine.coverage.get(slug)
    rows = sum(coverage.days.get(start + timedelta(days=n), (0, 0.0))[0] for n in range(10))
    shown = json.loads(run_adsdash(sandbox_settings, "--json", "run", "repair", slug, "--start", str(start),
                                   "--end", str(end), "--dry-run").stdout)
    assert (shown["days"], shown["rows_now"], shown["gap_days"], shown["expected_seconds"]) == (10, rows, 0, None)
    assert engine.store.jobs(slug=slug) == []  # nothing queued
    earlier = engine.submit("repair", slug, start=str(start), end=str(start + timedelta(days=1)))  # two days
    for _ in running_worker(sandbox_settings):
        done = wait_ended(engine, earlier.id)
    assert done.status == "finished"
    shown = json.loads(run_adsdash(sandbox_settings, "--json", "run", "repair", slug, "--start", str(start),
                                   "--end", str(end), "--dry-run").stdout)
    assert shown["expected_seconds"] == pytest.approx(done.elapsed() / 2 * 10)
    queued = engine.submit("append", slug)
    refused = run_adsdash(sandbox_settings, "run", "repair", slug, "--start", str(watermark), "--end",
                          str(watermark), "--dry-run", check=2)
    assert f"refused: {watermark}..{watermark} overlaps job {queued.id}" in refused.stdout.decode()
    assert "--dry-run is for repair" in run_adsdash(sandbox_settings, "run", "validate", slug, "--dry-run",
                                                    check=2).stderr.decode()


async def test_the_repair_dialog_previews_the_repair(sandbox_settings, make_app):
    from textual.widgets import Input, Static

    from adsdash.screens.client_detail import ClientDetailScreen
    from adsdash.screens.dialogs import RepairDialog

    app = make_app(sandbox_settings)
    slug, watermark = synced(app.engine)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(ClientDetailScreen(slug))
        await until(pilot, lambda: app.screen.client is not None)
        app.screen.query_one("JobTable").focus()
        await pilot.press("r")
        dialog = await until(pilot, lambda: isinstance(app.screen, RepairDialog) and app.screen)
        dialog.query_one("#start", Input).value = str(watermark - timedelta(days=2))
        dialog.query_one("#end", Input).value = str(watermark)
        preview = dialog.query_one("#preview", Static)
        await until(pilot, lambda: "rows there now" in str(preview.render()), what="the preview")
        assert f"repair {slug} {watermark - timedelta(days=2)}..{watermark}: 3 days" in str(preview.render())
