"""One clock on screen: the clients table, the summary line and the log pane tell one story.

A real worker runs a long job of the fake CLI; the app, the worker and the store share one
clock the test moves by hand, and the screen's own refresh is an hour away, so what the
table and the summary show of the job comes from the log pane's news and the screen's
once-a-second tick, not from a refresh that happens to land.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import NOW, SIZE, Clock, header, loaded, select, until

from adsdash import timefmt
from adsdash.app import AdsdashApp
from adsdash.engine import Engine
from adsdash.tasks.worker import Worker


@pytest.fixture
def clock() -> Clock:
    """The app's, the engine's and the worker's clock: it moves when the test says."""
    return Clock(NOW)


@pytest.fixture
def slow_engine(fake_settings, clock, monkeypatch):
    """An engine whose worker (a real Huey consumer) runs `slow` for a minute, on the hand clock."""
    monkeypatch.setenv("FAKE_SECONDS", "60")
    settings = fake_settings._replace(refresh_seconds=3600)  # no refresh during the test
    worker = Worker(settings, kind="embedded", clock=clock)
    worker.start()
    yield Engine(settings, clock=clock)
    worker.stop()


def row_text(screen, slug: str) -> str:
    return " ".join(getattr(cell, "plain", str(cell)) for cell in screen.table.get_row(slug))


def summary_text(screen) -> str:
    return str(screen.query_one("#summary").render())


async def test_table_summary_and_log_pane_agree_on_the_job_and_tick_together(slow_engine, clock):
    app = AdsdashApp(slow_engine, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await select(pilot, "slow")
        job = slow_engine.submit("validate", "slow", origin="shell")  # from elsewhere, as cron would
        await until(pilot, lambda: "started" in header(screen), 20, "the pane to show the job running")
        # The pane saw it start: the table and the summary say so too, without waiting an hour.
        await until(pilot, lambda: "validate started" in row_text(screen, "slow")
                    and "1 running" in summary_text(screen), 5, "the table and the summary to agree")
        assert f"job {job.id} validate slow" in header(screen)

        reads = screen.loaded
        for seconds in (7, 14, 75, 3 * 3600 + 5):
            clock.now = NOW + timedelta(seconds=seconds)
            elapsed = timefmt.duration(seconds)
            # Both move on the same tick, from the same reading of the clock: whenever the pane
            # shows the new time, the table shows it already.
            await until(pilot, lambda elapsed=elapsed: f"elapsed {elapsed}" in header(screen), 5, elapsed)
            assert f"validate started {elapsed}" in row_text(screen, "slow"), (elapsed, row_text(screen, "slow"))
        assert screen.loaded == reads  # the times ticked without reading the store again

        slow_engine.cancel(job.id)  # as `adsdash cancel` would
        await until(pilot, lambda: "cancelled" in header(screen), 20, "the pane to show the job ended")
        await until(pilot, lambda: "validate cancelled" in row_text(screen, "slow")
                    and "0 running" in summary_text(screen), 5, "the table and the summary to agree again")
