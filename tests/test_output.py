"""The command line's read-back writes a page of a job's lines at once: the same bytes as
cleaning, encoding or escaping each line on its own."""

from __future__ import annotations

import io
import json
import sys

import pytest

from adsdash import sanitize
from adsdash.output import Printer
from adsdash.store import Job, Line

ASCII = [chr(code) for code in range(128)]
ODD = ["é", "\x85", "\x9b2J", "\u202e", "\u2028", "\ud800", "漢字", "\x1b[31mred\x1b[0m", "tab\tstop", "cr\r\n"]


def lines_of(texts: list[str | bytes]) -> list[Line]:
    return [Line(seq, 1.5, "stdout", text) for seq, text in enumerate(texts, 1)]


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
    [f"a{c}b" for c in ASCII],  # every ASCII character, inside a line
    ["clean", "lines", "only", ""],
    ["plain ascii", *ODD],
    ["a line with\na newline of its own", "next"],
    [""],
    [],
])
def test_a_page_is_cleaned_as_each_line_would_be(stdout, tty, texts):
    out = stdout(tty)
    clean = sanitize.keep_colour if tty else sanitize.plain
    for text in texts:  # pages of one line each
        Printer()._clean_lines(lines_of([text]))
    one_by_one = out.value()
    out = stdout(tty)
    Printer()._clean_lines(lines_of(texts))
    assert out.value() == one_by_one == "".join(clean(t) + "\n" for t in texts).encode()


@pytest.mark.parametrize("texts", [["ascii", "é", "漢字", "\x00", "lone \udcff byte"], [b"\xff\xfe raw", "text", b""],
                                   ["clean"], []])
def test_raw_writes_the_stored_bytes(stdout, texts):
    out = stdout()
    Printer().output(lines_of(texts), raw=True)
    expected = b"".join((t if isinstance(t, bytes) else t.encode("utf-8", "surrogateescape")) + b"\n" for t in texts)
    assert out.value() == expected


def test_result_json_is_the_whole_object(stdout):
    texts = [f"a{c}b" for c in ASCII] + ODD + ["with\nnewline"]
    job = Job(id=1, slug="ok", command="validate", args={}, argv=[], cwd="/", status="finished", queued_at="q",
              started_at=None, finished_at=None, exit_code=0, error=None, result="done", pid=None, worker=None,
              requested_by=None, requested_from=None, line_count=len(texts), cancel_requested=False, parked=False,
              output_note=None)
    pages = [lines_of(texts[:50]), lines_of(texts[50:])]
    out = stdout()
    Printer(json_mode=True).result(job, iter(pages), iter([lines_of([b"\xff bytes"])]))
    whole = {"job_id": 1, "status": "finished", "exit_code": 0, "stdout": "\n".join(texts),
             "stderr": "\ufffd bytes", "result": "done", "error": None}
    assert out.value().decode() == json.dumps(whole, ensure_ascii=True, indent=2) + "\n"
