"""The fix loop on one target: S0, the plan, the plan's runbooks in order, S0 again.

Every run goes through the runner (``run.runner.run_notebook``): each step is a normal run with
its own run record, on the same target; on the sandbox all of them (both audits too) run on the
one sandbox of this process, on one warm kernel reset between runs (as ``run --all``).

Refusals come before the first write: the parameters of every step are checked (types, IAM's
rules) and a plan with destructive steps (cleanup, rotation) runs only with ``--yes``. A step
that fails stops the loop (exit 1); the steps before it keep their changes and their records.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook_lib.core.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_FINDINGS,
    EXIT_MANUAL_PENDING,
    EXIT_OK,
    BadInput,
    RunbookError,
)
from runbook_lib.core.i18n import _
from runbook_lib.fix import report as fix_report
from runbook_lib.fix.plan import (
    PERSON,
    REMEDIES,
    Plan,
    Step,
    administrator_remedy,
    command,
    make_plan,
    notebook_of,
)
from runbook_lib.run import precheck
from runbook_lib.run.engine import warm_kernels
from runbook_lib.run.pool import KernelPool
from runbook_lib.run.runner import RunResult, prepare_parameters, run_notebook
from runbook_lib.run.summary import compare_lines

AUDIT = "S0"
#: how the loop runs: ``plan`` (audit and plan only), ``run`` (no destructive step), ``yes``
MODES = ("plan", "run", "yes")


class StepFailed(RunbookError):
    """A step's runbook failed: the loop stopped there. Exit code 1."""


@dataclass
class FixRequest:
    """One ``runbook fix``: the run's parameters, where the records go, and how far it goes."""

    params: Mapping[str, Any]
    output_dir: Path = Path("runs")
    mode: str = "plan"
    #: the target options as typed (``-f FILE``, ``--profile P``): the plan's commands repeat them
    target_args: Sequence[str] = ()
    #: the ``-p`` values given (typed): the plan's commands repeat those a notebook declares
    given: Mapping[str, Any] = field(default_factory=dict)
    log_output: bool = False
    #: no progress lines (notebook 07 shows its own rows)
    quiet: bool = False


@dataclass
class FixOutcome:
    """What the loop did: its exit code and ``fix.json``."""

    exit_code: int
    fix_json: Path
    data: dict[str, Any]


def exit_for(findings: Sequence[Mapping[str, Any]], pending_manual: bool) -> int:
    """4 while a FAIL a runbook closes is left, else 3 while a manual step is, else 0."""
    left = [f for f in findings if f.get("status") == "FAIL" and not f.get("accepted")]
    # where the plan chooses 06, S0's IAM-user administrator check stays FAIL: a person's call
    # (01 for a break-glass user), not a runbook the plan runs
    via_06 = administrator_remedy(findings)[0].section == "S6"
    runbook = [
        f
        for f in left
        if REMEDIES.get(str(f.get("check")))
        and REMEDIES[str(f["check"])].section
        and not (via_06 and f.get("check") == "iam_administrator")
    ]
    if runbook:
        return EXIT_FINDINGS
    if left or pending_manual:
        return EXIT_MANUAL_PENDING
    return EXIT_OK


def _run(name: str, params: Mapping[str, Any], request: FixRequest, label: str) -> RunResult:
    if request.quiet:
        return run_notebook(
            name, params, output_dir=request.output_dir, log_output=request.log_output
        )
    print(f"▶ {label} …", end="", flush=True)
    started = time.monotonic()
    try:
        result = run_notebook(
            name, params, output_dir=request.output_dir, log_output=request.log_output
        )
    except RunbookError:
        print(" " + _("refused"), flush=True)
        raise
    print("\n".join(fix_report.run_lines(result, time.monotonic() - started)), flush=True)
    return result


def _audit(request: FixRequest, label: str, *, first: bool = True) -> RunResult:
    """S0 with ``fail_on_findings`` off: its findings are the loop's input, not its failure.

    Raises:
        BadInput: the first audit refused its input (nothing was changed).
        RunbookError: the audit failed, or the audit after the steps refused its input (the
            steps made their changes: never a "nothing changed" refusal then).
    """
    audit = notebook_of(AUDIT)
    result = _run(str(audit), {**request.params, "fail_on_findings": False}, request, label)
    if result.exit_code in (EXIT_FAILED, EXIT_BAD_INPUT):
        refused = first and result.exit_code == EXIT_BAD_INPUT
        error = BadInput if refused else RunbookError
        raise error(
            _("The audit ({notebook}) did not finish: {message}").format(
                notebook=audit.stem, message=result.message
            )
        )
    return result


def audit(request: FixRequest, label: str, *, first: bool = True) -> RunResult:
    """S0 as a normal run (its own record), its findings the loop's input (``_audit``)."""
    return _audit(request, label, first=first)


def run_step(request: FixRequest, step: Step, n: int) -> tuple[dict[str, Any], RunResult]:
    """One plan step as a normal run with its own record: its ``fix.json`` entry and result."""
    result = _run(step.notebook, {**request.params, **step.params}, request, f"{n}. {step.title()}")
    return fix_report.step_entry(step, n, result), result


