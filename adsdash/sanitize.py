"""Cleaning outside text (names, paths, CLI output, error files) before it is shown.

Anything that reaches a widget or the terminal goes through here, so a client name or
a log line can never move the cursor, set the window title, clear the screen, flip text
direction or be read as Rich markup. The common case - a clean line - is one regex
search and returns the input unchanged.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: the command line's plain text never loads Rich
    from rich.text import Text

ELLIPSIS = "…"
TAB_SIZE = 8

# Anything that needs work: C0 (incl. tab and newline), DEL, C1, bidi embeddings,
# overrides and isolates, Unicode line/paragraph separators, lone surrogates.
_DIRTY = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")

# Escape sequences, 7-bit (ESC-introduced) and 8-bit (C1 introducer) forms:
#  - string sequences OSC/DCS/SOS/PM/APC, ended by BEL, ST, the next ESC, or the end
#    of the text (a terminal would swallow the rest, so we drop it too);
#  - CSI: parameters, intermediates, one final byte;
#  - other ESC sequences: intermediates then one final byte (ESC 7, ESC ( B, ESC c ...).
# Written as "ESC then the alternatives" because that form matches twice as fast.
_STRING_BODY = r"[^\x07\x1b\x9c]*(?:\x07|\x9c|\x1b\\|(?=\x1b)|\Z)"
_CSI_BODY = r"[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"
_SEQUENCES = re.compile(
    rf"\x1b(?:[\]PX^_]{_STRING_BODY}|\[{_CSI_BODY}|[\x20-\x2f]*[\x30-\x7e])"
    rf"|[\x90\x98\x9d\x9e\x9f]{_STRING_BODY}|\x9b{_CSI_BODY}"
)
_INTRODUCER = re.compile("[\x1b\x90\x98\x9b\x9d\x9e\x9f]")

# SGR (colour/style): ESC [ digits and semicolons m. Bounded so a huge one is dropped.
_SGR_SPLIT = re.compile(r"(\x1b\[[0-9;]{0,64}m)")
# SGR codes kept: reset, bold, dim, italic, underline, reverse, strike, overline, their "off"
# codes, and colours. Not conceal (8) or blink (5, 6), which hide text, nor fonts and frames.
_KEPT_SGR = frozenset({0, 1, 2, 3, 4, 7, 9, 21, *range(22, 38), 39, *range(40, 48), 49, 53, 55,
                       *range(90, 98), *range(100, 108)})
_EXTENDED_COLOUR = {38: True, 48: True, 58: False}  # code -> kept (58, underline colour, is not)
_COLOUR_ARGS: dict[int | None, int] = {5: 1, 2: 3}  # 38;5;N and 38;2;R;G;B: how many numbers follow the mode

# Every control left once sequences are gone (tab is expanded separately).
_CONTROL = re.compile(
    "\r\n|[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)
_LINE_BREAKS = "\n\r\v\f\x85\u2028\u2029"
# NUL stays visible, so a NUL in data is noticed rather than hidden; a line break inside
# a line becomes a space (plain text is one line); everything else goes.
_REPLACEMENT = {"\x00": "␀", "\r\n": " ", **dict.fromkeys(_LINE_BREAKS, " ")}


def _replace_control(match: re.Match) -> str:
    return _REPLACEMENT.get(match[0], "")


def _clean_piece(text: str, column: int = 0) -> str:
    """No sequences or controls left, tabs expanded, assuming `text` starts at `column`."""
    if _INTRODUCER.search(text):
        text = _SEQUENCES.sub("", text)
    text = _CONTROL.sub(_replace_control, text)
    if "\t" in text:
        pad = column % TAB_SIZE
        text = ("x" * pad + text).expandtabs(TAB_SIZE)[pad:]
    return text


def _strip_line_end(text: str) -> str:
    # A trailing newline ends the line; it should not become a trailing space.
    return text.rstrip(_LINE_BREAKS) if text[-1:] in _LINE_BREAKS else text


def plain(text: str) -> str:
    """One display line: no escape sequences, no control characters, tabs expanded."""
    if not _DIRTY.search(text):
        return text
    return _clean_piece(_strip_line_end(text))


@functools.lru_cache(maxsize=512)  # a program's output repeats a handful of sequences
def _safe_sgr(sequence: str) -> str:
    """An SGR sequence with only the _KEPT_SGR codes left ("" if none); a colour's own numbers
    (the 5 and 8 of 38;5;8) are read as numbers, never as codes."""
    params = sequence[2:-1].split(";")
    kept: list[str] = []
    index = 0
    while index < len(params):
        code = int(params[index] or 0)
        if code in _EXTENDED_COLOUR:
            mode = int(params[index + 1] or 0) if index + 1 < len(params) else None
            end = index + 2 + _COLOUR_ARGS.get(mode, len(params))
            if end > len(params):
                break  # malformed: what follows cannot be told apart from codes, so it goes
            if _EXTENDED_COLOUR[code]:
                kept += params[index:end]
            index = end
            continue
        if code in _KEPT_SGR:
            kept.append(params[index])
        index += 1
    if len(kept) == len(params):
        return sequence
    return f"\x1b[{';'.join(kept)}m" if kept else ""


def keep_colour(text: str) -> str:
    """Like plain(), but SGR colour and emphasis survive (not conceal or blink) to be rendered."""
    if not _DIRTY.search(text):
        return text
    text = _strip_line_end(text)
    if "\x1b[" not in text:
        return _clean_piece(text)
    out: list[str] = []
    column = 0
    # Odd pieces are SGR sequences (the split keeps them); even pieces are text to clean.
    # Cleaning each piece on its own is safe: no other sequence can contain an SGR.
    for index, piece in enumerate(_SGR_SPLIT.split(text)):
        if index % 2:
            out.append(_safe_sgr(piece))
        else:
            cleaned = _clean_piece(piece, column)
            column += len(cleaned)
            out.append(cleaned)
    return "".join(out)


def _truncate(text: str, max_len: int) -> str:
    if len(text) <= max_len:
        return text
    return text[: max(max_len - 1, 0)] + ELLIPSIS


def cell(text: str, max_len: int = 120) -> Text:
    """A table cell: plain, one line, at most max_len characters, never parsed as markup."""
    from rich.text import Text

    return Text(_truncate(plain(str(text)), max_len), no_wrap=True)


def one_line(text: str, max_len: int = 300) -> str:
    """For notifications and error messages: plain, whitespace collapsed, truncated."""
    return _truncate(" ".join(plain(str(text)).split()), max_len)


def safe_text(text: str, style: str = "") -> Text:
    """Outside text for a widget, keeping its lines: each cleaned, never read as markup."""
    from rich.text import Text

    return Text("\n".join(plain(line) for line in str(text).splitlines()), style=style)
