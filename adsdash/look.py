"""One look for every state, on every screen and in the headless tables.

A state is a symbol, which carries the meaning (so it reads without colour, in 8 colours,
and in any theme), and a tone, which the palette colours. In the app the palette is the
theme's text colours (`$text-success`, `$text-error`, ...), made to be read on the
theme's background, also when NO_COLOR turns them grey; headless, plain ANSI colours.
No Textual here: the app hands the theme's variables to `use_theme`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from rich.color import Color as RichColor
from rich.style import Style

from adsdash.freshness import SYMBOL, Kind
from adsdash.store import CANCELLED, FAILED, FINISHED, QUEUED, STARTED


class Tone(Enum):
    GOOD = "success"
    WARN = "warning"
    BAD = "error"
    BUSY = "primary"
    WAIT = "secondary"
    NEW = "accent"
    MUTED = "muted"
    PLAIN = "plain"


@dataclass(frozen=True)
class Look:
    symbol: str
    tone: Tone
    bold: bool = False


JOB_STATUS: dict[str, Look] = {
    QUEUED: Look("⧗", Tone.WAIT),
    STARTED: Look("▸", Tone.BUSY, bold=True),
    FINISHED: Look("✓", Tone.GOOD),
    FAILED: Look("✗", Tone.BAD, bold=True),
    CANCELLED: Look("⊘", Tone.WARN),
}
FRESHNESS: dict[Kind, Look] = {
    Kind.FRESH: Look(SYMBOL[Kind.FRESH], Tone.GOOD),
    Kind.LATE: Look(SYMBOL[Kind.LATE], Tone.WARN),
    Kind.STALE: Look(SYMBOL[Kind.STALE], Tone.BAD),
    Kind.NEVER: Look(SYMBOL[Kind.NEVER], Tone.NEW),
    Kind.ERROR: Look(SYMBOL[Kind.ERROR], Tone.BAD, bold=True),
}
# A lock is shown as the word "held" or "stale": the word carries the meaning.
LOCK_HELD = Look("", Tone.WARN)
LOCK_STALE = Look("", Tone.BAD, bold=True)
UNKNOWN = Look("?", Tone.PLAIN)

# Headless (and before the app has a theme): the terminal's own 16 colours.
ANSI_PALETTE: dict[Tone, str] = {
    Tone.GOOD: "green", Tone.WARN: "yellow", Tone.BAD: "red", Tone.BUSY: "cyan", Tone.WAIT: "blue",
    Tone.NEW: "magenta", Tone.MUTED: "bright_black", Tone.PLAIN: "",
}
_palette: dict[Tone, Style] = {tone: Style.parse(colour) if colour else Style()
                               for tone, colour in ANSI_PALETTE.items()}


def job_status(status: str) -> Look:
    return JOB_STATUS.get(status, UNKNOWN)


def style(tone: Tone, *, bold: bool = False) -> Style:
    """The tone in the current palette."""
    found = _palette[tone]
    return found + Style(bold=True) if bold else found


def look_style(look: Look) -> Style:
    return style(look.tone, bold=look.bold)


def use_theme(variables: Mapping[str, str]) -> None:
    """Colour the tones with a Textual theme's text variables (App.theme_variables), each made
    legible (contrast >= MIN_CONTRAST) on the theme's background and surface: then it stays
    legible when NO_COLOR turns it grey, which keeps the luminance."""
    background = _colour(variables.get("background")) or RichColor.parse("black")
    foreground = _colour(variables.get("foreground")) or RichColor.parse("white")
    grounds = [background, *filter(None, (_colour(variables.get(name)) for name in ("surface", "panel")))]
    for tone in Tone:
        if tone is Tone.PLAIN:
            continue
        value = variables.get(f"text-{tone.value}", "")
        colour = _colour(value) or _auto(value, foreground, background)
        if colour is None:
            _palette[tone] = Style.parse(ANSI_PALETTE[tone])
            continue
        _palette[tone] = Style(color=_legible(colour, grounds, foreground))


MIN_CONTRAST = 4.5  # WCAG AA for text
GREY_MARGIN = 0.7


def contrast(one: RichColor, other: RichColor) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _luminance(colour: RichColor) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = colour.get_truecolor()
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _grey(colour: RichColor) -> RichColor:
    """What NO_COLOR makes of a colour (Textual's Color.monochrome)."""
    r, g, b = colour.get_truecolor()
    grey = round(r * 0.2126 + g * 0.7152 + b * 0.0722)
    return RichColor.from_rgb(grey, grey, grey)


def _legible(colour: RichColor, grounds: list[RichColor], foreground: RichColor) -> RichColor:
    """`colour`, moved toward the foreground just enough to read on every ground, in colour
    and in grey (with a margin there: a 256-colour terminal rounds greys to its own)."""
    for step in range(11):
        mixed = _mix(colour, foreground, step / 10)
        if all(contrast(mixed, ground) >= MIN_CONTRAST
               and contrast(_grey(mixed), _grey(ground)) >= MIN_CONTRAST + GREY_MARGIN for ground in grounds):
            return mixed
    return foreground


def _mix(colour: RichColor, toward: RichColor, amount: float) -> RichColor:
    a, b = colour.get_truecolor(), toward.get_truecolor()
    return RichColor.from_rgb(*(round(x + (y - x) * amount) for x, y in zip(a, b, strict=True)))


def _colour(value: str | None) -> RichColor | None:
    if not value or not value.startswith("#"):
        return None
    try:
        return RichColor.parse(value)
    except Exception:  # noqa: BLE001 - a theme value Rich cannot read falls back to the ANSI colour
        return None


def _auto(value: str, foreground: RichColor, background: RichColor) -> RichColor | None:
    """Textual's `auto N%`: the foreground at N% over the background."""
    parts = value.split()
    if not parts or parts[0] != "auto":
        return None
    try:
        alpha = float(parts[1].rstrip("%")) / 100 if len(parts) > 1 else 1.0
    except ValueError:
        return None
    return _mix(background, foreground, alpha)
