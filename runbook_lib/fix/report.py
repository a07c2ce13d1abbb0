"""What ``runbook fix`` shows and keeps: the plan as commands, the steps' outcomes, the before ->
after compare, and ``fix.json`` (the same facts, for programs).

Nothing here holds a secret: the plan comes from the audit's findings and the run records, whose
artifacts the runner's leak guard has scanned; ``fix.json`` is checked once more against the
secret values of every run (kept in memory only) before it is made readable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from runbook_lib.core.i18n import _
from runbook_lib.fix.plan import Plan, Step, command
from runbook_lib.run import artifacts
from runbook_lib.run.summary import status_words, summary_lines

INDENT = "  "


def plan_lines(plan: Plan, target_args: Sequence[str], given: Mapping[str, Any]) -> list[str]:
    """The plan, one numbered step per entry: what it closes, then the command (or the console
    instruction) a person could follow one by one."""
    if not plan.steps:
        return [_("plan: nothing to fix (no FAIL in the audit)")]
    lines = [
        _("plan: {runs} runbook step(s), {manual} manual step(s)").format(
            runs=len(plan.runs), manual=len(plan.manual)
        )
    ]
    for n, step in enumerate(plan.steps, 1):
        closes = ", ".join(step.controls)
        head = f"{INDENT}{n}. {step.title()} " + _("closes {controls}").format(controls=closes)
        if step.destructive:
            head += " " + _("(destructive: runs only with --yes)")
        lines.append(head)
        if step.manual:
            lines.append(f"{INDENT * 3}{_(step.how)}")
            continue
        lines.append(f"{INDENT * 3}{command(step, target_args, given)}")
        if step.note:
            lines.append(f"{INDENT * 3}({step.note_text()})")
    return lines


def run_lines(result: Any, seconds: float) -> list[str]:
    """The end of a ``▶ NAME …`` line, then the run's summary (its failure message is left to
    the one line the loop ends with, so a failure is said once)."""
    rec = result.record
    counts = _("{writes} writes, {reads} reads").format(
        writes=int(rec.get("writes", 0)), reads=int(rec.get("reads", 0))
    )
    head = _("{status} ({counts}) in {seconds} s → {run_dir}/").format(
        status=status_words(result.status),
        counts=counts,
        seconds=f"{seconds:.1f}",
        run_dir=result.run_dir,
    )
    return [" " + head, *summary_lines(rec)]


def step_entry(step: Step, n: int, result: Any) -> dict[str, Any]:
    """One run step's outcome for ``fix.json``."""
    return {
        "step": n,
        "notebook": step.notebook,
        "user": step.user,
        "exit_code": result.exit_code,
        "status": result.status,
        "message": result.message,
        "run_dir": str(result.run_dir),
    }


def finding_rows(findings: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The audit's findings, short: control, check, status (accepted ones say so)."""
    return [
        {
            "control": f.get("control"),
            "check": f.get("check"),
            "status": f.get("status"),
            "accepted": bool(f.get("accepted")),
        }
        for f in findings
    ]


def write_fix_json(output_dir: Path, data: Mapping[str, Any], secrets: Sequence[str]) -> Path:
    """``OUTPUT/<id>-fix/fix.json``, private until it is found free of every run's secrets.

    A value found is replaced by ``[secret removed]`` (the steps' messages come from run
    records the runner already scanned: this is the last guard, not the first).
    """
    run_dir = artifacts.open_run_dir(output_dir, "fix", ["fix.json"])
    path = write_json_checked(run_dir / "fix.json", data, secrets)
    artifacts.publish(run_dir, [path])
    return path


def write_json_checked(path: Path, data: Mapping[str, Any], secrets: Sequence[str]) -> Path:
    """``data`` as JSON into ``path`` (created private beforehand), every value of ``secrets``
    found in it replaced by ``[secret removed]``."""
    artifacts.write_json(path, data)
    text = path.read_text("utf-8")
    for value in secrets:
        for form in {value, json.dumps(value)[1:-1]} if value else ():
            text = text.replace(form, "[secret removed]")
    path.write_text(text, "utf-8")
    return path
