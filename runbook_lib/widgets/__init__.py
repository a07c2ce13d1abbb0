"""The only package that imports ipywidgets: shown-once secrets, forms and confirmations.

Rules every widget here follows:
- a secret's value reaches the page only after a person presses Reveal, and is removed from the
  page (and from the kernel) by "I have stored it";
- a typed password leaves its masked field at once, before the library sees it;
- the ``text/plain`` fallback that a saved notebook keeps is a fixed, secret-free sentence
  (ipywidgets' default is the widget's ``repr``, which includes its value);
- widget state is never saved by the runner (``store_widget_state=False``); JupyterLab saves it
  only when "Save Widget State Automatically" is switched on, which the README warns against.
"""

from runbook_lib.widgets.base import MASK, SafeBox, show
from runbook_lib.widgets.mfa import CodeForm, QrPanel, VirtualAuthenticator
from runbook_lib.widgets.steps import ApplyForm, ConfirmStep, ShownOnce

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
