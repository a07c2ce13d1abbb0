"""The one result type of a runbook step: what the step did, as the lines its cell shows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StepResult:
    """What a step did, as one or more lines (its repr is the cell output: short, stable, no
    secret)."""

    text: str

    def __repr__(self) -> str:
        return self.text
