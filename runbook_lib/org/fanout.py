"""Fan-out: one notebook over many accounts, a run folder per account and one summary.

``plan_fanout`` turns a checked ``FanoutRequest`` into the management session and the accounts;
``run_plan`` runs them all (the CLI); a scheduler runs ``run_account`` once per account task.

``run_account`` is one account's run as a Python call (a scheduler's task or a kernel pool
calls it the same way): it assumes the role in that account (``accounts.account_access``), then
runs the notebook with that account's credentials in the kernel's environment only and
``expected_account_id`` set to it, so the kernel's preflight stops if the credentials reach any
other account. ``run_fanout`` runs the accounts ``max_concurrency`` at a time and stops
starting new ones once ``max_errors`` have failed (running ones finish; the rest are "not
started"), as SSM Automation does.

Secrets of a fan-out run go to per-account destinations (``target.account_run``): files in
``<secrets_dir>/<account_id>/``, Secrets Manager names with the account ID in them, in that
account's own Secrets Manager: two accounts never share a file or a secret.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from runbook_lib.core.errors import EXIT_BAD_INPUT, EXIT_FAILED, BadInput, RunbookError
from runbook_lib.core.i18n import _
from runbook_lib.org import accounts
from runbook_lib.org.request import FanoutRequest
from runbook_lib.org.target import FanoutTarget, account_run, resolve_target
from runbook_lib.run.engine import warm_kernels
from runbook_lib.run.export import html_per_run
from runbook_lib.run.notebooks import declared, find_notebook
from runbook_lib.run.pool import KernelPool
from runbook_lib.run.runner import prepare_parameters, run_notebook

#: exit codes that count as an account's failure for ``max_errors``
FAILED_CODES = (EXIT_FAILED, EXIT_BAD_INPUT)
NOT_STARTED = "not started"
#: the fan-out folder's manifest: the notebook and the accounts, written before any account runs
MANIFEST = "fanout.json"
#: an account's "finished" record (``<account>/account.json``): written atomically, last, with
#: ``"finished": true``; an account without it (killed mid-run) runs again on ``--resume``
FINISHED = "account.json"
#: how each account's HTML export is made: ``each`` in its own run (leak-scanned with it),
#: ``none``: not in the fan-out (the summary links each executed notebook; export on demand)
HTML_CHOICES = ("none", "each")


@dataclass
class AccountResult:
    """One account's outcome; ``exit_code`` is ``None`` for an account never started."""

    account_id: str
    status: str = NOT_STARTED
    exit_code: int | None = None
    message: str = ""
    run_dir: Path | None = None
    record: dict[str, Any] = field(default_factory=dict, repr=False)
    seconds: float = 0.0


def run_account(
    name: str,
    account_id: str,
    params: Mapping[str, Any],
    *,
    target: FanoutTarget,
    output_dir: Path,
    plan: bool = False,
    extra_env: Mapping[str, str] | None = None,
) -> AccountResult:
    """Run notebook ``name`` in one account: assume the role, run, read the record back.

    Args:
        name: the notebook (stem, number or path).
        account_id: the account (12 digits).
        params: the run's parameters (without ``expected_account_id``).
        target: from ``resolve_target``.
        output_dir: the fan-out run's folder; this account's run goes in ``<account_id>/``.
        plan: read-only run.
        extra_env: more kernel variables (the tests' fault injection).

    Returns:
        The account's result; every failure (role not assumable, a failing cell) is in it.
    """
    started = time.monotonic()
    try:
        access = accounts.account_access(
            target.client("sts"),
            account_id,
            target.caller_account,
            target.role_name,
            target.external_id,
        )
        p, env = account_run(target, access, params, declared(find_notebook(name)).secrets)
        env.update(extra_env or {})
        result = run_notebook(
            name, p, output_dir=output_dir / account_id, plan=plan, kernel_env=env
        )
    except RunbookError as err:
        return AccountResult(
            account_id, "failed", err.exit_code, str(err), seconds=time.monotonic() - started
        )
    return AccountResult(
        account_id,
        result.status,
        result.exit_code,
        result.message,
        result.run_dir,
        result.record,
        time.monotonic() - started,
    )


def _on_kernels(kernels: KernelPool | None, html: bool, *args: Any, **kwargs: Any) -> AccountResult:
    """``run_account`` in a worker thread, on the fan-out's warm kernels, with or without its
    HTML export (per thread: the engine and the runner read both from context variables)."""
    with warm_kernels(kernels), html_per_run(html):
        return run_account(*args, **kwargs)


@dataclass
class FanoutResult:
    """Every account's result, in the order the accounts were given."""

    notebook: str
    output_dir: Path
    results: list[AccountResult]
    stopped_early: bool = False
    interrupted: bool = False


