"""Input first: while a flood streams, a key's effect reaches the screen before more log lines do."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.app import App

MAX_HOLD_SECONDS = 0.1  # a key that runs no action (typing in a box) holds the pane this long at most


class InputFirst:
    """From a key until the frame that shows what it did, the log pane does not move (it would
    make that frame draw every line in view anew). Owned by the app; asked by the pane."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until = 0.0

    def key(self) -> None:
        self._until = self._clock() + MAX_HOLD_SECONDS

    def acted(self, app: App) -> None:
        """An action ran: the hold ends once the screen has drawn it (unless a newer key came)."""
        held = self._until
        if held:
            app.call_after_refresh(self._release, held)

    def _release(self, held: float) -> None:
        if self._until == held:
            self._until = 0.0

    def holding(self) -> bool:
        return self._until > 0.0 and self._clock() < self._until
