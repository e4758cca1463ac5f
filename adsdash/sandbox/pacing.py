"""Sleeps that stand in for API and pandas time, scaled by ADS_SYNC_SANDBOX_SPEED."""

from __future__ import annotations

import math
import os
import time

SPEED_ENV = "ADS_SYNC_SANDBOX_SPEED"

# Per-client multiplier from the config's `sandbox.delay_factor`; set once the config is read.
_client_factor = 1.0


def scale() -> float:
    """The time scale: 1 realistic, 0 no sleeps; anything unreadable counts as 1."""
    try:
        value = float(os.environ.get(SPEED_ENV, "1"))
    except ValueError:
        return 1.0
    return value if math.isfinite(value) and value >= 0 else 1.0


def set_client_factor(factor: object) -> None:
    global _client_factor  # noqa: PLW0603 - one client per sandbox process: set once, read by every pause
    try:
        value = float(factor)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = 1.0
    _client_factor = value if math.isfinite(value) and value >= 0 else 1.0


def pause(seconds: float) -> None:
    """Sleep `seconds` of realistic time (interruptible by SIGINT like any sleep)."""
    scaled = seconds * scale() * _client_factor
    if scaled > 0:
        time.sleep(scaled)
