"""Notebook 07's page: the plan as rows, a button per runbook step (a ``fix.board.Board``,
typed ``Any`` here: widgets sit below the fix loop and never import it).

A button runs its step as a normal run (its own record); the row is then rewritten to what is
true: done with its run folder, or failed with its error. A saved notebook keeps the board's
text (no secret is ever in it: a step's secrets go where its runbook delivers them).
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from runbook_lib.core.errors import RunbookError
from runbook_lib.core.i18n import _
from runbook_lib.widgets.base import SafeBox

ROW_CLASS = "runbook-fix-step"


class FixBoard(SafeBox):
    """The board: the audit line, a row per step (a button on each runbook step)."""

    def __init__(self, board: Any) -> None:
        self.board = board
        self.rows: list[tuple[Any, w.HTML, w.Button | None]] = []
        children: list[Any] = []
        for row in board.rows:
            label = w.HTML(layout=w.Layout(width="100%"))
            button = None
            if row.runnable:
                button = w.Button(description=_("Run this step"), icon="play")
                button.on_click(lambda _click, n=row.n: self.press(n))
                if row.step.destructive and not board.yes:
                    button.disabled = True
            box = w.HBox([b for b in (button, label) if b is not None])
            box.add_class(ROW_CLASS)
            children.append(box)
            self.rows.append((row, label, button))
        self.note = w.HTML()
        children.append(self.note)
        super().__init__(children, safe_text="\n".join(board.row_lines()))
        self.refresh()

    def refresh(self) -> None:
        """Every row's line as the board has it now."""
        for row, label, button in self.rows:
            label.value = html.escape(row.text(self.board.yes))
            if button is not None and not row.runnable:
                button.layout.display = "none"  # a done step has nothing left to press
        self._safe_text = "\n".join(self.board.row_lines())

    def press(self, n: int) -> None:
        """A button: run step ``n``; the row says what happened."""
        row, _label, button = self.rows[n - 1]
        if button is not None:
            button.disabled = True
        self.note.value = html.escape(_("Step {n} is running…").format(n=n))
        try:
            self.board.run(n)
            self.note.value = ""
        except RunbookError as err:
            self.note.value = html.escape(str(err))
        if button is not None and row.runnable:
            button.disabled = False  # a failed step may be run again
        self.refresh()


class AuditAgain(SafeBox):
    """Verify in Lab/Voilà: a button that runs S0 again and shows before -> after."""

    def __init__(self, board: Any) -> None:
        self.board = board
        self.button = w.Button(description=_("Audit again"), icon="refresh")
        self.button.on_click(lambda _click: self.press())
        self.result = w.HTML(
            value=html.escape(_("Run the steps above, then audit again to compare."))
        )
        super().__init__(
            [self.button, self.result],
            safe_text=_("Run the steps above, then audit again to compare."),
        )

    def press(self) -> None:
        """Run S0 again; show the exit code's meaning and the compare lines."""
        self.button.disabled = True
        self.result.value = html.escape(_("S0 is running…"))
        try:
            code = self.board.audit_again()
        except RunbookError as err:
            self.result.value = html.escape(str(err))
        else:
            text = "\n".join([_("exit {code}").format(code=code), *self.board.compare()])
            self.result.value = f"<pre>{html.escape(text)}</pre>"
            self._safe_text = text
        self.button.disabled = False
