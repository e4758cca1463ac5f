"""What the command line prints: JSON for scripts, or text and Rich tables for people.

Outside text (names, errors, CLI output) is cleaned by `sanitize` before it reaches the
terminal and always goes in as `Text`, never as markup. JSON is ASCII-escaped, so no
byte of it can drive a terminal either.

Rich is loaded only to draw: a table, or a styled line on a terminal. A line of text to a
file or a pipe, where Rich would print it as it is, is written without it, and a job's
output always is (a page of lines in one write).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from functools import cached_property
from json.encoder import encode_basestring_ascii  # what json.dumps does for a str, without its checks
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from adsdash import sanitize, timefmt
from adsdash.chunks import Chunk
from adsdash.exits import exit_phrase, exit_text
from adsdash.output_file import chunk_bytes

if TYPE_CHECKING:
    from rich.console import Console

    from adsdash.store import Job, Line
    from adsdash.workspace import Client


def _jsonable(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"not JSON: {type(value).__name__}")


def client_dict(client: Client) -> dict[str, Any]:
    from dataclasses import asdict  # here: the workspace's values are dataclasses, a submit's are not

    data = client.data_status()
    data.update(
        name=client.name, customer_id=client.customer_id, timezone=client.timezone,
        freshness=client.freshness.kind.value, lag_days=client.freshness.lag_days,
        freshness_reason=client.freshness.reason,
        watermarks={k: v.isoformat() if v else None for k, v in client.watermarks.items()},
        lock=asdict(client.lock) if client.lock else None,
        newest_error=asdict(client.newest_error) if client.newest_error else None,
        problems=list(client.problems),
    )
    return data


def _unstyled(stream: TextIO) -> bool:
    """Whether Rich would print to `stream` without any escape sequence: it is no terminal,
    and no TTY_COMPATIBLE or FORCE_COLOR says to treat it as one (Rich's own rules). Then a
    plain write prints exactly what Rich would."""
    if "TTY_COMPATIBLE" in os.environ or "FORCE_COLOR" in os.environ:
        return False
    try:
        return not stream.isatty()
    except ValueError:  # closed: let Rich have its say
        return False


class Printer:
    def __init__(self, *, json_mode: bool = False):
        self.json_mode = json_mode

    @cached_property
    def console(self) -> Console:
        from rich.console import Console

        # Piped text (not --json) keeps whole cells: a wide page instead of 80 columns.
        width = None if sys.stdout.isatty() else 240
        return Console(highlight=False, soft_wrap=True, width=width)

    @cached_property
    def err(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, highlight=False, soft_wrap=True)

    def _say(self, text: str, *, style: str = "", err: bool = False, whole: str = "") -> None:
        """One line of clean text, on stdout or stderr: `style` for the whole print, `whole`
        for the text (as Text(text, style=whole)); unstyled, written as it is."""
        stream = sys.stderr if err else sys.stdout
        if _unstyled(stream):
            stream.write(text + "\n")
            stream.flush()  # as Rich does after each print
            return
        from rich.text import Text

        (self.err if err else self.console).print(Text(text, style=whole), style=style or None)

    # -- basics ------------------------------------------------------------

    def dump(self, data: Any) -> None:
        sys.stdout.write(json.dumps(data, default=_jsonable, ensure_ascii=True, indent=2) + "\n")
        sys.stdout.flush()

    def error(self, message: str) -> None:
        self._say("adsdash: error: " + sanitize.one_line(message, 1000), whole="bold red", err=True)

    def note(self, message: str) -> None:
        """Progress for people: stderr, so --follow's stdout is the job's output alone."""
        self._say(sanitize.one_line(message), style="dim", err=True)

    def notes(self, lines: Sequence[str]) -> None:
        """A block for people on stderr, each line whole (export lines must stay copyable)."""
        for line in lines:
            self._say(sanitize.plain(line), style="dim", err=True)

    def text(self, message: str) -> None:
        self._say(sanitize.plain(message))

    def record(self, data: dict[str, Any], message: str) -> None:
        self.dump(data) if self.json_mode else self.text(message)

    def lines(self, lines: Sequence[str], *, data: Any) -> None:
        if self.json_mode:
            self.dump(data)
        else:
            for line in lines:
                print(sanitize.plain(line))

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[Any]], *, data: Any) -> None:
        if self.json_mode:
            self.dump(data)
            return
        from rich.table import Table

        table = Table(*headers, box=None, pad_edge=False, header_style="bold")
        for row in rows:
            table.add_row(*(sanitize.cell(str(v) if v is not None else "—", 200) for v in row))
        self.console.print(table)

    # -- clients -----------------------------------------------------------

    def clients(self, clients: list[Client]) -> None:
        from adsdash.freshness import SYMBOL

        rows = []
        for c in clients:
            f = c.freshness
            rows.append((c.name, c.slug, c.data_status()["watermark_date"] or "—",
                         "—" if f.lag_days is None else f"{f.lag_days}d", f"{SYMBOL[f.kind]} {f.kind.value}",
                         _lock_text(c), "; ".join(c.problems) or ""))
        self.table(["client", "slug", "watermark", "lag", "freshness", "lock", "problems"], rows,
                   data=[client_dict(c) for c in clients])

    def client_status(self, client: Client) -> None:
        if self.json_mode:
            self.dump(client_dict(client))
            return
        from adsdash.freshness import SYMBOL

        d = client_dict(client)
        rows = [("client", client.name), ("slug", client.slug), ("timezone", client.timezone),
                ("freshness", f"{SYMBOL[client.freshness.kind]} {d['freshness']}"
                              + (f" (lag {d['lag_days']}d)" if d["lag_days"] is not None else "")),
                *[(f"watermark {k}", v or "—") for k, v in d["watermarks"].items()],
                ("last append", d["last_append_timestamp"] or "—"), ("last sync", d["last_sync"] or "—"),
                ("lock", _lock_text(client) or "none")]
        if client.newest_error:
            e = client.newest_error
            rows.append(("newest error", f"{e.command or '?'}: {e.message or '?'} ({e.path.name})"))
            if e.start_date and e.end_date:
                rows.append(("repair with",
                             f"adsdash run repair {client.slug} --start {e.start_date} --end {e.end_date}"))
        rows += [("problem", p) for p in client.problems]
        self.table(["", ""], rows, data=None)

    # -- jobs --------------------------------------------------------------

    def job(self, job: Job) -> None:
        if self.json_mode:
            self.dump(job.to_dict())
            return
        rows = [("job", job.id), ("client", job.slug), ("command", " ".join([job.command, *_args(job)])),
                ("status", job.status), ("queued", timefmt.local(job.queued_at)),
                ("started", timefmt.local(job.started_at)), ("finished", timefmt.local(job.finished_at)),
                ("elapsed", timefmt.duration(job.elapsed())), ("exit code", exit_text(job.exit_code)),
                ("result", job.result), ("error", job.error), ("lines", job.line_count),
                *([("output", job.output_note)] if job.output_note else []),
                *([("output", f"pruned on {timefmt.local(job.output_pruned_at)}")] if job.output_pruned_at else []),
                ("asked by", job.asked)]
        self.table(["", ""], rows, data=None)

    def jobs(self, jobs: list[Job]) -> None:
        rows = [(j.id, j.slug, " ".join([j.command, *_args(j)]),
                 f"waits for job {j.waits_for}" if j.waits_for is not None else j.status, timefmt.local(j.queued_at),
                 timefmt.duration(j.elapsed()), exit_text(j.exit_code), j.error or j.result or "") for j in jobs]
        self.table(["id", "client", "command", "status", "queued", "elapsed", "exit", "result / error"], rows,
                   data=[j.to_dict() for j in jobs])

    def result(self, job: Job, stdout: Iterable[Chunk], stderr: Iterable[Chunk]) -> None:
        """The job, then its stdout and its stderr, each given chunk by chunk and printed as it
        comes: a million-line job never sits in memory whole. The JSON is what `dump` would
        write for the whole object, each stream one string of its lines joined by newlines."""
        if not self.json_mode:
            self._say(f"job {job.id} {job.status}, {exit_phrase(job.exit_code)}", whole="bold")
            for name, pieces in (("stdout", stdout), ("stderr", stderr)):
                self._say(f"--- {name} ---", whole="dim")
                self.chunks(pieces, raw=False)
            return
        write = sys.stdout.write
        write("{\n")
        for key, value in (("job_id", job.id), ("status", job.status), ("exit_code", job.exit_code)):
            write(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=True)},\n")
        for key, pieces in (("stdout", stdout), ("stderr", stderr)):
            write(f'  "{key}": "')
            joiner = ""
            for piece in pieces:  # the chunk's lines as one string body, escaped exactly as in the whole string
                data = piece.data if isinstance(piece.data, str) else piece.data.decode("utf-8", "replace")
                write(joiner + encode_basestring_ascii(data)[1:-1])
                joiner = "\\n"
            write('",\n')
        write(f'  "result": {json.dumps(job.result, ensure_ascii=True)},\n'
              f'  "error": {json.dumps(job.error, ensure_ascii=True)}\n}}\n')
        sys.stdout.flush()

    def output(self, lines: list[Line], *, raw: bool) -> None:
        """A job's lines as they are printed by `--follow` (and by `logs --json`)."""
        if self.json_mode:
            sys.stdout.write("".join(json.dumps({"seq": line.seq, "t": line.t, "stream": line.stream,
                                                 "text": line.as_text}, ensure_ascii=True) + "\n" for line in lines))
            sys.stdout.flush()
        elif lines:
            self.chunks([Chunk(lines[0].seq, lines[-1].seq, 0.0, "", _joined(line.text for line in lines))], raw=raw)

    def chunks(self, pieces: Iterable[Chunk], *, raw: bool) -> None:
        """A job's output as `logs` prints it, a stored chunk (up to 256 KB of lines) per write:
        output_file.chunk_bytes (the job detail's save writes the same), each line cleaned by
        sanitize.plain, or keep_colour for a terminal; `raw`: the exact bytes stored."""
        sys.stdout.flush()  # what was written as text goes first
        buffer = sys.stdout.buffer
        clean = sanitize.keep_colour if not raw and sys.stdout.isatty() else sanitize.plain
        for piece in pieces:
            buffer.write(chunk_bytes(piece.data, raw=raw, clean=clean))
        buffer.flush()

    def job_end(self, job: Job) -> None:
        if not self.json_mode:
            tail = f": {job.error}" if job.error else ""
            self.note(f"job {job.id} {job.status} ({exit_phrase(job.exit_code)}){tail}")

    def health(self, report: dict) -> None:
        rows = [(name, "ok" if c["ok"] else "FAIL", c["detail"]) for name, c in report["checks"].items()]
        if self.json_mode:
            self.dump(report)
        else:
            self.table(["check", "", "detail"], rows, data=None)
            self.text(report["status"])



def _joined(texts: Iterable[str | bytes]) -> str | bytes:
    """Lines as one chunk's data: text when all are text, else the exact bytes."""
    texts = list(texts)
    if all(isinstance(text, str) for text in texts):
        return "\n".join(texts)  # type: ignore[arg-type]  # all str, checked above
    return b"\n".join(text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape") for text in texts)


def _args(job: Job) -> list[str]:
    return [f"--{k} {v}" for k, v in job.args.items()]


def _lock_text(client: Client) -> str:
    lock = client.lock
    if lock is None:
        return ""
    state = "held" if lock.alive else "stale"
    return f"{state} pid {lock.pid} ({timefmt.duration(lock.age_seconds)})"
