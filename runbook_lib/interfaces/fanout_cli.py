"""``runbook run NAME --org`` / ``--accounts``: the fan-out options and their command.

Everything that can be refused is refused before any account runs (exit 2, one line): the
account list, the role name, the option combination, the parameters. Then a progress line per
finished account, the summary table, and the worst account's exit code
(``org.summary.EXIT_SEVERITY``). The request, plan, run and summary are ``org``'s, the same
the Airflow adapter uses.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbook_lib.core import environ
from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import _
from runbook_lib.core.wording import safe_text

if TYPE_CHECKING:
    from runbook_lib.org.request import FanoutRequest

#: the external ID from the environment (a command line is readable in /proc by every user)
EXTERNAL_ID_VAR = environ.EXTERNAL_ID


def account_options(grp: argparse._ArgumentGroup) -> None:
    """Which accounts, and how to get into each: ``run``'s fan-out and ``fix`` share them."""
    grp.add_argument("--org", action="store_true", help="every ACTIVE account of the Organization")
    grp.add_argument("--accounts", metavar="ID,ID|FILE", help="these accounts (12-digit IDs)")
    grp.add_argument(
        "--role-name",
        default="OrganizationAccountAccessRole",
        help="the role assumed in each account (default: OrganizationAccountAccessRole)",
    )
    grp.add_argument(
        "--external-id-file",
        type=Path,
        metavar="FILE",
        help=f"the external ID the role wants: first line of FILE (or ${EXTERNAL_ID_VAR})",
    )


def fanout_options(cmd: argparse.ArgumentParser) -> None:
    """The options of ``runbook run`` that run one notebook over many accounts."""
    grp = cmd.add_argument_group("many accounts (fan-out)")
    account_options(grp)
    # refused with the way to give it instead: a command line is readable by every local user
    grp.add_argument("--external-id", default="", help=argparse.SUPPRESS)
    grp.add_argument(
        "--max-concurrency",
        type=int,
        default=None,
        metavar="K",
        help="accounts at a time (default: the machine's cores + 1, at most 4)",
    )
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
    grp.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="finish an interrupted or killed fan-out: run only the accounts of RUN_DIR without "
        "a finished record, then the summary over all of them",
    )
    grp.add_argument(
        "--html",
        choices=HTML_CHOICES,
        default="none",
        help="the HTML export of each run (each account's in a fan-out): none (default: the "
        "executed notebook and run.json are the record; jupyter nbconvert --to html on demand) "
        "or each (made in every run)",
    )
    member_option(cmd)


#: ``--html`` (``org.fanout.HTML_CHOICES``; here without importing the fan-out)
HTML_CHOICES = ("none", "each")


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
    return bool(args.org or args.accounts or getattr(args, "resume", None))


def default_concurrency() -> int:
    """Accounts at a time when ``--max-concurrency`` is not given: the cores + 1 (a run waits
    on AWS, the sandbox and its kernel in turn), at most 4 (memory: a kernel is ≈ 100 MB;
    AWS API rate limits on a real Organization)."""
    return max(2, min(4, (os.cpu_count() or 1) + 1))


def _check(args: argparse.Namespace) -> None:
    """The option combinations only the command line has (the rest: ``check_request``)."""
    if args.org and args.accounts:
        raise BadInput("--org and --accounts exclude each other: give one.")
    if args.all or not args.name:
        raise BadInput("--org/--accounts run one notebook: give NAME, not --all.")
    if args.resume and not (args.org or args.accounts):
        raise BadInput(
            _(
                "--resume finishes a fan-out: repeat that run's command (with --org or "
                "--accounts) and add --resume RUN_DIR."
            )
        )
    if args.member_accounts < 0:
        raise BadInput(
            _("--member-accounts {value} must be 0 or more.").format(value=args.member_accounts)
        )
    if args.external_id:
        raise BadInput(
            _(
                "--external-id is refused: a command line is visible to every local user "
                "(ps, /proc). Put it in a file for --external-id-file FILE, or set {var}."
            ).format(var=EXTERNAL_ID_VAR)
        )


def external_id(args: argparse.Namespace) -> str:
    """The external ID: ``--external-id-file`` (first line), else ``$RUNBOOK_EXTERNAL_ID``.

    Raises:
        BadInput: the file cannot be read or is empty (named, never its content).
    """
    from runbook_lib.org.accounts import read_external_id

    if args.external_id_file:
        return read_external_id(args.external_id_file, "--external-id-file")
    return os.environ.get(EXTERNAL_ID_VAR, "").strip()


