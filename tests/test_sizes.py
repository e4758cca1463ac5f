"""Any terminal size: the clients screen at 80x20, 80x24, 160x45 and 220x60 (the pictures are
in test_snapshots_clients.py; here, what they must show, checked on the widgets).

The snapshot app: the sandbox workspace generated for a fixed moment, no worker, no refresh.
"""

from __future__ import annotations

from conftest import clients_settled, sandbox_slug, until

from adsdash.widgets.clients_table import COLUMNS
from adsdash.widgets.column_fit import Fit, fit_columns

FAILING = sandbox_slug("failing")


def footer_keys(screen) -> list:
    """The footer's keys on screen (a key cut off has no region): (key, right edge) of each."""
    return [(key.key, key.region.right) for key in screen.query("FooterKey") if key.region.width]


async def test_80x24_shows_the_name_the_freshness_and_the_main_keys(snapshot_app):
    app = snapshot_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await clients_settled(pilot)
        table = screen.table
        assert {"name", "fresh", "lag", "job"} <= table.widths.keys()
        assert sum(w + 2 for w in table.widths.values()) + 3 <= 80  # all in view: no column cut off
        main = {"question_mark", "q", "a", "v", "g", "slash"}
        # the footer settles over a frame or two (it goes compact once it sees it does not fit)
        await until(pilot, lambda: {k for k, _ in footer_keys(screen)} >= main
                    and all(right <= 80 for _, right in footer_keys(screen)), 5, "the main keys in the footer, in view")
        assert table.region.height >= 11  # the header and 10 clients
        summary = str(screen.query_one("#summary").render())
        assert "✓18 ◔5 ✗4 ◌2 !1" in summary and "0 running, 0 queued" in summary  # counts short, the jobs' shown


async def test_80x20_the_log_pane_gives_way_and_l_hides_it(snapshot_app):
    app = snapshot_app()
    async with app.run_test(size=(80, 20)) as pilot:
        screen = await clients_settled(pilot)
        table, log_pane = screen.table, screen.job_log
        assert table.region.height >= 11 and 0 < log_pane.region.height < 16
        await pilot.press("l")
        await until(pilot, lambda: not log_pane.display and table.region.height == 18, 5, "the list to take the rows")
        await pilot.press("l")
        await until(pilot, lambda: log_pane.display and log_pane.region.height > 0, 5, "the pane back")
        await pilot.press("slash")  # the filter box takes a row from the pane, not from the list

        def table_in_view() -> int:
            geometry = screen.find_widget(table)
            return geometry.region.intersection(geometry.clip).height

        await until(pilot, lambda: screen.query_one("#filter").region.height == 1, 5, "the filter box")
        assert table_in_view() >= 11, f"the list shows {table_in_view()} rows with the filter open"


async def test_wide_columns_use_the_width_and_a_resize_keeps_the_cursor(snapshot_app):
    app = snapshot_app()
    async with app.run_test(size=(220, 60)) as pilot:
        screen = await clients_settled(pilot)
        table = screen.table
        rows = table._all
        names = max(len(row.name) for row in rows)
        slugs = max(len(row.slug) for row in rows)
        assert slugs > 28 and table.widths["name"] >= names and table.widths["slug"] >= slugs  # nothing cut
        assert list(table.widths) == [key for key, _, _ in COLUMNS]  # every column shown
        table.select_slug(FAILING)
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: "slug" not in table.widths, 5, "the narrow layout")
        assert table.selected_slug == FAILING
        await pilot.resize_terminal(160, 45)
        await until(pilot, lambda: "slug" in table.widths, 5, "the wide layout")
        assert table.selected_slug == FAILING


def test_fit_columns_drops_by_rank_and_shares_the_room():
    fits = [Fit("a", 10, 30, 0), Fit("b", 5, 5, 2), Fit("c", 8, 20, 1)]
    assert fit_columns(fits, 40) == {"a": 17, "b": 5, "c": 12}  # 11 cells spare, shared 20:12 as a and c want
    assert fit_columns(fits, 22) == {"a": 10, "c": 8}  # b (rank 2) gives way first
    assert fit_columns(fits, 100) == {"a": 30, "b": 5, "c": 20}  # each its most; the rest left empty
    assert fit_columns(fits, 5) == {"a": 3}  # too narrow for any: the first by rank, in what there is
