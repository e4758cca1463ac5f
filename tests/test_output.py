"""The command line's read-back writes a stored chunk of a job's lines at once: the same bytes
as cleaning, encoding or escaping each line on its own."""

from __future__ import annotations

import io
import json
import sys

import pytest

from adsdash import sanitize
from adsdash.chunks import Chunk
from adsdash.output import Printer
from adsdash.store import Job, Line

ASCII = [chr(code) for code in range(128)]
ODD = ["é", "\x85", "\x9b2J", "\u202e", "\u2028", "\ud800", "漢字", "\x1b[31mred\x1b[0m", "tab\tstop", "cr\r"]


def lines_of(texts: list[str | bytes]) -> list[Line]:
    return [Line(seq, 1.5, "stdout", text) for seq, text in enumerate(texts, 1)]


def chunks_of(texts: list[str | bytes], first_seq: int = 1) -> list[Chunk]:
    """The chunk the store keeps for these lines: text joined by newlines, or bytes if any is bytes."""
    if not texts:
        return []
    if all(isinstance(t, str) for t in texts):
        data: str | bytes = "\n".join(texts)  # type: ignore[arg-type]
    else:
        data = b"\n".join(t if isinstance(t, bytes) else t.encode() for t in texts)
    return [Chunk(first_seq, first_seq + len(texts) - 1, 1.5, "stdout", data)]


class Captured(io.TextIOWrapper):
    def __init__(self, tty: bool):
        super().__init__(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty

    def value(self) -> bytes:
        self.flush()
        return self.buffer.getvalue()  # type: ignore[attr-defined]


@pytest.fixture
def stdout(monkeypatch):
    def make(tty: bool = False) -> Captured:
        out = Captured(tty)
        monkeypatch.setattr(sys, "stdout", out)
        return out
    return make


@pytest.mark.parametrize("tty", [False, True])
@pytest.mark.parametrize("texts", [
    [f"a{c}b" for c in ASCII if c != "\n"],  # every ASCII character inside a line (a stored line has no newline)
    ["clean", "lines", "only", ""],
    ["plain ascii", *ODD],
    ["valid", b"\xff\xfe not utf-8", "\x1b]0;title\x07"],  # a bytes chunk: cleaned line by line
    [""],
    [],
])
def test_a_chunk_is_cleaned_as_each_line_would_be(stdout, tty, texts):
    out = stdout(tty)
    clean = sanitize.keep_colour if tty else sanitize.plain
    Printer().chunks([c for seq, text in enumerate(texts, 1) for c in chunks_of([text], seq)], raw=False)
    one_by_one = out.value()
    out = stdout(tty)
    Printer().chunks(chunks_of(texts), raw=False)
    as_text = [t if isinstance(t, str) else t.decode("utf-8", "replace") for t in texts]
    assert out.value() == one_by_one == "".join(clean(t) + "\n" for t in as_text).encode()


@pytest.mark.parametrize("texts", [["ascii", "é", "漢字", "\x00", "lone \udcff byte"], [b"\xff\xfe raw", "text", b""],
                                   ["clean"], []])
def test_raw_writes_the_stored_bytes(stdout, texts):
    out = stdout()
    Printer().output(lines_of(texts), raw=True)
    expected = b"".join((t if isinstance(t, bytes) else t.encode("utf-8", "surrogateescape")) + b"\n" for t in texts)
    assert out.value() == expected


def test_result_json_is_the_whole_object(stdout):
    texts = [f"a{c}b" for c in ASCII if c != "\n"] + ODD
    job = Job(id=1, slug="ok", command="validate", args={}, argv=[], cwd="/", status="finished", queued_at="q",
              started_at=None, finished_at=None, exit_code=0, error=None, result="done", pid=None, worker=None,
              requested_by=None, requested_from=None, line_count=len(texts), cancel_requested=False, parked=False,
              output_note=None, origin=None)
    pieces = [*chunks_of(texts[:50]), *chunks_of(texts[50:], 51)]
    out = stdout()
    Printer(json_mode=True).result(job, iter(pieces), iter(chunks_of([b"\xff bytes", b"ok"])))
    whole = {"job_id": 1, "status": "finished", "exit_code": 0, "stdout": "\n".join(texts),
             "stderr": "\ufffd bytes\nok", "result": "done", "error": None}
    assert out.value().decode() == json.dumps(whole, ensure_ascii=True, indent=2) + "\n"