def _request(args: argparse.Namespace, params: dict[str, Any]) -> FanoutRequest:
    """The fan-out request of ``runbook run NAME --org|--accounts ...``."""
    from runbook_lib.org.accounts import parse_accounts
    from runbook_lib.org.request import FanoutRequest

    return FanoutRequest(
        notebook=args.name,
        parameters=params,
        accounts=tuple(parse_accounts(args.accounts)) if args.accounts else (),
        role_name=args.role_name,
        external_id=external_id(args),
        max_concurrency=(
            default_concurrency() if args.max_concurrency is None else args.max_concurrency
        ),
        max_errors=args.max_errors,
        output_dir=args.output_dir,
        plan=args.plan,
        root_audit=args.root_audit,
        root_delete=args.root_delete,
        confirm_root_delete=args.confirm_root_delete,
    )


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
    # served by a child process: moto's work then runs beside the runner's, not under its GIL
    box = Sandbox(member_accounts=args.member_accounts, child=True).start()
    return box.url, box


def use_organization_sandbox(args: argparse.Namespace, params: dict[str, Any]) -> None:
    """``runbook run NAME --member-accounts N`` without ``--org``: one run (not a fan-out) on a
    sandbox that is an Organization. The running sandbox gets its members; otherwise a new one
    is started for this process (stopped when it exits) and this process points at it.

    Raises:
        BadInput: N is negative.
    """
    import atexit

    from runbook_lib.core.sandbox import apply_sandbox_environ

    if args.member_accounts < 0:
        raise BadInput(
            _("--member-accounts {value} must be 0 or more.").format(value=args.member_accounts)
        )
    url, box = _sandbox_url(args, params)
    if box is not None:
        atexit.register(box.stop)
        apply_sandbox_environ(url)


#: the terminal table lists each account up to this many (the summary files always list all)
TABLE_ROWS = 200


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler or ``kill`` stopping the run) ends it as Ctrl-C does: no new
    account, the running ones finish, a summary of what finished."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        before = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave SIGTERM as it is
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def run_org(args: argparse.Namespace, params: dict[str, Any]) -> int:
    """The fan-out command; returns the worst account's exit code.

    Raises:
        BadInput: a bad option, account list or parameter (before any account runs).
        TargetRefused: the management credentials were refused.
    """
    from runbook_lib.core.sandbox import apply_sandbox_environ
    from runbook_lib.org.fanout import AccountResult, plan_fanout, resume_manifest, run_plan
    from runbook_lib.org.request import check_request
    from runbook_lib.org.summary import progress_line, summarize, table
    from runbook_lib.run.notebooks import find_notebook

    _check(args)
    request = _request(args, params)
    check_request(request)
    if args.resume:  # refused before the sandbox starts or any account runs
        stem = find_notebook(args.name).stem
        manifest = resume_manifest(args.resume, stem, bool(args.plan))
    url, box = _sandbox_url(args, params)
    try:
        if box is not None:  # kernels and this process reach the new sandbox the same way
            apply_sandbox_environ(url)
        plan = plan_fanout(request, sandbox_url=url)
        total = len(manifest["accounts"]) if args.resume else len(plan.account_ids)
        print(
            _("{count} accounts, {at_once} at a time").format(
                count=total, at_once=request.max_concurrency
            ),
            flush=True,
        )
        done: list[int] = []

        def progress(res: AccountResult) -> None:
            done.append(1)
            print(progress_line(res, len(done), total), flush=True)

        with _sigterm_as_interrupt():
            result = run_plan(plan, on_done=progress, resume=args.resume, html=args.html)
        code, notes = summarize(request, result, lambda: plan.target)
    finally:
        if box is not None:
            box.stop()
    rows = table(result) if len(result.results) <= TABLE_ROWS else []
    if not rows:
        rows = [
            _("{count} accounts: the table is in summary.html").format(count=len(result.results))
        ]
    for line in [*rows, *notes]:
        print(safe_text(line))
    if result.interrupted:
        finished = sum(r.exit_code is not None for r in result.results)
        print(
            _(
                "Interrupted: {finished} of {total} accounts finished; run the same command "
                "with --resume {folder} to run the others."
            ).format(finished=finished, total=len(result.results), folder=result.output_dir)
        )
    print(
        _("Summary: {folder}/summary.html (and .json, .csv); exit {code}").format(
            folder=result.output_dir, code=code
        )
    )
    return code
