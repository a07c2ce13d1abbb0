"""Manual steps: things only a person can do, tracked instead of silently skipped.

Interactive: the step shows a "I have done this" confirmation and stays pending until it is
pressed. Headless: the step is pending (exit code 3) unless a parameter says it is done.

This module sits beside the sections, not in ``core``: it shows a widget, and ``core`` never
imports ``widgets``. Sections and notebooks use it like a section's own step.
"""

from __future__ import annotations

from dataclasses import dataclass

from runbook_lib.core.context import RunContext


@dataclass(frozen=True)
class ManualStepResult:
    """The state of a manual step after its cell ran."""

    step: str
    title: str
    status: str
    how: str

    def __repr__(self) -> str:
        return f"Manual step {self.step} — {self.title}: {self.status} ({self.how})"


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
        ctx.record.manual(step, title, done=False, how="waiting for the confirmation below")
        return ManualStepResult(
            step, title, "pending until confirmed", "press 'I have done this' below once done"
        )
    hint = f"re-run with {confirm_param}: true once done" if confirm_param else "do it by hand"
    ctx.record.manual(step, title, done=False, how=f"a person must do this; {hint}")
    return ManualStepResult(step, title, "pending", f"a person must do this; {hint}")
