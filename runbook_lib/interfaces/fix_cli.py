"""``runbook fix``: its options and the command (the loop itself is ``runbook_lib.fix``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import _
from runbook_lib.interfaces.cli_options import lang_option, target_options
from runbook_lib.interfaces.fanout_cli import account_options, member_option


def fix_options(cmd: argparse.ArgumentParser) -> None:
    """``--plan``/``--yes``, the target options, ``--cis-version``, ``--output-dir``."""
    mode = cmd.add_mutually_exclusive_group()
    mode.add_argument(
        "--plan", action="store_true", help="audit and print the plan (fix.json); no writes"
    )
    mode.add_argument(
        "--yes",
        action="store_true",
        help="run the plan's destructive steps too (cleanup, rotation); without it a plan "
        "that has one is refused",
    )
    target_options(cmd)
    cmd.add_argument(
        "--cis-version",
        metavar="VERSION",
        help="the CIS AWS Foundations version of the audit's IDs: 4.0.1, 5.0.0, 6.0.0, 7.0.0 "
        "(default)",
    )
    cmd.add_argument("--output-dir", type=Path, default=Path("runs"), help="default: runs/")
    lang_option(cmd, "language of the messages (the notebooks' parameter)")
    grp = cmd.add_argument_group("many accounts (a plan per account)")
    account_options(grp)
    grp.add_argument("--max-concurrency", type=int, default=2, metavar="K", help="default: 2")
    grp.add_argument(
        "--max-errors", type=int, metavar="E", help="start no new account after E failures"
    )
    member_option(cmd)


def _target_args(args: argparse.Namespace) -> list[str]:
    words: list[str] = []
    for file in args.parameters_file:
        words += ["-f", str(file)]
    if args.profile:
        words += ["--profile", args.profile]
    if args.endpoint_url:
        words += ["--endpoint-url", args.endpoint_url]
    return words


def fix_command(args: argparse.Namespace) -> int:
    """Run ``runbook fix``; returns the exit code.

    Raises:
        BadInput: refused before any write (options, parameters, target, a destructive plan
            without ``--yes``).
        RunbookError: the audit failed, or a step did (``StepFailed``).
    """
    from runbook_lib.core.sandbox import running_sandbox_url
    from runbook_lib.fix.plan import notebook_of
    from runbook_lib.fix.run import AUDIT, FixRequest, run_fix
    from runbook_lib.run import precheck
    from runbook_lib.run.notebooks import all_notebooks, run_parameters
    from runbook_lib.run.runner import prepare_parameters

    if args.org and args.accounts:
        raise BadInput(_("--org and --accounts exclude each other: give one."))
    if args.member_accounts < 0:
        raise BadInput(
            _("--member-accounts {value} must be 0 or more.").format(value=args.member_accounts)
        )
    if args.endpoint_url and args.profile:
        raise BadInput(_("--endpoint-url and --profile exclude each other: give one."))
    if args.cis_version:
        args.parameter.append(["cis_version", args.cis_version])
    books = all_notebooks()  # a -p for any runbook the plan may run
    params: dict[str, Any] = run_parameters(
        args.parameters_file,
        args.parameter,
        books,
        endpoint_url=args.endpoint_url or "",
        profile=args.profile or "",
    )
    if "plan" in params:  # the loop decides each run's mode
        raise BadInput(_("runbook fix takes --plan, not a plan parameter: remove -p plan."))
    given = {name: params[name] for name, _value in args.parameter}
    if args.lang:
        from runbook_lib.core.i18n import set_language

        params["language"] = args.lang
        set_language(args.lang)
    prepare_parameters(str(notebook_of(AUDIT)), params)  # the audit's declared types
    precheck.check_parameters(params)
    mode = "plan" if args.plan else "yes" if args.yes else "run"
    request = FixRequest(
        params,
        output_dir=args.output_dir,
        mode=mode,
        target_args=_target_args(args),
        given=given,
    )
    if args.org or args.accounts:
        return _fix_org(args, request)
    if args.member_accounts:  # one account, on a sandbox that is an Organization
        from runbook_lib.interfaces.fanout_cli import use_organization_sandbox

        use_organization_sandbox(args, params)
    precheck.check_target(params, sandbox_url=running_sandbox_url())
    outcome = run_fix(request)
    print(_("exit {code}: {meaning}").format(code=outcome.exit_code, meaning=_meaning(outcome)))
    return outcome.exit_code


def _fix_org(args: argparse.Namespace, request: Any) -> int:
    """``runbook fix --org|--accounts``: every account's loop (``fix.org``); the worst exit code.

    Raises:
        BadInput: refused before any write in any account.
        TargetRefused: the management credentials were refused.
    """
    from runbook_lib.core.sandbox import apply_sandbox_environ
    from runbook_lib.interfaces.fanout_cli import _sandbox_url, external_id
    from runbook_lib.interfaces.fix_org import OrgFixRequest, check_org_request, run_org_fix
    from runbook_lib.org.accounts import parse_accounts

    ids = tuple(parse_accounts(args.accounts)) if args.accounts else ()
    org = OrgFixRequest(
        request,
        accounts=ids,
        role_name=args.role_name,
        external_id=external_id(args),
        max_concurrency=args.max_concurrency,
        max_errors=args.max_errors,
    )
    check_org_request(org)  # before a sandbox starts or any AWS call
    url, box = _sandbox_url(args, dict(request.params))
    try:
        if box is not None:  # kernels and this process reach the new sandbox the same way
            apply_sandbox_environ(url)
        org.sandbox_url = url
        outcome = run_org_fix(org)
    finally:
        if box is not None:
            box.stop()
    print(_("exit {code}: {meaning}").format(code=outcome.exit_code, meaning=_org_meaning(outcome)))
    return outcome.exit_code


def _org_meaning(outcome: Any) -> str:
    texts = {
        0: _("every account: nothing left to fix"),
        1: _("an account's audit or step failed: see its row"),
        3: _("the worst account has manual steps left"),
        4: _("the worst account has FAILs a runbook closes left"),
    }
    return texts.get(outcome.exit_code, "")


def _meaning(outcome: Any) -> str:
    code = outcome.exit_code
    if outcome.data.get("mode") == "plan":
        texts = {
            0: _("nothing to fix"),
            3: _("only manual steps to take"),
            4: _("FAILs a runbook closes: run 'runbook fix' (or --yes) to close them"),
        }
    else:
        texts = {
            0: _("every FAIL closed"),
            3: _("manual steps left"),
            4: _("FAILs left: see the compare above"),
        }
    return texts.get(code, "")
