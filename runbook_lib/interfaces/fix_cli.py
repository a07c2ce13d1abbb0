"""``runbook fix``: its options and the command (the loop itself is ``runbook_lib.fix``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import _
from runbook_lib.interfaces.cli_options import lang_option, target_options


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
    cmd.add_argument("--org", action="store_true", help="not supported yet (one account only)")
    cmd.add_argument("--accounts", metavar="IDS", help="not supported yet (one account only)")


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

    if args.org or args.accounts:
        raise BadInput(
            _(
                "runbook fix --org/--accounts is not supported yet: run 'runbook fix' once per "
                "account (--profile or --endpoint-url)."
            )
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
    precheck.check_target(params, sandbox_url=running_sandbox_url())
    mode = "plan" if args.plan else "yes" if args.yes else "run"
    request = FixRequest(
        params,
        output_dir=args.output_dir,
        mode=mode,
        target_args=_target_args(args),
        given=given,
    )
    outcome = run_fix(request)
    print(_("exit {code}: {meaning}").format(code=outcome.exit_code, meaning=_meaning(outcome)))
    return outcome.exit_code


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
