"""The audit: who changed what, when, from where and through what, in an append-only table.

Every action that changes something is one row: queue, cancel, retry, force-unlock (the lock
found as the worker starts the CLI), schedule pause and resume, prune, snooze. A row says when,
which user, from where (the SSH client's address, when there is one), through what (app, shell,
schedule NAME, worker), the action and its target, and the outcome: `ok`, or `refused` with the
reason. SQLite keeps it append-only: triggers abort any UPDATE or DELETE on the table (schema 6).

An audit write never stops the action it records: `record` logs a failure and goes on.
A sweep's rows go in one transaction (`record` takes many). Light to import: a submit loads it.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from adsdash.lazy_log import get_logger
from adsdash.records import iso

if TYPE_CHECKING:
    from adsdash.store import Store

log = get_logger(__name__)

OK, REFUSED = "ok", "refused"
QUEUE, CANCEL, RETRY, FORCE_UNLOCK = "queue", "cancel", "retry", "force-unlock"
PAUSE, RESUME, PRUNE, SNOOZE = "pause", "resume", "prune", "snooze"
ACTIONS = (QUEUE, CANCEL, RETRY, FORCE_UNLOCK, PAUSE, RESUME, PRUNE, SNOOZE)

SCHEMA = (
    "create table if not exists audit (id integer primary key, at text not null, user text, address text,"
    " origin text, action text not null, target text not null, slug text, job_id integer,"
    " outcome text not null, reason text, detail text)",
    "create index if not exists audit_at on audit (at)",
    # Append-only: a row once written is never changed nor removed, by adsdash or anyone with the file.
    "create trigger if not exists audit_no_update before update on audit"
    " begin select raise(abort, 'the audit is append-only: rows cannot be changed'); end",
    "create trigger if not exists audit_no_delete before delete on audit"
    " begin select raise(abort, 'the audit is append-only: rows cannot be deleted'); end",
)
_COLUMNS = ("at", "user", "address", "origin", "action", "target", "slug", "job_id", "outcome", "reason", "detail")
_SINCE = re.compile(r"^\s*(\d{1,6})\s*([mhdw])\s*$", re.IGNORECASE)
_UNIT = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class Entry(NamedTuple):
    """One row of the audit."""
    at: str  # UTC, ISO
    user: str | None
    address: str | None  # the SSH client's address; None when local
    origin: str | None  # app, shell, schedule NAME, worker
    action: str
    target: str  # what, for people: `append acme`, `job 12 (append acme)`, `schedule nightly`
    slug: str | None = None
    job_id: int | None = None
    outcome: str = OK
    reason: str | None = None  # why it was refused
    detail: dict[str, Any] | None = None  # the action's facts: a lock's pid/host/age, prune counts
    id: int | None = None  # set once stored

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()

    @property
    def who(self) -> str:
        """`ana from 10.0.0.5 via app`, as a job's `asked`."""
        text = self.user or "?"
        if self.address:
            text += f" from {self.address}"
        return text + (f" via {self.origin}" if self.origin else "")


def entry(action: str, target: str, *, origin: str | None, at: datetime, slug: str | None = None,
          job_id: int | None = None, refused: str | None = None, detail: dict[str, Any] | None = None,
          user: str | None = None, address: str | None = None) -> Entry:
    """A row for an action taken now by this process's user (or by `user` from `address`, for an
    action done on someone's behalf: a worker unlocking for the job's requester). `refused`: why not."""
    if user is None:
        from adsdash.engine import requester  # here: engine imports this module

        user, address = requester()
    return Entry(iso(at), user, address, origin, action, target, slug, job_id, REFUSED if refused else OK,
                 refused, detail)


def insert(conn: sqlite3.Connection, entries: Sequence[Entry]) -> None:
    """Insert within the caller's transaction."""
    conn.executemany(
        f"insert into audit ({', '.join(_COLUMNS)}) values ({', '.join('?' * len(_COLUMNS))})",
        [(*e[:10], json.dumps(e.detail, default=str) if e.detail is not None else None) for e in entries])


def record(store: Store, entries: Sequence[Entry]) -> bool:
    """Write the rows in one transaction. Never raises: a failed audit write is logged, and the
    action it records goes on (a job must never stop for its audit)."""
    if not entries:
        return True
    try:
        with store._write() as conn:
            insert(conn, entries)
        return True
    except Exception as exc:  # noqa: BLE001 - a store fault, a missing table, anything: logged, never raised
        log.error("audit: cannot record %d row(s) (%s %s ...): %s", len(entries), entries[0].action,
                  entries[0].target, exc)
        return False


def record_snooze(store: Store, slug: str, *, until: str, origin: str, at: datetime,
                  refused: str | None = None) -> bool:
    """A client's alerts snoozed (until an ISO time, or `fresh`): for the notifications' snooze."""
    return record(store, [entry(SNOOZE, slug, origin=origin, at=at, slug=slug, refused=refused,
                                detail={"until": until})])


def parse_since(text: str, now: datetime) -> datetime:
    """`24h`, `7d`, `30m`, `2w` before `now`, or an ISO date or time (local when it names no
    zone). ValueError with a readable message otherwise."""
    if match := _SINCE.match(text):
        return now - timedelta(**{_UNIT[match[2].lower()]: int(match[1])})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--since: expected a duration like 24h, 7d, 30m, 2w or an ISO date or time,"
                         f" got {text[:40]!r}") from None
    return moment if moment.tzinfo else moment.astimezone()


def read(store: Store, *, since: datetime | None = None, user: str | None = None, action: str | None = None,
         limit: int | None = 1000, before_id: int | None = None) -> list[Entry]:
    """Rows newest first, filtered."""
    where, params = [], []
    for clause, value in (("at >= ?", iso(since) if since else None), ("user = ?", user),
                          ("action = ?", action), ("id < ?", before_id)):
        if value is not None:
            where.append(clause)
            params.append(value)
    sql = "select * from audit" + (" where " + " and ".join(where) if where else "") + " order by id desc"
    if limit is not None:
        sql += " limit ?"
        params.append(limit)
    return [_entry(row) for row in store._conn().execute(sql, params)]


def newest_id(store: Store) -> int | None:
    """The newest row's id: what the audit screen watches."""
    return store._conn().execute("select max(id) from audit").fetchone()[0]


def _entry(row: sqlite3.Row) -> Entry:
    try:
        detail = json.loads(row["detail"]) if row["detail"] else None
    except ValueError:  # the file is anyone's to write: a row that is not JSON shows as text
        detail = {"text": row["detail"]}
    return Entry(row["at"], row["user"], row["address"], row["origin"], row["action"], row["target"], row["slug"],
                 row["job_id"], row["outcome"], row["reason"], detail if isinstance(detail, dict) else
                 {"value": detail}, row["id"])


def describe(detail: dict[str, Any] | None) -> str:
    """`pid 4242, host web1, age 5h02m`: an entry's facts on one line."""
    if not detail:
        return ""
    return ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in detail.items() if value is not None)
