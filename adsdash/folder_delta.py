"""Which clients a change of the ads_sync folder touches: two stamps (Workspace.stamp) compared
entry by entry, so a refresh of 1,000 clients looks again at the few whose files changed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# The folders stamped, and the ending of the names that belong to a client (an errors/ entry
# is the client's folder of error files: its time changes as files come and go in it).
ENDINGS = {"configs/clients": ".yaml", "state": ".json", "locks": ".lock", "errors": ""}


def slug_of(rel: str) -> str | None:
    """`state/acme.json` -> `acme`; None for a name no client reads."""
    folder, _, name = rel.rpartition("/")
    ending = ENDINGS.get(folder)
    if ending is None or not name.endswith(ending):
        return None
    return name[: len(name) - len(ending)] or None


def changed_slugs(before: Sequence[tuple], after: Sequence[tuple]) -> set[str]:
    """The clients with an entry added, removed or changed between two stamps."""
    if len(before) == len(after):  # side by side (a folder lists in the same order): an entry
        # gone or changed differs from what stands in its place in the other stamp
        changed: Iterable[tuple] = [entry for pair in zip(before, after, strict=True) if pair[0] != pair[1]
                                    for entry in pair]
    else:
        changed = set(before) ^ set(after)
    return {slug for entry in changed if (slug := slug_of(entry[0])) is not None}
