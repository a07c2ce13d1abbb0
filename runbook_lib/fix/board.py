"""Notebook 07's side of ``runbook fix``: the audit, the plan as rows, and one step at a time.

Kernel side, no widgets (``widgets.fix_board`` shows a ``Board``). The audit and every step are
normal runs with their own run folders and records (``fix.run.audit``/``run_step``: the same
runner as ``runbook fix``); this kernel keeps of a step only its exit code, status, message and
run folder, never its secret values (a step delivers its secrets where its runbook always does:
a 0600 file or Secrets Manager).

A row says only what is true now: a step not run yet shows the command it runs; a step done
shows "done" and its run folder; a failed one its error and run folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook_lib.core import environ
from runbook_lib.core.errors import EXIT_BAD_INPUT, EXIT_FAILED, BadInput, RunbookError
from runbook_lib.core.i18n import _
from runbook_lib.fix.plan import Plan, Step, command, make_plan
from runbook_lib.fix.run import FixRequest, audit, check_steps, exit_for, run_step
from runbook_lib.run.summary import compare_lines

#: a row's state
TODO, DONE, FAILED, MANUAL = "todo", "done", "failed", "manual"
#: the parameters of 07 that are its own (the rest reach S0 and the steps that declare them)
OWN = ("apply", "yes", "output_dir", "plan")


@dataclass
class Row:
    """One plan step as the page shows it."""

    n: int
    step: Step
    state: str
    exit_code: int | None = None
    message: str = ""
    run_dir: str = ""
    #: the ``runbook run`` it is (a runbook step)
    command: str = ""

    def text(self, yes: bool) -> str:
        """The row's line: what it closes and, by state, its command, result or instruction."""
        step = self.step
        head = _("Step {n} — {title} closes {controls}").format(
            n=self.n, title=step.title(), controls=", ".join(step.controls)
        )
        if self.state == MANUAL:
            return f"{head}: {_(step.how)}"
        if self.state == DONE:
            return _("{head}: done → {run_dir}").format(head=head, run_dir=self.run_dir)
        if self.state == FAILED:
            return _("{head}: failed: {message} → {run_dir}").format(
                head=head, message=self.message, run_dir=self.run_dir or "-"
            )
        kind = _("destructive") if step.destructive else _("not destructive")
        if step.destructive and not yes:
            kind = _("destructive: set yes to true to run it")
        return f"{head} ({kind}): {step.note_text() + ' — ' if step.note else ''}{self.command}"

    @property
    def runnable(self) -> bool:
        """A runbook step that is not done yet."""
        return self.state in (TODO, FAILED)


@dataclass
class Board:
    """The audit, its plan and each step's state: what notebook 07 shows and runs."""

    request: FixRequest
    audit_before: str
    findings: list[dict[str, Any]]
    plan: Plan
    rows: list[Row]
    yes: bool = False
    refusal: str = ""
    after: dict[str, Any] = field(default_factory=dict)
    audit_after: str = ""
    #: what the audit before ran against (account, sandbox instance): compared like for like
    audited: dict[str, Any] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """The audit's line and the plan's size (the rows are the step cell's)."""
        fails = [f for f in self.findings if f.get("status") == "FAIL" and not f.get("accepted")]
        out = [
            _("Audit before fix: {fails} FAIL(s) → {run_dir}").format(
                fails=len(fails), run_dir=self.audit_before
            )
        ]
        if not self.rows:
            return [*out, _("plan: nothing to fix (no FAIL in the audit)")]
        return [
            *out,
            _("plan: {runs} runbook step(s), {manual} manual step(s)").format(
                runs=len(self.plan.runs), manual=len(self.plan.manual)
            ),
        ]

    def row_lines(self) -> list[str]:
        """Each row as it is now, then a refusal if ``apply`` was refused."""
        return [row.text(self.yes) for row in self.rows] + ([self.refusal] if self.refusal else [])

    def compare(self) -> list[str]:
        """Each control before -> after (once S0 ran again)."""
        if not self.audit_after:
            return []
        where = self.audit_before
        return [
            line.strip()
            for line in compare_lines(
                {**self.audited, "findings": self.findings}, self.after, where
            )
        ]

    def __repr__(self) -> str:
        return "\n".join(self.lines())

    def run(self, n: int) -> Row:
        """Run step ``n`` (a button, or ``apply``); its row then says what happened.

        Raises:
            BadInput: a destructive step without ``yes``, a manual step, a step already done,
                or a step whose parameters would be refused (nothing was run).
        """
        row = self.rows[n - 1]
        if not row.runnable:
            raise BadInput(_("Step {n} has nothing to run.").format(n=n))
        if row.step.destructive and not self.yes:
            raise BadInput(_("Step {n} is destructive: set yes to true to run it.").format(n=n))
        check_steps(Plan((row.step,)), self.request.params)
        try:
            entry, result = run_step(self.request, row.step, n)
        except RunbookError as err:
            row.state, row.exit_code, row.message = FAILED, err.exit_code, str(err)
            return row
        del result  # its secret values stay out of this kernel's memory
        row.exit_code, row.run_dir = int(entry["exit_code"]), shown(Path(entry["run_dir"]))
        if row.exit_code in (EXIT_FAILED, EXIT_BAD_INPUT):
            row.state, row.message = FAILED, str(entry["message"] or entry["status"])
        else:
            row.state, row.message = DONE, ""
        return row

    def apply(self) -> int:
        """Every runbook step in order (headless ``apply``), stopping at the first that fails,
        then S0 again; the exit code as ``runbook fix`` has it."""
        try:
            check_steps(self.plan, self.request.params)
            if self.plan.destructive and not self.yes:
                raise BadInput(
                    _(
                        "The plan has destructive steps ({steps}): set yes to true to run them."
                    ).format(steps=", ".join(s.title() for s in self.plan.destructive))
                )
        except BadInput as err:
            self.refusal = str(err)
            return EXIT_BAD_INPUT
        for row in self.rows:
            if row.runnable and self.run(row.n).state == FAILED:
                return EXIT_FAILED
        return self.audit_again()

    def audit_again(self) -> int:
        """S0 again; the compare is then part of the page."""
        after = audit(self.request, _("audit after fix"), first=False)
        self.after, self.audit_after = dict(after.record), shown(after.run_dir)
        pending = any(row.exit_code == 3 for row in self.rows)
        return exit_for(list(self.after.get("findings") or []), pending)


