"""Messages in the run's language: gettext catalogs, English as the fallback.

Every message the library shows (step results, errors, plans, the terminal summary) is English
in the source, wrapped in ``_()`` (or ``ngettext``); ``make messages`` extracts them with Babel
into ``runbook_lib/locale/runbook.pot``, merges them into ``locale/ko/LC_MESSAGES/runbook.po``
and compiles the committed ``runbook.mo`` that stdlib ``gettext`` reads (no Babel at run time).
A message without a translation is shown in English.

The language, first that is set:

1. ``set_language()`` (the host side: ``runbook run --lang ko``; tests);
2. the notebook's ``language`` parameter (a string in the kernel's user namespace: the
   ``parameters`` cell declares it, papermill's injected cell overrides it);
3. ``$RUNBOOK_LANG`` (a kernel whose notebook does not declare ``language``);
4. English.

Codes, IDs and exception class names are never translated: ``run.json`` stays readable by
programs in every language, and exit codes do not depend on it.

Korean particles: a translation writes both forms, ``{user}을/를`` (``core/josa.py`` lists the
pairs); ``_()`` and ``ngettext()`` return a message whose ``format()`` picks the form the
formatted word takes (``bob을``, ``Administrator를``, ``MFA 코드 1은``). A message with no
placeholder gets its particles at once.
"""

from __future__ import annotations

import gettext
import os
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from runbook_lib.core import environ
from runbook_lib.core.josa import MARKER, particles

#: languages with a catalog (English is the source language)
LANGUAGES = ("en", "ko")
DEFAULT = "en"
DOMAIN = "runbook"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"

_forced: str | None = None


def normalize(value: object) -> str | None:
    """``"ko"``, ``"ko_KR.UTF-8"`` or ``"KO"`` -> ``"ko"``; anything unknown -> ``None``."""
    if not isinstance(value, str):
        return None
    code = value.strip().replace("-", "_").split(".")[0].split("_")[0].lower()
    return code if code in LANGUAGES else None


def set_language(value: str | None) -> None:
    """Force the language of this process (``None``: back to parameter / environment)."""
    global _forced
    _forced = normalize(value) if value else None


def _notebook_parameter() -> str | None:
    ipython = sys.modules.get("IPython")  # never import IPython just to ask
    if ipython is None:
        return None
    shell = ipython.get_ipython()
    if shell is None:
        return None
    return normalize(shell.user_ns.get("language"))


def language() -> str:
    """The language messages are shown in now (see the module's docstring for the order)."""
    return (
        _forced or _notebook_parameter() or normalize(os.environ.get(environ.LANG, "")) or DEFAULT
    )


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of ``lang`` (English: none, every message is its own text)."""
    if lang == DEFAULT:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)


class Message(str):
    """A translated message with particle pairs (``을/를``) after a placeholder: ``format()``
    (and ``format_map``) fills the placeholders, then chooses each particle."""

    __slots__ = ()

    def format(self, /, *args: object, **kwargs: object) -> str:
        return particles(str.format(self, *args, **kwargs))

    def format_map(self, mapping: Mapping[str, object], /) -> str:  # type: ignore[override]
        return particles(str.format_map(self, mapping))


def _finish(text: str) -> str:
    """``text`` as shown: plain when it has no particle pair, its particles chosen now when it
    has no placeholder, else a ``Message`` that chooses them once formatted."""
    if not MARKER.search(text):
        return text
    if "{" not in text:
        return particles(text)
    return Message(text)


def _(message: str) -> str:
    """``message`` in the current language (English when the catalog has no translation)."""
    return _finish(translations(language()).gettext(message))


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` in the current language."""
    return _finish(translations(language()).ngettext(singular, plural, n))


def N_(message: str) -> str:
    """Mark ``message`` for extraction only; it is translated later, where it is shown."""
    return message
