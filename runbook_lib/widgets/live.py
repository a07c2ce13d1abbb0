"""Cells a button's result changes: shown in a display handle that every button updates.

Voilà cannot re-run a cell, and in Lab a person does not know which cells to re-run: after
Create (S1), "I have done this" (manual steps), "I have stored it" (S2) or Assign MFA (S3),
the Verify cell would keep its old answer. ``live_result`` shows a cell's result in a display
handle and remembers how to compute it; ``refresh_live`` (called by the buttons once their
work is done) computes each again and replaces the old output in place.

Headless (``RUNBOOK_HEADLESS``) or outside IPython, ``live_result`` just returns the result:
executed notebooks and tests see exactly what they saw before.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from typing import Any, TypeVar

from runbook_lib.core import environ, reset
from runbook_lib.core.errors import RunbookError

T = TypeVar("T")

#: the live cells of this kernel: key → (how to compute it, its display handle)
_LIVE: dict[str, tuple[Callable[[], Any], Any]] = {}


def _forget_widgets() -> None:
    """Before a pooled kernel's next run: no live cell, and every widget closed (ipywidgets
    keeps each open widget, and the callbacks and values it holds, in a registry)."""
    _LIVE.clear()
    import ipywidgets as w

    w.Widget.close_all()


reset.on_reset("widgets", _forget_widgets)


def _interactive() -> bool:
    if os.environ.get(environ.HEADLESS):
        return False
    from IPython import get_ipython

    return get_ipython() is not None


def _error_view(err: RunbookError) -> Any:
    from IPython.display import HTML

    line = html.escape(f"{type(err).__name__}: {err.message}")
    return HTML(f"<pre style='color:#b00;white-space:pre-wrap'>{line}</pre>")  # type: ignore[no-untyped-call]


class LiveCell:
    """An output area (an ``ipywidgets.Output``) whose content a kernel callback can replace:
    a widget, so Voilà updates it too (Voilà keeps no display handle of the cells it ran)."""

    def __init__(self, view: object) -> None:
        import ipywidgets as w

        self.out = w.Output()
        self.update(view)

    def update(self, view: object) -> None:
        """Show ``view`` instead of what the area showed."""
        self.out.outputs = ()
        self.out.append_display_data(view)


def live_result(key: str, render: Callable[[], T]) -> T | None:
    """``render()``; in a live notebook shown in a ``LiveCell`` that ``refresh_live`` updates.

    Args:
        key: the cell's name (e.g. ``"verify"``); running the cell again replaces its entry.
        render: computes the result (its errors propagate the first time, as before).

    Returns:
        The result headless or outside IPython; ``None`` in a live notebook (it is displayed
        already: the cell shows it once).
    """
    result = render()
    if not _interactive():
        return result
    from IPython.display import display

    cell = LiveCell(result)
    display(cell.out)  # type: ignore[no-untyped-call]
    _LIVE[key] = (render, cell)
    return None


def refresh_live() -> None:
    """Compute every live cell again and update its output in place (after a button's work).

    A library error shows as its one line in that cell's place; the button that called this
    keeps its own result.
    """
    for render, handle in list(_LIVE.values()):
        try:
            view = render()
        except RunbookError as err:
            view = _error_view(err)
        handle.update(view)


def forget_live() -> None:
    """Forget every live cell (tests; a kernel restart forgets them anyway)."""
    _LIVE.clear()