def check_steps(plan: Plan, params: Mapping[str, Any]) -> None:
    """Every step's parameters, as the notebook declares them and as IAM's rules allow.

    Raises:
        BadInput: the first step parameter that would be refused (before any write).
    """
    for n, step in enumerate(plan.runs, 1):
        missing = [name for name in PERSON if step.section == "S6" and name not in step.params]
        if missing:
            raise BadInput(
                _(
                    "Step {n} ({step}) gives people an administrator in IAM Identity Center and "
                    "needs the person: add {options} (fix does not make one up)."
                ).format(
                    n=n,
                    step=step.title(),
                    options=" ".join(f"-p {name} {name.upper()}" for name in missing),
                )
            )
        merged = {**params, **step.params}
        prepare_parameters(step.notebook, merged)
        precheck.check_parameters(merged)


def run_fix(request: FixRequest) -> FixOutcome:
    """Audit, plan, and (unless ``mode`` is ``plan``) run the plan and audit again.

    Returns:
        The exit code (0 every FAIL closed; 3 only manual steps left; 4 a FAIL left) and
        ``fix.json``.

    Raises:
        BadInput: a parameter is wrong, or the plan has destructive steps and ``mode`` is not
            ``yes`` (nothing was changed: only the audit ran).
        StepFailed: a step's runbook failed (the loop stopped; earlier steps kept their changes).
        RunbookError: the audit failed.
    """
    if request.mode not in MODES:
        raise ValueError(request.mode)
    secrets: list[str] = []
    # one warm kernel for the audit, the steps and the audit again (a failed run's is replaced)
    with KernelPool(1, prestart=False) as pool, warm_kernels(pool):
        before = _audit(request, _("audit before fix"))
        secrets += before.secret_values
        findings = list(before.record.get("findings") or [])
        plan = make_plan(findings, request.params)
        data: dict[str, Any] = {
            "mode": request.mode,
            "account_id": before.record.get("account_id"),
            "cis_version": next((f.get("cis_version") for f in findings), None),
            "audit_before": str(before.run_dir),
            "before": fix_report.finding_rows(findings),
            "plan": [step.as_dict() for step in plan.steps],
            "commands": [command(s, request.target_args, request.given) for s in plan.runs],
            "steps": [],
        }
        lines = fix_report.plan_lines(plan, request.target_args, request.given)
        print("\n".join(lines), flush=True)
        if request.mode == "plan":
            data["exit_code"] = exit_for(findings, False)
            return _done(request, data, secrets)
        try:
            check_steps(plan, request.params)
            if plan.destructive and request.mode != "yes":
                names = ", ".join(step.title() for step in plan.destructive)
                raise BadInput(
                    _(
                        "The plan has destructive steps ({steps}): run 'runbook fix --yes' to "
                        "run them, or 'runbook fix --plan' to read the plan first."
                    ).format(steps=names)
                )
        except BadInput:
            data["exit_code"] = EXIT_BAD_INPUT  # refused before any step: the plan is kept
            _done(request, data, secrets)
            raise
        pending = False
        for n, step in enumerate(plan.runs, 1):
            params = {**request.params, **step.params}
            result = _run(step.notebook, params, request, f"{n}. {step.title()}")
            secrets += result.secret_values
            data["steps"].append(fix_report.step_entry(step, n, result))
            if result.exit_code in (EXIT_FAILED, EXIT_BAD_INPUT):
                data["exit_code"] = EXIT_FAILED
                path = _done(request, data, secrets).fix_json
                raise StepFailed(
                    _(
                        "Step {n} ({step}) failed: {message} The loop stopped; {done} step(s) "
                        "before it kept their changes (records: {fix_json})."
                    ).format(
                        n=n,
                        step=step.title(),
                        message=result.message or result.status,
                        done=n - 1,
                        fix_json=path,
                    )
                )
            pending |= result.exit_code == EXIT_MANUAL_PENDING
        if plan.runs:  # nothing ran: the audit before is the audit after
            after = _audit(request, _("audit after fix"), first=False)
            secrets += after.secret_values
        else:
            after = before
    after_findings = list(after.record.get("findings") or [])
    compare = compare_lines(before.record, after.record, _("the audit before fix"))
    print("\n".join(compare), flush=True)
    data.update(
        {
            "audit_after": str(after.run_dir),
            "after": fix_report.finding_rows(after_findings),
            "compare": [line.strip() for line in compare[1:]],
            "exit_code": exit_for(after_findings, pending),
        }
    )
    return _done(request, data, secrets)


def _done(request: FixRequest, data: dict[str, Any], secrets: Sequence[str]) -> FixOutcome:
    path = fix_report.write_fix_json(request.output_dir, data, secrets)
    print(_("fix.json: {path}").format(path=path), flush=True)
    return FixOutcome(int(data["exit_code"]), path, data)