def shown(path: Path) -> str:
    """A run folder as the page shows it: relative to where ``runbook`` was started."""
    start = Path(os.environ.get(environ.START_DIR) or os.getcwd())
    try:
        return str(Path(path).resolve().relative_to(start.resolve()))
    except ValueError:
        return str(path)


def runs_folder(output_dir: str) -> Path:
    """Where the audit's and steps' run folders go: ``output_dir`` under the folder ``runbook``
    was started in; empty: next to this notebook's own run (a headless run's output folder, a
    Lab/Voilà session's ``runs/``)."""
    start = Path(os.environ.get(environ.START_DIR) or os.getcwd())
    if output_dir:
        return start / output_dir
    record = os.environ.get(environ.RECORD, "")
    headless = os.environ.get(environ.HEADLESS)
    if record and headless and Path(record).name == "run.json":  # <output>/<run>/run.json
        return Path(record).parent.parent
    return (Path(record).parent if record else start) / "runs"


def open_board(params: Mapping[str, Any], *, yes: bool = False, output_dir: str = "") -> Board:
    """S0 as a normal run, then the plan as rows (no write: only the audit ran).

    Args:
        params: 07's parameters (target, thresholds, the person for 06, destinations).
    """
    given = {k: v for k, v in params.items() if k not in OWN and v not in ("", None)}
    request = FixRequest(
        given, output_dir=runs_folder(output_dir), mode="yes" if yes else "run", quiet=True
    )
    before = audit(request, _("audit before fix"))
    findings = [dict(f) for f in before.record.get("findings") or []]
    plan = make_plan(findings, given)
    rows = [
        Row(
            n,
            step,
            MANUAL if step.manual else TODO,
            command=command(step, [], {}) if not step.manual else "",
        )
        for n, step in enumerate(plan.steps, 1)
    ]
    audited: dict[str, Any] = {
        k: before.record[k]
        for k in ("account_id", "sandbox_instance", "target", "parameters")
        if k in before.record
    }
    return Board(request, shown(before.run_dir), findings, plan, rows, yes=yes, audited=audited)


def steps_view(board: Board, *, apply: bool = False, plan: bool = False) -> Any:
    """What the step cell shows: in Lab/Voilà the board with a button per step; headless the
    board as text, after running its steps when ``apply`` (else nothing is run: 0 writes).

    Raises:
        BadInput: ``apply`` refused (a destructive step without ``yes``, a step's parameters).
        RunbookError: ``apply``: a step failed (the steps before it kept their changes).
    """
    if plan or not (apply or _live()):
        idle = _("No step ran (0 writes): apply: true runs the plan's steps.")
        return _Said("\n".join([*board.row_lines(), idle]))
    if not apply:
        from runbook_lib.widgets.fix_board import FixBoard

        return FixBoard(board)
    code = board.apply()
    if code == EXIT_BAD_INPUT:
        raise BadInput(board.refusal)
    if code == EXIT_FAILED:
        failed = next(row for row in board.rows if row.state == FAILED)
        raise RunbookError(failed.text(board.yes))
    return _Said("\n".join(board.row_lines()))


def _live() -> bool:
    """A person's frontend (Lab, Voilà): not a headless run."""
    if os.environ.get(environ.HEADLESS):
        return False
    from IPython import get_ipython

    return get_ipython() is not None


class _Said:
    """A sentence as a cell's result."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def verify(board: Board, *, plan: bool = False) -> Any:
    """S0 again once steps ran, and the compare (headless ``apply`` has already run it); in
    Lab/Voilà a button that audits again after the buttons above; else a sentence."""
    if board.audit_after:
        return _Said("\n".join(board.compare()))
    if not plan and _live():
        from runbook_lib.widgets.fix_board import AuditAgain

        return AuditAgain(board)
    return _Said(_("No step ran: the audit before stands (nothing to compare)."))
