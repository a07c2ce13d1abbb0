"""How a bad input value is shown in a one-line message (shortened, never a secret's worth)."""

from __future__ import annotations

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
