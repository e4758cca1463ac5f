"""Sweeps asked from the clients screen: `a`, `v`, `g` with clients marked, and the palette's
"every late and stale client" and "every client". One confirmation names the count and the
first few clients; then the command is queued once for each, worst first (sweeps.py), and a
toast says how many were queued, already queued or running, and refused."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from functools import partial
from typing import TYPE_CHECKING

from adsdash import sweeps
from adsdash.screens.dialogs import ConfirmDialog, ReportDialog

if TYPE_CHECKING:
    from adsdash.screens.clients import ClientsScreen

# The palette's sweeps: title, command, freshness kinds (none: every client), who they reach.
PALETTE_SWEEPS: tuple[tuple[str, str, frozenset[str], str], ...] = (
    ("Append every late and stale client", "append", frozenset({"late", "stale"}), "every late and stale client"),
    ("Validate every client", "validate", frozenset(), "every client"),
)


def _clients(count: int) -> str:
    return f"{count} client{'' if count == 1 else 's'}"


def sweep_marked(screen: ClientsScreen, command: str) -> None:
    """The command for every marked client (a report asks for its scope first)."""
    if not screen.writable():
        return
    marked = sorted(screen.table.marks)
    whom = f"the {len(marked)} marked client{'' if len(marked) == 1 else 's'}"
    if command != "report":
        ask_sweep(screen, command, marked, whom)
        return

    def with_scope(scope: str | None) -> None:
        if scope:
            ask_sweep(screen, command, marked, whom, scope=scope)

    today = screen.adsdash.clock().astimezone().date()
    screen.app.push_screen(ReportDialog(whom, today), with_scope)


def palette_sweeps(screen: ClientsScreen) -> list[tuple[str, str, Callable[[], object]]]:
    """(title, help, callback) of each of the palette's sweeps."""
    return [(title, f"{command} · {whom} · worst first, asks first",
             partial(_sweep_kinds, screen, command, kinds, whom))
            for title, command, kinds, whom in PALETTE_SWEEPS]


def _sweep_kinds(screen: ClientsScreen, command: str, kinds: Collection[str], whom: str) -> None:
    if screen.writable():
        slugs = sweeps.choose(screen.data.clients.values(), kinds=kinds)
        ask_sweep(screen, command, slugs, f"{whom} ({_clients(len(slugs))})" if slugs else whom)


def ask_sweep(screen: ClientsScreen, command: str, slugs: Sequence[str], whom: str, *,
              scope: str | None = None) -> None:
    """One confirmation, then `command` for each of `slugs`, worst first; after it ran, the
    screen's marks are cleared (ClientsScreen.swept)."""
    app = screen.adsdash
    ordered = sweeps.choose(screen.data.clients.values(), slugs=slugs)
    if not ordered:
        app.refuse(f"{command}: no client to sweep ({whom})")
        return
    what = f"{command} --scope {scope}" if scope else command
    body = (f"Queue {what} for {whom}, worst first:\n{sweeps.first_few(ordered)}\n"
            f"A client that already has {command} queued or running gets no second one.")
    if command == "report":
        body += "\nA client whose data lacks days of the scope gets an append first, the report after it."

    def answer(ok: bool | None) -> None:
        params = {"scope": scope} if scope else {}
        if ok and app.sweep_jobs(command, ordered, append_if_lacking=command == "report", **params) is not None:
            screen.swept()

    app.push_screen(ConfirmDialog(f"{command.capitalize()} {_clients(len(ordered))}?", body), answer)
