"""``runbook run NAME --org`` / ``--accounts``: the fan-out options and their command.

Everything that can be refused is refused before any account runs (exit 2, one line): the
account list, the role name, the option combination, the parameters. Then a progress line per
finished account, the summary table, and the worst account's exit code
(``org_summary.EXIT_SEVERITY``).
"""

from __future__ import annotations

import argparse
from typing import Any

from runbook_lib.core.errors import BadInput, RunbookError
from runbook_lib.core.i18n import _


def fanout_options(cmd: argparse.ArgumentParser) -> None:
    """The options of ``runbook run`` that run one notebook over many accounts."""
    grp = cmd.add_argument_group("many accounts (fan-out)")
    grp.add_argument("--org", action="store_true", help="every ACTIVE account of the Organization")
    grp.add_argument("--accounts", metavar="ID,ID|FILE", help="these accounts (12-digit IDs)")
    grp.add_argument(
        "--role-name",
        default="OrganizationAccountAccessRole",
        help="the role assumed in each account (default: OrganizationAccountAccessRole)",
    )
    grp.add_argument("--external-id", default="", help="the external ID the role requires")
    grp.add_argument("--max-concurrency", type=int, default=2, metavar="K", help="default: 2")
    grp.add_argument(
        "--max-errors", type=int, metavar="E", help="start no new account after E failures"
    )
    grp.add_argument(
        "--root-audit",
        action="store_true",
        help="S0: each member's root credentials through sts:AssumeRoot (audit task policy)",
    )
    grp.add_argument(
        "--root-delete",
        action="store_true",
        help="S0: plan deleting each member's root credentials (nothing is deleted without "
        "--confirm-root-delete)",
    )
    grp.add_argument(
        "--confirm-root-delete",
        action="store_true",
        help="with --root-delete: delete what the plan lists (sts:AssumeRoot, delete task policy)",
    )
    member_option(cmd)


def member_option(cmd: argparse.ArgumentParser) -> None:
    """``--member-accounts N``: the sandbox is an Organization with N member accounts."""
    cmd.add_argument(
        "--member-accounts",
        type=int,
        default=0,
        metavar="N",
        help="the sandbox is an Organization: the management account plus N members",
    )


def wants_fanout(args: argparse.Namespace) -> bool:
    """Whether ``runbook run`` was asked to run over many accounts."""
    return bool(args.org or args.accounts)


def _check(args: argparse.Namespace) -> None:
    if args.org and args.accounts:
        raise BadInput("--org and --accounts exclude each other: give one.")
    if args.all or not args.name:
        raise BadInput("--org/--accounts run one notebook: give NAME, not --all.")
    if args.max_concurrency < 1:
        raise BadInput(
            _("--max-concurrency {value} must be 1 or more.").format(value=args.max_concurrency)
        )
    if args.max_errors is not None and args.max_errors < 1:
        raise BadInput(
            _("--max-errors {value} must be 1 or more (or left out).").format(value=args.max_errors)
        )
    root = args.root_audit or args.root_delete or args.confirm_root_delete
    if root and "check_root" not in _stem(args):
        raise BadInput("--root-audit/--root-delete belong to 00_check_root_usage: drop them.")
    if args.confirm_root_delete and not args.root_delete:
        raise BadInput("--confirm-root-delete confirms --root-delete: give both, or neither.")
    if args.member_accounts < 0:
        raise BadInput(
            _("--member-accounts {value} must be 0 or more.").format(value=args.member_accounts)
        )


def _stem(args: argparse.Namespace) -> str:
    from runbook_lib.run.notebooks import find_notebook

    return find_notebook(args.name).stem


