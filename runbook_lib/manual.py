"""Manual steps: things only a person can do, tracked instead of silently skipped.

Interactive: the step shows a "I have done this" confirmation and stays pending until it is
pressed; its status line (the cell's result, under the button) is live: the button turns it
into the confirmed line. Headless: there is no button, so the step is pending (exit code 3)
unless a parameter says it is done, and the line names that parameter.

This module sits beside the sections, not in ``core``: it shows a widget, and ``core`` never
imports ``widgets``. Sections and notebooks use it like a section's own step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runbook_lib.core.context import RunContext
from runbook_lib.core.record import RunRecord
from runbook_lib.widgets.live import LiveRepr

#: the pending line of a live step: the button is in the same cell, just above this line
PRESS = "press this step's 'I have done this' button once done"


@dataclass(frozen=True)
class ManualStepResult:
    """The state of a manual step after its cell ran."""

    step: str
    title: str
    status: str
    how: str

    def __repr__(self) -> str:
        return f"Manual step {self.step} — {self.title}: {self.status} ({self.how})"


@dataclass(frozen=True, repr=False)  # keeps the parent\'s repr
class LiveManualStepResult(LiveRepr, ManualStepResult):
    """A manual step in a live notebook: its line follows the record, so "I have done this"
    turns "pending until confirmed" into the confirmed line in place."""

    record: RunRecord = field(repr=False, compare=False, default_factory=RunRecord)

    @property
    def live_key(self) -> str:
        """One live line per manual step."""
        return f"manual:{self.step}"

    def live_text(self) -> str:
        """The step as the record has it now."""
        for entry in self.record.manual_steps:
            if entry.step == self.step and entry.status == "done":
                return repr(ManualStepResult(self.step, self.title, "done", entry.how))
        return repr(self)


def manual_step(
    ctx: RunContext,
    step: str,
    title: str,
    instructions_html: str,
    *,
    confirmed: bool = False,
    confirm_param: str = "",
) -> ManualStepResult:
    """Track a manual step in the run record, with a confirmation widget when interactive.

    Args:
        ctx: the run context.
        step: its ID, e.g. ``"S1.2"``.
        title: a short title.
        instructions_html: what the person must do (shown in the widget).
        confirmed: a parameter says the step is already done.
        confirm_param: the parameter that confirms it headless (named in the pending message).

    Returns:
        The step's state (``done`` or ``pending``).
    """
    if confirmed:
        how = f"confirmed by parameter {confirm_param}" if confirm_param else "confirmed"
        if ctx.sandbox:
            how += " (sandbox: simulated)"
        ctx.record.manual(step, title, done=True, how=how)
        return ManualStepResult(step, title, "done", how)
    if ctx.interactive:
        from runbook_lib import widgets

        def confirm() -> None:
            ctx.record.manual(step, title, done=True, how="confirmed in the notebook by a person")

        widgets.show(widgets.ConfirmStep(title, instructions_html, confirm))
        ctx.record.manual(step, title, done=False, how="waiting for 'I have done this'")
        return LiveManualStepResult(step, title, "pending until confirmed", PRESS, ctx.record)
    hint = f"re-run with {confirm_param}: true once done" if confirm_param else "do it by hand"
    ctx.record.manual(step, title, done=False, how=f"a person must do this; {hint}")
    return ManualStepResult(step, title, "pending", f"a person must do this; {hint}")
