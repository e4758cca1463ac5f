"""A module's logger, made at its first use.

Importing `logging` costs a fresh process ~9 ms; the modules a submit passes through log only
when something goes wrong, so `adsdash run` should not pay for it (bench/bench_cli.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging


class _LazyLogger:
    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:  # only for what the instance lacks: warning, error, ...
        import logging

        return getattr(logging.getLogger(self._name), attr)


def get_logger(name: str) -> logging.Logger:
    """`logging.getLogger(name)`, imported and looked up when the first message is logged."""
    return _LazyLogger(name)  # type: ignore[return-value]  # it answers as the Logger it stands for
