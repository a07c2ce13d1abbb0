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
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.record import RunRecord
from runbook_lib.core.result import StepResult
from runbook_lib.widgets.live import LiveRepr

#: the pending line of a live step: the button is in the same cell, just above this line
PRESS = N_("press this step's 'I have done this' button once done")


def _line(step: str, title: str, status: str, how: str) -> str:
    """A manual step's one line (``status`` and ``how`` in the run's language)."""
    return _("Manual step {step} — {title}: {status} ({how})").format(
        step=step, title=title, status=_(status), how=_(how)
    )


@dataclass(frozen=True, repr=False)  # keeps the parent's repr
class LiveManualStepResult(LiveRepr, StepResult):
    """A manual step in a live notebook: its line follows the record, so "I have done this"
    turns "pending until confirmed" into the confirmed line in place."""

    step: str = field(default="", compare=False)
    title: str = field(default="", compare=False)
    record: RunRecord = field(repr=False, compare=False, default_factory=RunRecord)

    @property
    def live_key(self) -> str:
        """One live line per manual step."""
        return f"manual:{self.step}"

    def live_text(self) -> str:
        """The step as the record has it now."""
        for entry in self.record.manual_steps:
            if entry.step == self.step and entry.status == "done":
                return _line(self.step, self.title, "done", entry.how)
        return repr(self)


def manual_step(
    ctx: RunContext,
    step: str,
    title: str,
    instructions_html: str,
    *,
    confirmed: bool = False,
    confirm_param: str = "",
) -> StepResult:
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
        how = (
            _("confirmed by parameter {name}").format(name=confirm_param)
            if confirm_param
            else _("confirmed")
        )
        if ctx.sandbox:
            how += _(" (sandbox: simulated)")
        ctx.record.manual(step, title, done=True, how=how)
        return StepResult(_line(step, title, N_("done"), how))
    if ctx.interactive:
        from runbook_lib import widgets

        def confirm() -> None:
            ctx.record.manual(
                step, title, done=True, how=_("confirmed in the notebook by a person")
            )

        widgets.show(widgets.ConfirmStep(title, instructions_html, confirm))
        ctx.record.manual(step, title, done=False, how=_("waiting for 'I have done this'"))
        line = _line(step, title, N_("pending until confirmed"), PRESS)
        return LiveManualStepResult(line, step, title, ctx.record)
    hint = (
        _("re-run with {name}: true once done").format(name=confirm_param)
        if confirm_param
        else _("do it by hand")
    )
    how = _("a person must do this; {hint}").format(hint=hint)
    ctx.record.manual(step, title, done=False, how=how)
    return StepResult(_line(step, title, N_("pending"), how))
