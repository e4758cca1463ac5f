import pytest
from rich.console import Console
from rich.text import Text

from adsdash.sanitize import cell, keep_colour, one_line, plain

ESC = "\x1b"


def rendered(text: Text) -> str:
    console = Console(width=200, color_system=None, force_terminal=False)
    with console.capture() as cap:
        console.print(text, end="")
    return cap.get()


def test_clean_text_is_returned_unchanged():
    line = "2025-10-13 08:00:01,123 - INFO - ads_sync - Santana & Blanchard (Law) – ünïcødé ✓ 日本"
    assert plain(line) is line
    assert keep_colour(line) is line


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (f"a{ESC}]0;pwned\x07b", "ab"),  # OSC window title, BEL-terminated
        (f"a{ESC}]0;pwned{ESC}\\b", "ab"),  # ST-terminated
        (f"x{ESC}]8;;http://evil{ESC}\\link{ESC}]8;;{ESC}\\y", "xlinky"),  # hyperlink
        (f"a{ESC}]0;never ends", "a"),  # unterminated: a terminal would swallow it too
        (f"a{ESC}[2Jb", "ab"),  # clear screen
        (f"a{ESC}[3;40Hb{ESC}[Ac{ESC}[?25l", "abc"),  # cursor moves, hide cursor
        (f"{ESC}[31mred{ESC}[0m", "red"),  # plain drops colour too
        (f"a{ESC}Pq#0;2;0;0;0{ESC}\\b", "ab"),  # DCS (sixel)
        (f"a{ESC}_apc{ESC}\\b{ESC}^pm\x07c{ESC}Xsos{ESC}\\d", "abcd"),  # APC, PM, SOS
        (f"a{ESC}7b{ESC}8c{ESC}cd{ESC}(Be", "abcde"),  # single ESC x, charset
        (f"end{ESC}", "end"),  # lone trailing ESC
        ("a\x9b2Jb\x9d0;t\x07c", "abc"),  # 8-bit CSI and OSC
        ("a\x00b", "a␀b"),  # NUL stays visible
        ("a\x7fb\x08c\x07d\x85e", "abcd e"),  # DEL, backspace, BEL removed; NEL is a break
        ("x\u202eevil\u202c\u2066y\u2069", "xevily"),  # bidi overrides and isolates
        ("one\r\ntwo\nthree\u2028four\n", "one two three four"),  # one line
        ("a\tb", "a       b"),
        ("surrogate \udcff here", "surrogate  here"),
    ],
)
def test_plain_removes_everything_that_could_act(raw, expected):
    assert plain(raw) == expected


def test_tabs_expand_after_sequences_are_gone():
    assert plain(f"{ESC}[1mab{ESC}[0m\tc") == "ab      c"
    assert keep_colour(f"{ESC}[1mab{ESC}[0m\tc") == f"{ESC}[1mab{ESC}[0m      c"


def test_keep_colour_keeps_sgr_only():
    line = f"{ESC}[1;31mERROR{ESC}[0m {ESC}]0;pwned\x07{ESC}[2J done{ESC}[38;5;208m!{ESC}[m"
    assert keep_colour(line) == f"{ESC}[1;31mERROR{ESC}[0m  done{ESC}[38;5;208m!{ESC}[m"
    assert Text.from_ansi(keep_colour(line)).plain == "ERROR  done!"


def test_keep_colour_refuses_what_is_not_plain_sgr():
    assert keep_colour(f"a{ESC}[38:2::255:0:0mb") == "ab"  # colon form: not digits and ;
    assert keep_colour(f"a{ESC}[{'1;' * 40}mb") == "ab"  # absurdly long
    assert keep_colour("a\x9b31mb") == "ab"  # 8-bit CSI is never kept
    assert keep_colour(f"a{ESC}[?1049h{ESC}[31mb") == f"a{ESC}[31mb"  # alt screen dropped
    # Removing an OSC must not glue a lone ESC to "[31m" into a new sequence.
    assert keep_colour(f"{ESC}{ESC}]0;x\x07[2Jz") == "[2Jz"
    assert plain(f"{ESC}{ESC}]0;x\x07[2Jz") == "[2Jz"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (f"a{ESC}[8msecret{ESC}[0m", f"asecret{ESC}[0m"),  # conceal
        (f"{ESC}[5mx{ESC}[6my", "xy"),  # blink, rapid blink
        (f"{ESC}[1;8;31mx", f"{ESC}[1;31mx"),  # the rest of a sequence stays
        (f"{ESC}[008mx", "x"),  # leading zeros are still 8
        (f"{ESC}[20;51mx", "x"),  # fraktur, frame: not colour or emphasis
        (f"{ESC}[58;5;8mx", "x"),  # underline colour: Rich reads its 5 as blink, so it goes whole
        (f"{ESC}[38;5mx", "x"),  # a colour cut short: its "5" would be read as blink
        (f"{ESC}[38;9;8mx", "x"),  # an unknown colour mode: the 8 after it cannot be trusted
        (f"{ESC}[1;38;5mx", f"{ESC}[1mx"),
        (f"{ESC}[5;mx", f"{ESC}[mx"),  # the empty code is a reset, and stays one
    ],
)
def test_keep_colour_drops_attributes_that_hide_text(raw, expected):
    cleaned = keep_colour(raw)
    assert cleaned == expected
    styles = [span.style for span in Text.from_ansi(cleaned).spans]
    assert not any(style.conceal or style.blink or style.blink2 for style in styles)


@pytest.mark.parametrize("sgr", ["31", "1;31", "38;5;8", "48;5;5", "38;2;5;6;8", "38;5;208;48;2;0;0;8", "2;3;4;7;9",
                                 "22;23;24;25;27;28;29;39;49", "97;107", "0", ""])
def test_keep_colour_keeps_colour_and_emphasis(sgr):
    # The 5 and 8 inside a colour are numbers, not blink or conceal.
    line = f"a{ESC}[{sgr}mb{ESC}[0m"
    assert keep_colour(line) == line


@pytest.mark.parametrize("markup", ["[bold]x[/]", "[/]", "[link=http://evil]y[/link]", "[red"])
def test_cell_never_parses_markup(markup):
    result = cell(markup)
    assert isinstance(result, Text)
    assert result.plain == markup
    assert result.spans == []
    assert rendered(result) == markup


def test_cell_is_one_clean_line_and_truncated():
    assert cell("a\nb\tc\x1b]0;t\x07").plain == "a b     c"
    long = cell("x" * 200, max_len=10)
    assert long.plain == "x" * 9 + "…" and len(long.plain) == 10
    assert cell("x" * 10, max_len=10).plain == "x" * 10


def test_one_line_collapses_whitespace_and_truncates():
    assert one_line("  Command failed:\n\n  FileNotFoundError:\tno\x1b[2J creds  ") == \
        "Command failed: FileNotFoundError: no creds"
    assert one_line("abc " * 100, max_len=8) == "abc abc…"


def test_dirty_lines_are_handled_fast_enough():
    # Not a benchmark, a guard: the contract is ~100,000 lines/s; allow slow CI 10x slack.
    import time
    line = f"2025-10-13 - {ESC}[31mERROR{ESC}[0m - bad\tthing {ESC}]0;x\x07\n"
    start = time.perf_counter()
    for _ in range(10_000):
        keep_colour(line)
    assert time.perf_counter() - start < 1.0
