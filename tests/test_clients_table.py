"""A refresh that changes a few of many rows touches only those (ClientsTable.show): what it
shows must be exactly what showing the same rows from scratch shows."""

from __future__ import annotations

import random

from textual.app import App, ComposeResult

from adsdash.widgets.clients_table import COLUMNS, Cell, ClientRow, ClientsTable

KINDS = ("fresh", "late", "stale", "error", "never")


def make_row(i: int, *, severity: int, lag: int | None, job: str = "—", name: str | None = None) -> ClientRow:
    slug = f"client-{i:03d}"
    name = name or f"Client {i:03d}"
    texts = (name, slug, "2026-11-28", f"{lag}d" if lag is not None else "—", "", KINDS[severity % 5], job, "—")
    assert len(texts) == len(COLUMNS)
    return ClientRow(slug, name, severity, lag, None, tuple(Cell((text, None)) for text in texts),
                     KINDS[severity % 5])


class TableApp(App):
    def compose(self) -> ComposeResult:
        yield ClientsTable()


def shown(table: ClientsTable) -> list[tuple[str, ...]]:
    """Each row shown, in order: its slug and the text of each cell."""
    return [(slug, *(cell.plain for cell in table.get_row(slug)[1:])) for slug in table.shown_slugs]


async def test_a_refresh_of_a_few_rows_shows_what_showing_them_all_anew_shows():
    rng = random.Random(7)
    rows = [make_row(i, severity=rng.randrange(5), lag=rng.choice([None, 0, 1, 4, 9])) for i in range(200)]
    async with TableApp().run_test(size=(160, 40)) as pilot:
        table = pilot.app.query_one(ClientsTable)
        table.show(rows, needle="is:late")  # a filter on: rows come and go as their kind changes
        for round_ in range(30):
            rows = list(rows)
            for at in rng.sample(range(len(rows)), 3):  # as a refresh: most rows the same objects
                old = rows[at]
                index = int(old.slug.rsplit("-", 1)[1])
                rows[at] = make_row(index, severity=rng.randrange(5), lag=rng.choice([None, 0, 1, 4, 9]),
                                    job=f"append finished {round_}m ago", name=old.name)
            table.show(rows)
            await pilot.pause()
            fresh = ClientsTable()
            await pilot.app.mount(fresh)
            fresh.show(rows, needle="is:late")
            assert shown(table) == shown(fresh), f"round {round_}"
            assert not table.order_waiting
            await fresh.remove()


async def test_a_row_whose_place_changes_moves_unless_held():
    rows = [make_row(i, severity=1, lag=i) for i in range(50)]
    async with TableApp().run_test(size=(160, 40)) as pilot:
        table = pilot.app.query_one(ClientsTable)
        table.show(rows)
        last = table.shown_slugs[-1]
        assert last == "client-000"  # the least behind
        rows = [make_row(0, severity=0, lag=99) if row.slug == last else row for row in rows]  # now the worst
        table.show(rows, hold=True)
        assert table.shown_slugs[-1] == last and table.order_waiting  # held, a new order waiting
        table.show(rows)
        assert table.shown_slugs[0] == "client-000" and not table.order_waiting