def fanout_dir(output_dir: Path, stem: str) -> Path:
    """A new folder for one fan-out run (``<UTC time>-<notebook>-org``)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    folder = Path(os.path.abspath(output_dir)) / f"{stamp}-{stem}-org"
    n = 1
    while folder.exists():
        n += 1
        folder = folder.with_name(f"{stamp}-{stem}-org-{n}")
    return private_dir(folder, exist_ok=False)


def private_dir(folder: Path, *, exist_ok: bool = True) -> Path:
    """``folder`` created (with its parents) and made 0700 whatever the umask."""
    folder.mkdir(parents=True, exist_ok=exist_ok, mode=0o700)
    os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask; this is not
    return folder


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` to ``path`` whole or not at all (0600: a temporary file, flushed to disk,
    then renamed over ``path``): a kill at any moment leaves the old file or the new one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _mark_finished(folder: Path, res: AccountResult) -> None:
    """Record that ``res``'s account finished (its run folder and record are complete)."""
    account = private_dir(folder / res.account_id)
    run_dir = str(res.run_dir.relative_to(folder)) if res.run_dir else ""
    data = {
        "account_id": res.account_id,
        "status": res.status,
        "exit_code": res.exit_code,
        "message": res.message,
        "run_dir": run_dir,
        "seconds": round(res.seconds, 2),
        "finished": True,  # last: a reader that finds it knows the rest was written
    }
    write_json_atomic(account / FINISHED, data)


