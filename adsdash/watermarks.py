"""Each change of a client's watermarks that adsdash sees: from, to, when, and the job that
moved it (or none: it moved outside adsdash). A watermark that goes back is flagged.

Seen by the worker right after each of its jobs (that job moved it), by the app's background
count and by `adsdash history` (a change since the last look: the client's sync job that ended
since then moved it, else something outside adsdash did). One transaction compares and records,
so two processes seeing the same change record it once. No Textual here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, NamedTuple

from adsdash.lazy_log import get_logger
from adsdash.records import FINISHED, iso

if TYPE_CHECKING:
    from datetime import datetime

    from adsdash.store import Store
    from adsdash.workspace import Client

log = get_logger(__name__)
SCHEMA = (
    "create table if not exists watermark_history (id integer primary key, slug text not null,"
    " source text not null, from_date text, to_date text, observed_at text not null, job_id integer,"
    " backwards integer not null default 0)",
    "create index if not exists watermark_history_slug on watermark_history (slug, id)",
    # The watermark last seen per (client, source), and when: what a change is told against.
    "create table if not exists watermark_seen (slug text not null, source text not null, watermark text,"
    " seen_at text not null, primary key (slug, source)) without rowid",
)
MOVERS = ("append", "init", "repair")  # the commands that move a watermark


class Change(NamedTuple):
    id: int
    slug: str
    source: str
    from_date: str | None
    to_date: str | None
    observed_at: str
    job_id: int | None  # None: moved outside adsdash
    backwards: bool

    def to_dict(self) -> dict:
        return {**self._asdict(), "moved_by": f"job {self.job_id}" if self.job_id else "outside adsdash"}


def observe(store: Store, clients: Iterable[Client], now: datetime, *, job_id: int | None = None) -> list[Change]:
    """Record the watermarks that changed since they were last seen; the changes recorded.
    `job_id`: the job that just ended for these clients (the worker's view). Never raises:
    a failure is logged (a job's end or a screen's count goes on)."""
    try:
        return _observe(store, list(clients), iso(now), job_id)
    except Exception as exc:  # noqa: BLE001 - bookkeeping: never in the way of a job or a screen
        log.error("watermark history: cannot record: %s", exc)
        return []


def _observe(store: Store, clients: list[Client], now: str, job_id: int | None) -> list[Change]:
    seen_now = {(c.slug, source): (day.isoformat() if day else None)
                for c in clients for source, day in c.watermarks.items()}
    if not seen_now or not _differs(store, seen_now):
        return []  # the usual case: read, and no write transaction taken
    changes: list[Change] = []
    with store._write() as conn:  # compared and recorded in one transaction (see the module's docstring)
        seen = {(r[0], r[1]): (r[2], r[3]) for r in conn.execute("select slug, source, watermark, seen_at"
                                                                 " from watermark_seen")}
        for (slug, source), value in seen_now.items():
            before = seen.get((slug, source))
            if before is not None and before[0] == value:
                continue
            conn.execute("insert or replace into watermark_seen values (?, ?, ?, ?)", (slug, source, value, now))
            if before is None:  # the first look: nothing to compare with
                continue
            mover = job_id if job_id is not None else _mover(conn, slug, before[1])
            backwards = before[0] is not None and value is not None and value < before[0]
            cur = conn.execute("insert into watermark_history (slug, source, from_date, to_date, observed_at, job_id,"
                               " backwards) values (?, ?, ?, ?, ?, ?, ?)",
                               (slug, source, before[0], value, now, mover, int(backwards)))
            changes.append(Change(cur.lastrowid or 0, slug, source, before[0], value, now, mover, backwards))
    return changes


def _differs(store: Store, seen_now: dict[tuple[str, str], str | None]) -> bool:
    seen = {(r[0], r[1]): r[2] for r in store._conn().execute("select slug, source, watermark from watermark_seen")}
    return any(key not in seen or seen[key] != value for key, value in seen_now.items())


def _mover(conn, slug: str, since: str) -> int | None:
    """The client's sync job that finished since the old value was seen, if one did."""
    row = conn.execute(f"select id from jobs where slug = ? and status = ? and finished_at >= ? and command in"
                       f" ({', '.join('?' * len(MOVERS))}) order by finished_at desc limit 1",
                       (slug, FINISHED, since, *MOVERS)).fetchone()
    return row[0] if row else None


def history(store: Store, slug: str, limit: int = 200) -> list[Change]:
    rows = store._conn().execute("select id, slug, source, from_date, to_date, observed_at, job_id, backwards"
                                 " from watermark_history where slug = ? order by id desc limit ?", (slug, limit))
    return [Change(row[0], row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7])) for row in rows]


def parse(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None
