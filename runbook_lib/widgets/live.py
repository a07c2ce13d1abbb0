"""Cells a button's result changes: shown in a display handle that every button updates.

Voilà cannot re-run a cell, and in Lab a person does not know which cells to re-run: after
Create (S1), "I have done this" (manual steps), "I have stored it" (S2) or Assign MFA (S3),
the Verify cell would keep its old answer. ``live_result`` shows a cell's result in a display
handle and remembers how to compute it; ``refresh_live`` (called by the buttons once their
work is done) computes each again and replaces the old output in place.

Status lines that a button changes ("pending until confirmed", "Step 7 waits … press Create",
"scan the QR code", "waiting for 'I have stored it'") are step results of a ``LiveRepr`` type:
the cell returns the result as before, and a live frontend displays it through
``_ipython_display_`` as a ``LiveCell`` whose text ``live_text()`` computes again on every
``refresh_live``.

Headless (``RUNBOOK_HEADLESS``) or outside IPython, ``live_result`` just returns the result and
a ``LiveRepr`` displays as its plain ``repr``: executed notebooks and tests see exactly what
they saw before.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from typing import Any, TypeVar

from runbook_lib.core import environ, reset
from runbook_lib.core.errors import RunbookError
from runbook_lib.core.record import RunRecord

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
        """Show ``view`` instead of what the area showed (an empty ``_Text``: nothing).

        One assignment of ``outputs``: clearing and then appending sends two state updates,
        and Voilà drew both contents (each live line twice after a button)."""
        if isinstance(view, _Text) and not view.text:
            self.out.outputs = ()
            return
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None:  # outside IPython (tests): the widget's own formatting
            self.out.outputs = ()
            self.out.append_display_data(view)
            return
        data, metadata = shell.display_formatter.format(view)
        self.out.outputs = ({"output_type": "display_data", "data": data, "metadata": metadata},)


class _Text:
    """A view whose only representation is ``text`` (a ``str`` would show with quotes)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class LiveRepr:
    """Mixin for a step result whose text a button changes; shown live in a live notebook.

    Subclasses give ``live_key`` (one live cell per key: a re-run cell replaces its entry) and
    ``live_text()`` (the current text, read from the step's state). ``live_text()`` returns
    ``""`` once the button's own widget, in the same cell, shows the result: the waiting line
    then goes instead of repeating that result. Headless, nothing changes: IPython finds no
    ``_ipython_display_`` and shows the ``repr``.
    """

    @property
    def live_key(self) -> str:
        """The live cell's name (default: the class name)."""
        return type(self).__name__

    def live_text(self) -> str:
        """The text to show now (default: the ``repr``)."""
        return repr(self)

    @property
    def _ipython_display_(self) -> Callable[[], None] | None:
        if not _interactive():
            return None  # IPython then shows the repr, as for any value
        return self._show_live

    def _show_live(self) -> None:
        from IPython.display import display

        def render() -> _Text:
            return _Text(self.live_text())

        cell = LiveCell(_Text(repr(self)))  # as returned; buttons then call ``render``
        display(cell.out)  # type: ignore[no-untyped-call]
        _LIVE[self.live_key] = (render, cell)


def _noting_failures(render: Callable[[], T], record: RunRecord) -> Callable[[], T]:
    def noted() -> T:
        try:
            return render()
        except RunbookError as err:
            record.verify_failed(err.message)
            raise

    return noted


def live_result(key: str, render: Callable[[], T], *, record: RunRecord | None = None) -> T | None:
    """``render()``; in a live notebook shown in a ``LiveCell`` that ``refresh_live`` updates.

    Args:
        key: the cell's name (e.g. ``"verify"``); running the cell again replaces its entry.
        render: computes the result (its errors propagate the first time, as before).
        record: the run record of a Verify cell: a library error, the first time or on a
            refresh, is noted in its status ("incomplete: Verify failed: …").

    Returns:
        The result headless or outside IPython; ``None`` in a live notebook (it is displayed
        already: the cell shows it once).
    """
    if record is not None:
        render = _noting_failures(render, record)
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
