"""A job's output, kept in chunks: one row holds a run of consecutive lines of one stream.

A row per line costs SQLite about 3 µs to insert here, so a million-line job would cost the
worker seconds of CPU; a row per chunk (up to CHUNK_BYTES of lines read together) costs
almost nothing, and reading back splits a chunk in C. A chunk's lines are joined by "\\n"
(a line never holds one: the runner split on it). Its data is text when every line is UTF-8,
else the exact bytes (lines that do not decode come back as bytes, kept exactly).
The Store's line methods (store.py) are the way in; this module knows the table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from itertools import repeat
from typing import NamedTuple

CHUNK_BYTES = 256 << 10  # a chunk grows to about this much, then a new one starts

SCHEMA = (
    "create table if not exists chunks (job_id integer not null, first_seq integer not null,"
    " last_seq integer not null, t real not null, stream text not null, data not null,"
    " primary key (job_id, first_seq)) without rowid"
)


class Line(NamedTuple):
    seq: int
    t: float  # when the worker read it (epoch seconds)
    stream: str
    text: str | bytes  # bytes when the CLI printed invalid UTF-8: kept exactly

    @property
    def as_text(self) -> str:
        return self.text if isinstance(self.text, str) else self.text.decode("utf-8", "replace")


class Chunk(NamedTuple):
    first_seq: int
    last_seq: int
    t: float
    stream: str
    data: str | bytes

    @property
    def size(self) -> int:
        return len(self.data)


def make_chunk(first_seq: int, count: int, t: float, stream: str, raw: bytes) -> Chunk:
    """`count` lines joined by newlines, as text if they all decode."""
    try:
        data: str | bytes = raw.decode("utf-8")
    except UnicodeDecodeError:
        data = bytes(raw)
    return Chunk(first_seq, first_seq + count - 1, t, stream, data)


def merged(before: Chunk, after: Chunk) -> Chunk | None:
    """One chunk for two that follow each other in one stream, if it stays small enough."""
    if before.stream != after.stream or before.last_seq + 1 != after.first_seq \
            or before.size + after.size > CHUNK_BYTES:
        return None
    if isinstance(before.data, str) and isinstance(after.data, str):
        data: str | bytes = before.data + "\n" + after.data
    else:
        data = _raw(before.data) + b"\n" + _raw(after.data)
    return Chunk(before.first_seq, after.last_seq, before.t, before.stream, data)


def _raw(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def _texts(data: str | bytes) -> list[str | bytes]:
    if isinstance(data, str):
        return data.split("\n")  # type: ignore[return-value]  # list[str] is a list[str | bytes]
    return list(map(_decoded, data.split(b"\n")))


def _decoded(raw: bytes) -> str | bytes:
    """A line as text, or as the bytes it is when they are not UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def insert(conn: sqlite3.Connection, job_id: int, chunks: list[Chunk]) -> int:
    """Store chunks (inside the caller's transaction); returns the number of lines."""
    conn.executemany("insert into chunks (job_id, first_seq, last_seq, t, stream, data) values (?, ?, ?, ?, ?, ?)",
                     [(job_id, *chunk) for chunk in chunks])
    return sum(chunk.last_seq - chunk.first_seq + 1 for chunk in chunks)


def _rows(conn: sqlite3.Connection, job_id: int, after: int, stream: str | None) -> sqlite3.Cursor:
    """(first_seq, last_seq, t, stream, data) of the chunks holding lines with seq > after, in order."""
    # Seek by the primary key: the chunk holding `after + 1` is the last one starting at or before it.
    sql = ("select first_seq, last_seq, t, stream, data from chunks where job_id = ?1 and first_seq >= coalesce("
           "(select max(first_seq) from chunks where job_id = ?1 and first_seq <= ?2), 0) and last_seq > ?3")
    params: list[object] = [job_id, after + 1, after]
    if stream:
        sql += " and stream = ?4"
        params.append(stream)
    return conn.execute(sql + " order by first_seq", params)


def iter_chunks(conn: sqlite3.Connection, job_id: int, after: int, stream: str | None = None) -> Iterator[Chunk]:
    """The lines with seq > after as whole chunks (the first one cut to start after `after`):
    for reading a job's output back at the speed of the disk, without an object per line."""
    for row in map(Chunk._make, _rows(conn, job_id, after, stream)):
        if row.first_seq > after:
            yield row
            continue
        start = after + 1 - row.first_seq
        if isinstance(row.data, str):
            data: str | bytes = "\n".join(row.data.split("\n")[start:])
        else:
            data = b"\n".join(row.data.split(b"\n")[start:])
        yield row._replace(first_seq=after + 1, data=data)


def texts_of(data: str | bytes) -> list[str]:
    """A chunk's lines as text (lines that are not UTF-8 decoded with replacement)."""
    return data.split("\n") if isinstance(data, str) else data.decode("utf-8", "replace").split("\n")


def iter_lines(conn: sqlite3.Connection, job_id: int, after: int, stream: str | None = None) -> Iterator[Line]:
    """Lines with seq > after, in order (of one stream, if given), read chunk by chunk."""
    for first, last, t, chunk_stream, data in _rows(conn, job_id, after, stream):
        separator = "\n" if isinstance(data, str) else b"\n"
        start = max(0, after + 1 - first)
        # Only the lines after `after`, split off from the end and decoded as they are taken:
        # following a flood, the log pane takes a screenful from the end of a chunk of thousands.
        pieces = data.rsplit(separator, last - first + 1 - start)[1:] if start else data.split(separator)
        texts = pieces if isinstance(data, str) else map(_decoded, pieces)
        count = len(pieces)
        yield from map(Line._make, zip(range(first + start, first + start + count), repeat(t, count),
                                       repeat(chunk_stream, count), texts, strict=True))


def find(conn: sqlite3.Connection, job_id: int, term: str, *, after: int, before: int | None) -> int | None:
    """The seq of the first line after `after` (or the last before `before`) containing `term`,
    case-insensitive for ASCII (as SQL's LIKE, which picks the chunks to look in)."""
    pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    needle = term.lower()
    if before is not None:
        where, order, bound = "first_seq < ?", "desc", before
    else:
        where, order, bound = "last_seq > ?", "asc", after
    # A chunk of bytes (invalid UTF-8) is looked into line by line: LIKE finds nothing in a BLOB.
    rows = conn.execute(f"select first_seq, data from chunks where job_id = ? and {where}"
                        f" and (data like ? escape '\\' or typeof(data) = 'blob') order by first_seq {order}",
                        (job_id, bound, pattern))
    for first, data in rows:
        seqs = range(first, first + len(texts := _texts(data)))
        pairs = zip(seqs, texts, strict=True)
        for seq, text in (reversed(list(pairs)) if before is not None else pairs):
            if (seq < before if before is not None else seq > after) and needle in _lower(text):
                return seq
    return None


def _lower(text: str | bytes) -> str:
    return (text if isinstance(text, str) else text.decode("utf-8", "replace")).lower()


def migrate_from_lines(conn: sqlite3.Connection) -> None:
    """Schema 2 kept a row a line: each becomes a chunk of one."""
    conn.execute(SCHEMA)
    conn.execute("insert into chunks (job_id, first_seq, last_seq, t, stream, data)"
                 " select job_id, seq, seq, t, stream, coalesce(text, '') from lines")
    conn.execute("drop table lines")
