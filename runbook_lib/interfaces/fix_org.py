"""``runbook fix --org`` / ``--accounts``: the fix loop in every account of an Organization.

It joins the two loops (``fix``: one account; ``org``: the fan-out), so it sits with the front
ends: neither package imports the other.

The audits are the fan-out's (``org``: ``check_request`` → ``plan_fanout`` → ``run_plan`` →
``summarize``): S0 in every account, a plan per account (its own ``fix.json``), then each
account's steps in dependency order in that account, then S0 again in the accounts whose steps
all finished, and one summary with before → after per account.

Each step runs in its account exactly as a fan-out run does (``accounts.account_access``: the
member role assumed; ``target.account_run``: that account's credentials in the kernel's
environment only, ``expected_account_id`` set, secrets in ``<secrets_dir>/<account>/`` or that
account's Secrets Manager). Accounts run ``max_concurrency`` at a time; a step that fails stops
that account's loop (the steps before it keep their changes) but not the other accounts', and
once ``max_errors`` accounts failed (their audit or a step) no new account starts (the fan-out's
semantics). Refusals come before the first write in any account: every account's step
parameters, and a destructive step in any plan without ``--yes``.

Folder of one run: ``<output>/<time>-fix-org/`` with ``fix.json`` and ``summary.json``/``.html``
(the org's), ``<time>-00_check_root_usage-org/`` (the audits before, with the fan-out's own
summary), ``<account>/`` (its step runs and its ``fix.json``) and the audits after.

Exit code: the worst account's, by ``org.summary.EXIT_SEVERITY`` (0 < 3 < 4 < 1 < 2); an account
whose audit or step failed, or that never started, counts as 1.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from runbook_lib.core.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_MANUAL_PENDING,
    BadInput,
    RunbookError,
)
from runbook_lib.core.i18n import _
from runbook_lib.core.wording import pad, safe_text
from runbook_lib.fix import report as fix_report
from runbook_lib.fix.plan import Plan, Step, command, make_plan, notebook_of
from runbook_lib.fix.run import AUDIT, FixRequest, check_steps, exit_for
from runbook_lib.org import accounts as org_accounts
from runbook_lib.org.fanout import (
    AccountResult,
    FanoutPlan,
    FanoutResult,
    fanout_dir,
    plan_fanout,
    run_plan,
)
from runbook_lib.org.request import FanoutRequest, check_request
from runbook_lib.org.summary import summarize, worst_exit
from runbook_lib.org.target import FanoutTarget, account_run
from runbook_lib.root_usage.result import FAIL
from runbook_lib.run.artifacts import create_private
from runbook_lib.run.engine import warm_kernels
from runbook_lib.run.notebooks import declared
from runbook_lib.run.pool import KernelPool
from runbook_lib.run.runner import RunResult, run_notebook
from runbook_lib.run.summary import compare_lines

NOT_STARTED = "not started"


def _say(line: str) -> None:
    print(line, flush=True)


@dataclass
class OrgFixRequest:
    """``runbook fix`` over many accounts: the one-account request plus the fan-out's options.

    Attributes:
        fix: the parameters (no ``expected_account_id``), output folder, mode, commands' words.
        accounts: the account IDs; empty: the Organization's ACTIVE accounts.
        sandbox_url: the running sandbox a ``sandbox`` target uses.
    """

    fix: FixRequest
    accounts: tuple[str, ...] = ()
    role_name: str = org_accounts.DEFAULT_ROLE
    external_id: str = field(default="", repr=False)
    max_concurrency: int = 2
    max_errors: int | None = None
    sandbox_url: str = ""
    #: per-account kernel variables of the steps (the tests' fault injection)
    extra_env: Callable[[str], Mapping[str, str]] | None = field(default=None, repr=False)

    def audit_request(self, output_dir: Path) -> FanoutRequest:
        """The S0 fan-out (``fail_on_findings`` off: the findings are the loop's input)."""
        return FanoutRequest(
            notebook=str(notebook_of(AUDIT)),
            parameters={**self.fix.params, "fail_on_findings": False},
            accounts=self.accounts,
            role_name=self.role_name,
            external_id=self.external_id,
            max_concurrency=self.max_concurrency,
            max_errors=self.max_errors,
            output_dir=output_dir,
        )


@dataclass
class AccountFix:
    """One account's loop: its audits, plan, steps and exit code."""

    account_id: str
    before: AccountResult
    plan: Plan | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    after: AccountResult | None = None
    exit_code: int | None = None
    status: str = NOT_STARTED
    message: str = ""
    fix_json: Path | None = None
    pending: bool = False
    secrets: list[str] = field(default_factory=list, repr=False)


@dataclass
class OrgFixOutcome:
    """The run's exit code (the worst account's), its folder and the org-level ``fix.json``."""

    exit_code: int
    folder: Path
    fix_json: Path
    accounts: list[AccountFix]


def _fails(record: Mapping[str, Any]) -> int:
    return sum(
        f.get("status") == FAIL and not f.get("accepted") for f in record.get("findings") or []
    )


def _step_run(
    target: FanoutTarget, account_id: str, step: Step, request: OrgFixRequest, folder: Path
) -> RunResult:
    """One step in its account, as a fan-out run is (``fanout.run_account``'s two calls), kept
    as the runner's result: its secret values guard this account's ``fix.json``."""
    access = org_accounts.account_access(
        target.client("sts"),
        account_id,
        target.caller_account,
        target.role_name,
        target.external_id,
    )
    book = notebook_of(step.section)
    params = {**request.fix.params, **step.params}
    p, env = account_run(target, access, params, declared(book).secrets)
    env.update(request.extra_env(account_id) if request.extra_env else {})
    return run_notebook(step.notebook, p, output_dir=folder / account_id, kernel_env=env)


def _run_steps(one: AccountFix, target: FanoutTarget, request: OrgFixRequest, folder: Path) -> None:
    """The account's steps in order; the first that fails stops this account's loop."""
    assert one.plan is not None
    for n, step in enumerate(one.plan.runs, 1):
        try:
            result = _step_run(target, one.account_id, step, request, folder)
        except RunbookError as err:
            one.steps.append(
                {
                    "step": n,
                    "notebook": step.notebook,
                    "user": step.user,
                    "exit_code": err.exit_code,
                    "status": "failed",
                    "message": str(err),
                    "run_dir": "",
                }  # fmt: skip
            )
            code, message = err.exit_code, str(err)
        else:
            one.secrets += result.secret_values
            one.steps.append(fix_report.step_entry(step, n, result))
            code, message = result.exit_code, result.message or result.status
        if code in (EXIT_FAILED, EXIT_BAD_INPUT):
            one.exit_code, one.status = EXIT_FAILED, "failed"
            one.message = _(
                "Step {n} ({step}) failed: {message} The loop stopped in this account; {done} "
                "step(s) before it kept their changes."
            ).format(n=n, step=step.title(), message=message, done=n - 1)
            return
        one.pending |= code == EXIT_MANUAL_PENDING
    one.status = "steps done"


def _steps_everywhere(
    todo: Sequence[AccountFix],
    target: FanoutTarget,
    request: OrgFixRequest,
    folder: Path,
    failures: int,
    on_done: Callable[[AccountFix], None],
) -> None:
    """Every account's steps, ``max_concurrency`` accounts at a time; once ``max_errors``
    accounts failed (``failures`` counts the audits'), no new account starts."""
    queue: Iterator[AccountFix] = iter(todo)
    running: dict[Future[None], AccountFix] = {}
    width = max(1, request.max_concurrency)
    cwd = os.getcwd()  # papermill's per-run chdir is process-wide: put it back afterwards

    def work(kernels: KernelPool, one: AccountFix) -> None:
        with warm_kernels(kernels):  # per thread: the engine reads the pool from a contextvar
            _run_steps(one, target, request, folder)

    try:
        with KernelPool(width) as kernels, ThreadPoolExecutor(max_workers=width) as pool:
            while True:
                stop = request.max_errors is not None and failures >= request.max_errors
                while not stop and len(running) < width:
                    one = next(queue, None)
                    if one is None:
                        break
                    running[pool.submit(work, kernels, one)] = one
                if not running:
                    break
                done, _pending = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    one = running.pop(future)
                    future.result()
                    failures += one.exit_code == EXIT_FAILED
                    on_done(one)
    finally:
        os.chdir(cwd)


def _audit_fanout(plan: FanoutPlan, ids: Sequence[str]) -> FanoutResult:
    """S0 in ``ids`` through the fan-out (its own folder and summary in the fix's folder)."""
    sub = FanoutPlan(plan.request, plan.target, list(ids))
    result = run_plan(sub)
    summarize(plan.request, result, lambda: plan.target)
    return result


def check_org_request(request: OrgFixRequest) -> None:
    """The fan-out's own refusals (limits, parameters), before any sandbox or AWS call.

    Raises:
        BadInput: the first thing wrong, named, with the fix.
    """
    check_request(request.audit_request(request.fix.output_dir))


def run_org_fix(request: OrgFixRequest) -> OrgFixOutcome:
    """Audit every account, plan each, and (unless ``mode`` is ``plan``) run each account's plan
    in that account and audit again.

    Raises:
        BadInput: refused before any write in any account: the fan-out's options, a parameter,
            a step's parameters in some account's plan, or a destructive step without ``yes``.
        TargetRefused: the management credentials were refused.
    """
    fix = request.fix
    audit_req = request.audit_request(fix.output_dir)
    check_request(audit_req)  # exit 2 before any account runs (and before any AWS call)
    fplan = plan_fanout(audit_req, sandbox_url=request.sandbox_url)
    folder = fanout_dir(fix.output_dir, "fix")
    fplan = FanoutPlan(replace(audit_req, output_dir=folder), fplan.target, fplan.account_ids)
    _say(
        _("{count} accounts, {at_once} at a time").format(
            count=len(fplan.account_ids), at_once=request.max_concurrency
        )
    )
    _say("▶ " + _("audit before fix") + " …")
    before = _audit_fanout(fplan, fplan.account_ids)
    accts = [AccountFix(r.account_id, r) for r in before.results]
    for one in accts:
        res = one.before
        if res.exit_code in (EXIT_FAILED, EXIT_BAD_INPUT, None):
            one.exit_code, one.status = EXIT_FAILED, res.status
            one.message = res.message or _("the audit did not run")
            continue
        findings = list(res.record.get("findings") or [])
        one.plan = make_plan(findings, fix.params)
        one.status = "planned"
    for one in accts:
        _say(f"{one.account_id}:")
        if one.plan is None:
            _say(f"  {_('audit failed')}: {safe_text(one.message)}")
            continue
        for line in fix_report.plan_lines(one.plan, fix.target_args, fix.given):
            _say(f"  {line}")
    planned = [one for one in accts if one.plan is not None]
    if fix.mode != "plan":
        try:
            _refuse_before_writes(planned, fix)
        except BadInput:
            _finish(request, folder, accts, before, None, EXIT_BAD_INPUT)
            raise
        failures = sum(one.exit_code == EXIT_FAILED for one in accts)
        todo = [one for one in planned if one.plan and one.plan.runs]
        for one in todo:  # until its steps start (--max-errors may keep it from starting)
            one.status = NOT_STARTED
        for one in planned:
            if one.plan and not one.plan.runs:
                one.status = "nothing to run"
        done: list[int] = []

        def progress(one: AccountFix) -> None:
            done.append(1)
            words = one.message if one.exit_code == EXIT_FAILED else one.status
            _say(safe_text(f"[{len(done)}/{len(todo)}] {one.account_id} {words}"))

        if todo:
            _say("▶ " + _("steps, account by account") + " …")
            _steps_everywhere(todo, fplan.target, request, folder, failures, progress)
        again = [one.account_id for one in todo if one.status == "steps done"]
        after = None
        if again:
            _say("▶ " + _("audit after fix") + " …")
            after = _audit_fanout(fplan, again)
            by_id = {r.account_id: r for r in after.results}
            for one in todo:
                one.after = by_id.get(one.account_id)
        return _finish(request, folder, accts, before, after, None)
    return _finish(request, folder, accts, before, None, None)


def _refuse_before_writes(planned: Sequence[AccountFix], fix: FixRequest) -> None:
    """Every account's step parameters, then destructive steps without ``--yes``.

    Raises:
        BadInput: the first refusal, naming the account.
    """
    for one in planned:
        assert one.plan is not None
        try:
            check_steps(one.plan, fix.params)
        except BadInput as err:
            raise BadInput(f"{one.account_id}: {err}") from None
    destructive = [(one.account_id, s) for one in planned if one.plan for s in one.plan.destructive]
    if destructive and fix.mode != "yes":
        names = ", ".join(f"{acct} {step.title()}" for acct, step in destructive)
        raise BadInput(
            _(
                "The plans have destructive steps ({steps}): run 'runbook fix --org --yes' to "
                "run them, or 'runbook fix --org --plan' to read the plans first."
            ).format(steps=names)
        )


def _account_exit(one: AccountFix, mode: str) -> int | None:
    if one.exit_code is not None:  # failed (audit or step)
        return one.exit_code
    if one.status == NOT_STARTED:
        return None
    findings = (one.after or one.before).record.get("findings") or []
    return exit_for(list(findings), one.pending and mode != "plan")


def _finish(
    request: OrgFixRequest,
    folder: Path,
    accts: list[AccountFix],
    before: FanoutResult,
    after: FanoutResult | None,
    refused: int | None,
) -> OrgFixOutcome:
    """Each account's ``fix.json``, then the org's ``fix.json`` and summary; the table."""
    fix = request.fix
    rows = []
    for one in accts:
        code = EXIT_BAD_INPUT if refused is not None and one.plan else _account_exit(one, fix.mode)
        rows.append(_account_fix_json(one, fix, folder, code))
    code = refused if refused is not None else worst_exit(r["exit_code"] for r in rows)
    data = {
        "mode": fix.mode,
        "accounts": len(rows),
        "audit_before": str(before.output_dir),
        "audit_after": str(after.output_dir) if after else "",
        "exit_code": code,
        "rows": rows,
    }
    secrets = [s for one in accts for s in one.secrets]
    path = fix_report.write_json_checked(create_private(folder / "fix.json"), data, secrets)
    fix_report.write_json_checked(create_private(folder / "summary.json"), data, secrets)
    page = create_private(folder / "summary.html")
    page.write_text(_summary_html(data), encoding="utf-8")
    os.chmod(folder, 0o700)
    for line in summary_table(rows):
        print(line, flush=True)
    for r in rows:  # before -> after, check by check, per account
        if r["compare"]:
            print(safe_text(f"{r['account_id']}: " + "; ".join(r["compare"])), flush=True)
    print(
        _("Summary: {folder}/summary.html (and summary.json, fix.json); exit {code}").format(
            folder=folder, code=code
        ),
        flush=True,
    )
    return OrgFixOutcome(code, folder, path, accts)


def _account_fix_json(
    one: AccountFix, fix: FixRequest, folder: Path, code: int | None
) -> dict[str, Any]:
    """This account's ``fix.json`` (the one-account file's fields) and its summary row."""
    rec_before = one.before.record
    rec_after = one.after.record if one.after else None
    findings = list(rec_before.get("findings") or [])
    data: dict[str, Any] = {
        "mode": fix.mode,
        "account_id": one.account_id,
        "cis_version": next((f.get("cis_version") for f in findings), None),
        "audit_before": str(one.before.run_dir or ""),
        "before": fix_report.finding_rows(findings),
        "plan": [s.as_dict() for s in one.plan.steps] if one.plan else [],
        "commands": [command(s, fix.target_args, fix.given) for s in one.plan.runs]
        if one.plan
        else [],
        "steps": one.steps,
        "exit_code": code,
    }
    compare: list[str] = []
    if rec_after is not None:
        lines = compare_lines(rec_before, rec_after, _("the audit before fix"))
        compare = [line.strip() for line in lines[1:]]
        data.update(
            {
                "audit_after": str(one.after.run_dir if one.after else ""),
                "after": fix_report.finding_rows(rec_after.get("findings") or []),
                "compare": compare,
            }
        )
    if one.message:
        data["message"] = one.message
    if one.plan is not None:
        one.fix_json = fix_report.write_fix_json(folder / one.account_id, data, one.secrets)
    fails_after = _fails(rec_after) if rec_after is not None else None
    return {
        "account_id": one.account_id,
        "status": one.status,
        "exit_code": code,
        "fails_before": _fails(rec_before) if rec_before else None,
        "fails_after": fails_after,
        "steps_planned": len(one.plan.runs) if one.plan else 0,
        "steps_done": sum(
            s.get("exit_code") not in (EXIT_FAILED, EXIT_BAD_INPUT) for s in one.steps
        ),  # fmt: skip
        "manual_steps": len(one.plan.manual) if one.plan else 0,
        "compare": compare,
        "fix_json": str(one.fix_json.relative_to(folder)) if one.fix_json else "",
        "message": one.message,
    }


def _count(value: Any) -> str:
    return "-" if value is None else str(value)


def summary_table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The terminal table: FAILs before → after, steps done / planned, exit, per account."""
    head = ((_("account"), 14), (_("FAILs before → after"), 22), (_("steps"), 8), (_("exit"), 6))
    lines = ["".join(pad(text, width) for text, width in head) + _("status")]
    for r in rows:
        fails = f"{_count(r['fails_before'])} → {_count(r['fails_after'])}"
        steps = f"{r['steps_done']}/{r['steps_planned']}"
        tail = r["message"] or r["status"]
        code = _count(r["exit_code"])
        lines.append(safe_text(f"{r['account_id']:<14}{fails:<22}{steps:<8}{code:<6}{tail}"))
    return lines


def _summary_html(data: Mapping[str, Any]) -> str:
    """The offline page: a row per account, before → after and the compare (no script)."""
    esc = html.escape
    head = [_("account"), _("FAILs before → after"), _("steps"), _("exit"), _("compare")]
    lines = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>runbook fix: {data['accounts']} accounts</title>",
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:2px 6px;vertical-align:top}</style></head><body>",
        f"<h1>runbook fix ({esc(str(data['mode']))}): {data['accounts']} accounts, "
        f"exit {data['exit_code']}</h1>",
        "<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>",
    ]
    for r in data["rows"]:
        cells = [
            r["account_id"],
            f"{_count(r['fails_before'])} → {_count(r['fails_after'])}",
            f"{r['steps_done']}/{r['steps_planned']}",
            _count(r["exit_code"]),
        ]
        compare = "<br>".join(esc(line) for line in r["compare"]) or esc(r["message"])
        lines.append(
            "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + f"<td>{compare}</td></tr>"
        )
    lines.append("</table></body></html>")
    return "\n".join(lines) + "\n"


def as_json(outcome: OrgFixOutcome) -> dict[str, Any]:
    """The org-level ``fix.json`` as data."""
    return dict(json.loads(outcome.fix_json.read_text("utf-8")))
