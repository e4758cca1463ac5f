"""Which clients to show or sweep: the filter the clients screen's `/` takes, and the freshness
kinds the command line's `--freshness` takes. No Textual here.

A filter is words: `is:KIND` (fresh, late, stale, never, error; several, or `is:late,stale`,
match any of them), `is:marked` (the clients marked on screen), `is:gaps` (days missing in the
last 90 up to the watermark, or a master CSV that cannot be read), and any other text, which must
appear in the client's name or slug (case-insensitive). `is:late roof` is the late clients
whose name or slug holds "roof".
"""

from __future__ import annotations

from dataclasses import dataclass

from adsdash.catalogue import RequestError
from adsdash.freshness import Kind

KINDS: tuple[str, ...] = tuple(kind.value for kind in Kind)
MARKED = "marked"
GAPS = "gaps"
PREFIX = "is:"
SYNTAX = "name or slug; is:late is:stale is:error is:fresh is:never is:marked is:gaps"


def parse_kinds(text: str, *, what: str = "freshness") -> frozenset[str]:
    """`late,stale` -> {"late", "stale"}; an unknown or empty kind is refused in one line."""
    kinds = [part.strip().casefold() for part in text.split(",")]
    for kind in kinds:
        if kind not in KINDS:
            shown = repr(kind[:40]) if kind else "an empty name"
            raise RequestError(f"{what}: {shown} is not a freshness kind (one of: {', '.join(KINDS)})")
    return frozenset(kinds)


@dataclass(frozen=True)
class ClientFilter:
    text: str = ""  # casefolded; must appear in the name or the slug
    kinds: frozenset[str] = frozenset()  # any of these freshness kinds; empty: any kind
    marked: bool = False  # only marked clients
    gaps: bool = False  # only clients with gap days (or a CSV that cannot be read)
    problem: str | None = None  # an `is:` word not understood: then nothing matches, and this says why

    @property
    def empty(self) -> bool:
        return not (self.text or self.kinds or self.marked or self.gaps or self.problem)

    def matches(self, *, slug: str, name: str, kind: str, marked: bool = False, gaps: int | str | None = None) -> bool:
        """`gaps`: the client's gap days, or why its CSV cannot be read (None: unknown)."""
        if self.problem is not None:
            return False  # a typo must not widen the list a sweep acts on
        if self.kinds and kind not in self.kinds:
            return False
        if self.marked and not marked:
            return False
        if self.gaps and not gaps:
            return False
        return not self.text or self.text in name.casefold() or self.text in slug


def parse(query: str) -> ClientFilter:
    """The filter typed into `/` (see the module's docstring)."""
    words: list[str] = []
    kinds: set[str] = set()
    marked = gaps = False
    problem = None
    for word in query.split():
        if not word.casefold().startswith(PREFIX):
            words.append(word.casefold())
            continue
        value = word[len(PREFIX):].casefold()
        if value == MARKED:
            marked = True
            continue
        if value == GAPS:
            gaps = True
            continue
        parts = value.split(",")
        if all(part in KINDS for part in parts):
            kinds.update(parts)
        elif problem is None:
            problem = f"unknown filter {word[:40]} (is: takes {', '.join(KINDS)}, {MARKED} or {GAPS})"
    return ClientFilter(" ".join(words), frozenset(kinds), marked, gaps, problem)