def finished_result(folder: Path, account_id: str) -> AccountResult | None:
    """The result of an account that finished in fan-out folder ``folder`` (``None``: it did
    not: never started, killed mid-run, or interrupted)."""
    try:
        data = json.loads((folder / account_id / FINISHED).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("finished") is not True:
        return None
    run_dir = folder / str(data.get("run_dir")) if data.get("run_dir") else None
    record: dict[str, Any] = {}
    if run_dir is not None:
        with contextlib.suppress(OSError, ValueError):
            record = json.loads((run_dir / "run.json").read_text("utf-8"))
    code = data.get("exit_code")
    return AccountResult(
        account_id,
        str(data.get("status", "")),
        code if isinstance(code, int) else None,
        str(data.get("message", "")),
        run_dir,
        record,
        float(data.get("seconds") or 0.0),
    )


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of fan-out folder ``folder`` (``--resume``).

    Raises:
        BadInput: the folder is not a fan-out folder (named, with the fix).
    """
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text("utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("accounts"), list):
            raise ValueError(MANIFEST)
    except (OSError, ValueError):
        raise BadInput(
            _(
                "--resume {folder} is not a fan-out run folder (no readable {manifest}): give "
                "the folder named on the Summary line of a --org/--accounts run."
            ).format(folder=folder, manifest=MANIFEST)
        ) from None
    return data


def resume_manifest(folder: Path, stem: str, plan: bool) -> dict[str, Any]:
    """The manifest of ``folder`` when it is a fan-out of notebook ``stem`` (and ``plan``).

    Raises:
        BadInput: not a fan-out folder, or one of another notebook (or plan mode).
    """
    manifest = read_manifest(folder)
    if manifest.get("notebook") != stem or bool(manifest.get("plan")) != plan:
        other = str(manifest.get("notebook")) + (" --plan" if manifest.get("plan") else "")
        raise BadInput(
            _(
                "--resume {folder} is a run of {other}, not of {notebook}: give the same NAME "
                "(and --plan or not) as that run."
            ).format(folder=folder, other=other, notebook=stem + (" --plan" if plan else ""))
        )
    return manifest


def _interrupted(res: AccountResult) -> bool:
    """Whether an account's run was cut by an interrupt (not finished: ``--resume`` runs it)."""
    return res.message.startswith(("KeyboardInterrupt", "DeadKernelError"))


def run_fanout(
    name: str,
    account_ids: Sequence[str],
    params: Mapping[str, Any],
    *,
    target: FanoutTarget,
    output_dir: Path,
    max_concurrency: int = 2,
    max_errors: int | None = None,
    plan: bool = False,
    on_done: Callable[[AccountResult], None] | None = None,
    extra_env: Callable[[str], Mapping[str, str]] | None = None,
    warm: bool = True,
    resume: Path | None = None,
    html: str = "each",
) -> FanoutResult:
    """Run ``name`` in every account, ``max_concurrency`` at a time.

    Args:
        max_errors: once this many accounts failed (exit 1 or 2), no new account starts.
        on_done: called (in this thread) with each account's result as it finishes.
        extra_env: per-account kernel variables (tests).
        warm: run on ``max_concurrency`` warm kernels (``run.pool``), reset between accounts
            (no account's names, credentials or secrets reach the next one; a kernel whose run
            failed, or that still holds a secret, is replaced); ``False``: a kernel per account.
        resume: a fan-out folder of an earlier run of the same notebook (killed or interrupted):
            its accounts (from its manifest) run again except those that finished; the summary
            covers all of them, each once.
        html: ``each``: every account's run makes its HTML export; ``none``: none is made
            (the executed notebook and ``run.json`` are the record; export on demand).

    Ctrl-C (``KeyboardInterrupt``) starts no new account; the running ones finish (their
    kernels are in a session of their own: the terminal's SIGINT does not reach them), the
    kernels are shut down and the result says ``interrupted``.

    Returns:
        The results, in the order of ``account_ids`` (``--resume``: of the manifest).

    Raises:
        BadInput: a bad parameter, or ``resume`` is not a folder of this notebook's fan-out.
    """
    path, _checked = prepare_parameters(name, params, plan=plan)  # BadInput before anything runs
    if resume is not None:
        manifest = resume_manifest(resume, path.stem, plan)
        folder = Path(os.path.abspath(resume))
        account_ids = [str(a) for a in manifest["accounts"]]
        done = {a: finished_result(folder, a) for a in account_ids}
        results = {a: done[a] or AccountResult(a) for a in account_ids}
        todo = [a for a in account_ids if done[a] is None]
    else:
        folder = fanout_dir(output_dir, path.stem)
        manifest = {"notebook": path.stem, "plan": plan, "accounts": list(account_ids)}
        write_json_atomic(folder / MANIFEST, manifest)
        results = {a: AccountResult(a) for a in account_ids}
        todo = list(account_ids)
    queue: Iterator[str] = iter(todo)
    running: dict[Future[AccountResult], str] = {}
    failures = 0
    interrupted = False
    cwd = os.getcwd()  # papermill's per-run chdir is process-wide: put it back afterwards
    size = max(1, min(max_concurrency, len(todo) or 1))
    warm_pool = KernelPool(size) if warm and todo else nullcontext()

    def collect(future: Future[AccountResult]) -> None:
        nonlocal failures
        res = future.result()
        results[running.pop(future)] = res  # this thread only: no lock
        failures += res.exit_code in FAILED_CODES
        if not _interrupted(res):
            _mark_finished(folder, res)
        if on_done:
            on_done(res)

    try:
        with warm_pool as kernels, ThreadPoolExecutor(max_workers=size) as pool:
            while True:
                try:
                    stop = interrupted or (max_errors is not None and failures >= max_errors)
                    while not stop and len(running) < size:
                        account = next(queue, None)
                        if account is None:
                            break
                        env = dict(extra_env(account)) if extra_env else {}
                        future = pool.submit(
                            _on_kernels,
                            kernels,
                            html == "each",
                            str(path),
                            account,
                            params,
                            target=target,
                            output_dir=folder,
                            plan=plan,
                            extra_env=env,
                        )
                        running[future] = account
                    if not running:
                        break
                    finished, _pending = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        collect(future)
                except KeyboardInterrupt:  # no new account; the running ones finish
                    interrupted = True
    finally:
        os.chdir(cwd)
    ordered = [results[a] for a in account_ids]
    stopped = any(r.status == NOT_STARTED for r in ordered)
    return FanoutResult(path.stem, folder, ordered, stopped, interrupted)


@dataclass(frozen=True)
class FanoutPlan:
    """A checked request, its management session and the accounts it runs in."""

    request: FanoutRequest
    target: FanoutTarget
    account_ids: list[str]


def plan_fanout(request: FanoutRequest, *, sandbox_url: str = "") -> FanoutPlan:
    """The management session and the accounts of a request (``check_request`` first).

    Args:
        sandbox_url: the running sandbox a ``sandbox`` target uses.

    Raises:
        BadInput: bad role name or external ID, ``expected_account_id`` given.
        TargetRefused: no or refused management credentials.
        AwsError: the Organization's accounts could not be listed.
    """
    target = resolve_target(
        request.parameters,
        sandbox_url=sandbox_url,
        role_name=request.role_name,
        external_id=request.external_id,
    )
    ids = list(request.accounts) or accounts.org_accounts(target.client("organizations"))
    if not ids:  # a scheduled job that reaches no account must not look green
        if sandbox_url:
            raise BadInput(
                _(
                    "The sandbox has no Organization, so --org reaches no account: add "
                    "--member-accounts N (e.g. 3) to make one."
                )
            )
        raise BadInput(
            _(
                "Organizations ListAccounts found no ACTIVE account: check that the credentials "
                "are the management account's (or the delegated administrator's), or give "
                "--accounts ID,ID."
            )
        )
    return FanoutPlan(request, target, ids)


def run_plan(
    plan: FanoutPlan,
    on_done: Callable[[AccountResult], None] | None = None,
    *,
    resume: Path | None = None,
    html: str = "each",
) -> FanoutResult:
    """Run the plan's notebook in all its accounts, as the request says (``run_fanout``)."""
    req = plan.request
    return run_fanout(
        req.notebook,
        plan.account_ids,
        req.parameters,
        target=plan.target,
        output_dir=req.output_dir,
        max_concurrency=req.max_concurrency,
        max_errors=req.max_errors,
        plan=req.plan,
        on_done=on_done,
        resume=resume,
        html=html,
    )
