"""How a value is shown: in a one-line message (shortened, never a secret's worth), on a
terminal (``safe_text``: no control character that AWS or an endpoint sent) and in a CSV cell
(``csv_cell``: never a formula a spreadsheet would run)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from runbook_lib.core.i18n import _

_SHOW_MAX = 70


def show(value: object) -> str:
    """Return ``repr(value)``, shortened so that a message stays one readable line."""
    text = repr(value)
    if len(text) > _SHOW_MAX:
        text = text[: _SHOW_MAX - 4] + "...'"
    return text


def not_text(value: object) -> str:
    """Explain a value that YAML or a caller gave as something other than a string."""
    if isinstance(value, bool):
        return _(
            "it is a yes/no value, not text (YAML reads true, no, on... that way); quote it in YAML"
        )
    if isinstance(value, int | float):
        return _("it is a number, not text; quote it in YAML")
    return _("it is {type}, not text").format(type=type(value).__name__)


def bad_chars(value: str, ok: Callable[[str], bool]) -> str:
    """List, quoted and in order, the distinct characters of ``value`` that ``ok`` refuses."""
    bad = dict.fromkeys(char for char in value if not ok(char))
    return ", ".join(repr(char) for char in bad)


def width(text: str) -> int:
    """Terminal columns of ``text``: East Asian wide characters (Hangul, CJK) take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def pad(text: str, columns: int) -> str:
    """``text`` padded with spaces to ``columns`` terminal columns (a table stays aligned)."""
    return text + " " * max(0, columns - width(text))


#: C0 and C1 control characters and DEL (ESC starts an ANSI sequence); tab and new line too:
#: one value stays one line
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: an ANSI escape sequence (CSI ... final byte, or OSC ... BEL/ST): dropped whole
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, screen clears
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, links
    r"|\x9b[0-?]*[ -/]*[@-~]"  # the one-byte CSI
)


def safe_text(value: object) -> str:
    """``value`` as text fit for a terminal: ANSI escape sequences removed, every other control
    character (C0, C1, DEL; tab and new line included) shown as ``?``.

    For text that came from AWS or an endpoint (account IDs and names, error messages) before
    it is printed: a hostile endpoint must not move the cursor, recolour or rewrite the screen.
    """
    return _CONTROL.sub("?", _ANSI.sub("", str(value)))


#: what makes a spreadsheet read a cell as a formula (OWASP "CSV injection")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A CSV cell that no spreadsheet runs: text starting with ``= + - @``, tab or CR gets a
    leading ``'`` (numbers, booleans and other text are kept as they are).

    A negative number is a number, not a formula: ``-3`` stays ``-3`` (as an int).
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
