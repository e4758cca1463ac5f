"""Column widths for the width a table has: on a narrow terminal the least needed columns
give way, on a wide one each column gets what its content needs. Pure (no Textual).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len


@dataclass(frozen=True)
class Fit:
    key: str
    least: int  # the narrowest it is still of use at
    most: int  # all it needs: its widest content (or label)
    rank: int  # on a narrow screen the highest rank gives way first; 0 stays longest


def fit_columns(fits: Sequence[Fit], room: int, gap: int = 2) -> dict[str, int]:
    """The width of each column shown, in the columns' order. Columns are taken by rank while
    each fits at its least (plus `gap`, the cell padding; the first by rank always); the room
    left is shared among them in proportion to what each still wants, none past its most.
    Room left after that stays empty: nothing is cut while there is space."""
    chosen: list[Fit] = []
    used = 0
    for fit in sorted(fits, key=lambda f: f.rank):
        if used + fit.least + gap <= room:
            chosen.append(fit)
            used += fit.least + gap
    widths = {fit.key: fit.least for fit in chosen}
    if not chosen and fits:  # too narrow for any: the first by rank, in what there is
        first = min(fits, key=lambda f: f.rank)
        widths[first.key] = max(1, min(first.least, room - gap))
        return widths
    spare = room - used
    while spare > 0:
        wanting = [fit for fit in chosen if widths[fit.key] < fit.most]
        if not wanting:
            break
        wants = sum(fit.most - widths[fit.key] for fit in wanting)
        given = 0
        for fit in wanting:
            share = min(fit.most - widths[fit.key], spare * (fit.most - widths[fit.key]) // wants)
            widths[fit.key] += share
            given += share
        if given == 0:  # the shares rounded down to nothing: a cell each, by rank
            for fit in sorted(wanting, key=lambda f: f.rank)[:spare]:
                widths[fit.key] += 1
                given += 1
        spare -= given
    return {fit.key: widths[fit.key] for fit in fits if fit.key in widths}


def widest(texts: Iterable[str]) -> int:
    """The widest of `texts` in terminal cells (0 for none); ASCII, the common case, by len."""
    return max((len(text) if text.isascii() else cell_len(text) for text in texts), default=0)
