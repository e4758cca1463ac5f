"""The thread of one of a worker's helpers (the scheduler, the daily prune, the notifier)."""

from __future__ import annotations

import threading
from collections.abc import Callable

STOP_WAIT_SECONDS = 30.0  # how long stop() waits for the helper's current step to end


class HelperThread:
    """A daemon thread running `loop`, and the Event that stops it: the loop waits on
    `stopping` between its steps, so a stop cuts the wait short."""

    def __init__(self, name: str, loop: Callable[[], None]) -> None:
        self.name = name
        self._loop = loop
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_WAIT_SECONDS)