def _root_posture(
    args: argparse.Namespace, target: Any, accounts: list[str]
) -> tuple[list[str], dict[str, Any]]:
    """S0 over an Organization: centralized root access, and each member's root credentials
    with --root-audit/--root-delete (deleted only with --confirm-root-delete)."""
    from runbook_lib.run import root_access

    sandbox = target.kind == "sandbox"
    features = root_access.org_features(None if sandbox else target.client("iam"))
    lines = [_("centralized root access: {status}").format(status=features["status"])]
    data: dict[str, Any] = {"centralized_root_access": features}
    if not (args.root_audit or args.root_delete):
        return lines, data
    sts = None if sandbox else target.client("sts")
    members = [a for a in accounts if a != target.caller_account]  # AssumeRoot: members only
    audits = [
        root_access.audit_root(sts, lambda c: target.client_with("iam", c), a) for a in members
    ]
    data["members"] = [a.to_dict() for a in audits]
    for audit in audits:
        plan = audit.plan()
        found = "; ".join(plan) if plan else _("no root credentials")
        lines.append(
            _("root of {account}: {found}").format(
                account=audit.account_id, found=found if audit.status == "known" else audit.status
            )
        )
    if args.root_delete:
        planned = {a.account_id: a.plan() for a in audits if a.plan()}
        data["root_delete"] = {"planned": planned, "confirmed": args.confirm_root_delete}
        if not args.confirm_root_delete:
            lines.append(
                _(
                    "root delete: planned for {count} account(s), nothing deleted: re-run "
                    "with --confirm-root-delete to delete what is listed above."
                ).format(count=len(planned))
            )
        else:
            iam_for = lambda c: target.client_with("iam", c)  # noqa: E731
            done = {a.account_id: _delete(root_access, sts, iam_for, a) for a in audits if a.plan()}
            data["root_delete"]["done"] = done
            lines.append(_("root delete: done in {count} account(s)").format(count=len(done)))
    return lines, data


def _delete(module: Any, sts: Any, iam_for: Any, audit: Any) -> list[str]:
    """One member's root deletion; a refusal is that member's line, not the run's end."""
    try:
        done: list[str] = module.delete_root(sts, iam_for, audit)
    except RunbookError as err:
        return [_("failed: {error}").format(error=err)]
    return done


def _sandbox_url(args: argparse.Namespace, params: dict[str, Any]) -> tuple[str, Any]:
    """The sandbox a fan-out uses: the running one, or a new Organization sandbox."""
    from runbook_lib.core.sandbox import Sandbox, running_sandbox_url

    if str(params.get("target", "sandbox")) != "sandbox":
        return "", None
    url = running_sandbox_url()
    if url:
        if args.member_accounts:
            Sandbox(url=url).ensure_members(args.member_accounts)
        return url, None
    box = Sandbox(member_accounts=args.member_accounts).start()
    return box.url, box


def run_org(args: argparse.Namespace, params: dict[str, Any]) -> int:
    """The fan-out command; returns the worst account's exit code.

    Raises:
        BadInput: a bad option, account list or parameter (before any account runs).
        TargetRefused: the management credentials were refused.
    """
    from runbook_lib.core.sandbox import apply_sandbox_environ
    from runbook_lib.run import fanout, org, org_summary, precheck
    from runbook_lib.run.runner import prepare_parameters

    _check(args)
    given = org.parse_accounts(args.accounts) if args.accounts else []
    prepare_parameters(args.name, params, plan=args.plan)
    precheck.check_parameters({k: v for k, v in params.items() if k != "expected_account_id"})
    url, box = _sandbox_url(args, params)
    try:
        if box is not None:  # kernels and this process reach the new sandbox the same way
            apply_sandbox_environ(url)
        target = fanout.resolve_target(
            params, sandbox_url=url, role_name=args.role_name, external_id=args.external_id
        )
        accounts = given or org.org_accounts(target.client("organizations"))
        print(
            _("{count} accounts, {at_once} at a time").format(
                count=len(accounts), at_once=args.max_concurrency
            ),
            flush=True,
        )
        done: list[int] = []

        def progress(res: fanout.AccountResult) -> None:
            done.append(1)
            print(org_summary.progress_line(res, len(done), len(accounts)), flush=True)

        result = fanout.run_fanout(
            args.name,
            accounts,
            params,
            target=target,
            output_dir=args.output_dir,
            max_concurrency=args.max_concurrency,
            max_errors=args.max_errors,
            plan=args.plan,
            on_done=progress,
        )
        notes: list[str] = []
        root: dict[str, Any] = {}
        if "check_root" in result.notebook:
            notes, root = _root_posture(args, target, accounts)
        code = org_summary.write_summary(result, notes, root)
    finally:
        if box is not None:
            box.stop()
    for line in [*org_summary.table(result), *notes]:
        print(line)
    print(
        _("Summary: {folder}/summary.html (and .json, .csv); exit {code}").format(
            folder=result.output_dir, code=code
        )
    )
    return code
