"""A refresh that lands while the app closes finds the clients screen's widgets going one by one:
it must be dropped, not raise NoMatches (which fails the app, and made tests flaky)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from conftest import SIZE, until
from textual.worker import WorkerState

from adsdash.screens.clients import ClientsScreen
from adsdash.widgets.clients_table import ClientsTable
from adsdash.widgets.job_log import JobLog
from adsdash.widgets.summary_bar import SummaryBar


@pytest.mark.parametrize("gone", [SummaryBar, JobLog, ClientsTable])
async def test_a_read_landing_after_a_widget_went_is_dropped(sandbox_settings, make_app, gone):
    app = make_app(sandbox_settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await until(pilot, lambda: isinstance(app.screen, ClientsScreen) and app.screen.loaded and app.screen)
        # the gap days, counted after the first read, make a read of their own: let it land first
        await until(pilot, lambda: screen.data.fingerprint[-1:] == (1,) and not screen._counting, what="the count")
        await screen.query_one(gone).remove()  # as teardown does, in an order of its own
        loaded = screen.loaded
        screen.reload()
        await pilot.pause(1.2)  # the read lands; the clock's tick too finds the widget gone, and does nothing
        reads = [w for w in app.workers if w.group == "clients"]  # (a timer's may replace it: cancelled)
        await until(pilot, lambda: all(read.is_finished for read in reads), what="the reads")
        assert {read.state for read in reads} <= {WorkerState.SUCCESS, WorkerState.CANCELLED}  # none failed
        assert screen.loaded == loaded  # dropped, not half applied


# Holds the store's write lock (as another process writing would) until its stdin closes.
LOCK_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("begin immediate")
print("locked", flush=True)
sys.stdin.read()
conn.execute("rollback")
"""


async def test_a_read_that_outlives_the_app_ends_quietly(sandbox_settings, make_app, caplog):
    """The clients screen's reads run in threads that may outlive the app. The first count of the
    gap days starts by recording the watermarks seen, which waits here for another process's
    write; the app closes meanwhile. The count then needs nothing of the app (what it uses was
    taken before it started) and stops, its worker cancelled, without reading a CSV."""
    app = make_app(sandbox_settings)
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(sandbox_settings.store_path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"locked\n"
        async with app.run_test(size=SIZE) as pilot:
            screen = await until(pilot, lambda: isinstance(app.screen, ClientsScreen) and app.screen.loaded
                                 and app.screen)
            assert screen._counting  # the first count, waiting for the lock
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    for _ in range(200):  # it goes on, the app closed
        if not screen._counting:
            break
        await asyncio.sleep(0.05)
    assert not screen._counting
    assert not [r.getMessage() for r in caplog.records if "read failed" in r.getMessage()]
    assert app.engine.coverage.generation == 0  # stopped before counting anything
