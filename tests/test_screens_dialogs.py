"""Pilot tests of the dialogs: confirm, repair dates and report scope, on the real app."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import SIZE
from textual.widgets import Button, Input, Static

from adsdash.screens.dialogs import ConfirmDialog, RepairDialog, ReportDialog

TODAY = date(2025, 10, 13)


class Result:
    """Collects what a dialog was dismissed with."""

    def __init__(self):
        self.values = []

    def __call__(self, value):
        self.values.append(value)


async def type_into(pilot, selector: str, text: str) -> None:
    box = pilot.app.screen.query_one(selector, Input)
    box.focus()
    box.value = ""
    await pilot.press(*text)


def error_under(pilot, field: str) -> str:
    return str(pilot.app.screen.query_one(f"#{field}-error", Static).render())


def ok_disabled(pilot) -> bool:
    return pilot.app.screen.query_one("#ok", Button).disabled


async def test_repair_dialog_validates_as_you_type(sandbox_settings, make_app):
    app = make_app(sandbox_settings)
    result = Result()
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(RepairDialog("acme", date(2025, 9, 1), date(2025, 9, 30), TODAY), result)
        await pilot.pause()
        assert app.screen.query_one("#start", Input).value == "2025-09-01"
        assert not ok_disabled(pilot) and error_under(pilot, "start") == ""

        await type_into(pilot, "#start", "2025-02-30")
        assert "not a real YYYY-MM-DD date" in error_under(pilot, "start")
        assert ok_disabled(pilot)
        assert app.screen.query_one("#start", Input).has_class("-invalid")

        await type_into(pilot, "#start", "2025-09-10")
        await type_into(pilot, "#end", "2025-09-05")
        assert error_under(pilot, "start") == ""
        assert "before start" in error_under(pilot, "end") and ok_disabled(pilot)

        await type_into(pilot, "#end", "2025-10-14")
        assert "after today (2025-10-13)" in error_under(pilot, "end") and ok_disabled(pilot)

        await type_into(pilot, "#end", "2025-10-13")
        assert error_under(pilot, "end") == "" and not ok_disabled(pilot)
        await pilot.press("enter")
        await pilot.pause()
    assert result.values == [("2025-09-10", "2025-10-13")]


async def test_repair_dialog_enter_while_invalid_stays_and_escape_cancels(sandbox_settings, make_app):
    app = make_app(sandbox_settings)
    result = Result()
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(RepairDialog("acme", None, None, TODAY), result)
        await pilot.pause()
        assert ok_disabled(pilot)  # empty fields are not dates
        await type_into(pilot, "#start", "2025-9-1")
        await pilot.press("enter")
        assert isinstance(app.screen, RepairDialog) and result.values == []
        await pilot.press("escape")
        await pilot.pause()
    assert result.values == [None]


@pytest.mark.parametrize("keys, expected", [("y", True), ("enter", True), ("n", False), ("escape", False)])
async def test_confirm_dialog(sandbox_settings, make_app, keys, expected):
    app = make_app(sandbox_settings)
    result = Result()
    async with app.run_test(size=SIZE) as pilot:
        # Outside text in the body must not be read as markup.
        await app.push_screen(ConfirmDialog("Sure?", "[bold]not markup[/] \x1b[2J"), result)
        await pilot.pause()
        body = str(app.screen.query_one("#dialog-body", Static).render())
        assert "[bold]not markup[/]" in body and "\x1b" not in body
        await pilot.press(keys)
        await pilot.pause()
    assert result.values == [expected]


async def pick_kind(pilot, name: str) -> None:
    kinds = pilot.app.screen.query_one("#kinds")
    kinds.highlighted = kinds.get_option_index(name)
    await pilot.pause()
    kinds.focus()
    await pilot.press("enter")


async def test_report_dialog_fixed_scope_and_default(sandbox_settings, make_app):
    app = make_app(sandbox_settings)
    result = Result()
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(ReportDialog("acme"), result)
        await pilot.pause()
        await pilot.press("enter")  # the default scope is highlighted
        await pilot.pause()
        await app.push_screen(ReportDialog("acme"), result)
        await pilot.pause()
        await pick_kind(pilot, "LIFETIME")
        await pilot.pause()
    assert result.values == ["LAST-30-DAYS", "LIFETIME"]


async def test_report_dialog_quarter_validated_inline(sandbox_settings, make_app):
    app = make_app(sandbox_settings)
    result = Result()
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(ReportDialog("acme", TODAY), result)
        await pilot.pause()
        await pick_kind(pilot, "quarter")
        box = app.screen.query_one("#scope-value", Input)
        assert box.has_focus and box.value == "2025-Q3" and not ok_disabled(pilot)  # the last complete one
        await type_into(pilot, "#scope-value", "2025-Q5")
        assert "quarter must be 1–4" in error_under(pilot, "scope") and ok_disabled(pilot)
        await type_into(pilot, "#scope-value", "LIFETIME")  # a valid scope, but not a quarter
        assert "looks like 2025-Q3" in error_under(pilot, "scope") and ok_disabled(pilot)
        await pilot.press("enter")
        assert result.values == []
        await type_into(pilot, "#scope-value", "2025-q3")
        assert error_under(pilot, "scope") == "" and not ok_disabled(pilot)
        await pilot.press("enter")
        await pilot.pause()
    assert result.values == ["2025-Q3"]


async def test_report_dialog_month_range_validated_inline(sandbox_settings, make_app):
    app = make_app(sandbox_settings)
    result = Result()
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(ReportDialog("acme"), result)
        await pilot.pause()
        await pick_kind(pilot, "month range")
        await type_into(pilot, "#scope-value", "2025-03..2025-01")
        assert "starts after it ends" in error_under(pilot, "scope") and ok_disabled(pilot)
        await type_into(pilot, "#scope-value", "2025-13..2026-01")
        assert "month must be 01–12" in error_under(pilot, "scope")
        await type_into(pilot, "#scope-value", "2025-01..2025-03")
        assert not ok_disabled(pilot)
        await pilot.click("#ok")
        await pilot.pause()
    assert result.values == ["2025-01..2025-03"]
