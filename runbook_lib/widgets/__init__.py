"""The only package that imports ipywidgets: shown-once secrets, forms and confirmations.

Rules every widget here follows:
- nothing secret is in a widget when it is displayed, nor in anything sent while cells execute:
  a secret (a key, a QR code, a seed, a TOTP code) reaches the page only from a button's
  callback, i.e. after a person pressed Reveal / Show QR code / Show codes in a live frontend.
  papermill, ``nbconvert --execute``, ``jupyter execute`` and nbclient save the widget state
  produced while cells run (``store_widget_state``); no executor clicks, so they save masks;
- a revealed value is removed from the page (and from the kernel) by "I have stored it" or
  once the device is assigned;
- a typed password leaves its masked field at once, before the library sees it;
- the ``text/plain`` fallback that a saved notebook keeps is a fixed, secret-free sentence
  (ipywidgets' default is the widget's ``repr``, which includes its value);
- widget state is never saved by the runner (``store_widget_state=False``); JupyterLab saves it
  only when "Save Widget State Automatically" is switched on, which the README warns against.

ipywidgets is imported on first use of a widget, not with this package: step results import
``widgets.live`` (live status lines) in headless runs too, which never show a widget.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runbook_lib.widgets.base import MASK, SafeBox, show
    from runbook_lib.widgets.mfa import CodeForm, QrPanel, VirtualAuthenticator
    from runbook_lib.widgets.steps import ApplyForm, ConfirmStep, ShownOnce

#: each public name → the module that defines it
_HOME = {
    "MASK": "base",
    "SafeBox": "base",
    "show": "base",
    "CodeForm": "mfa",
    "QrPanel": "mfa",
    "VirtualAuthenticator": "mfa",
    "ApplyForm": "steps",
    "ConfirmStep": "steps",
    "ShownOnce": "steps",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)


__all__ = [
    "MASK",
    "ApplyForm",
    "CodeForm",
    "ConfirmStep",
    "QrPanel",
    "SafeBox",
    "ShownOnce",
    "VirtualAuthenticator",
    "show",
]
