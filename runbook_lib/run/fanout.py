"""Fan-out: one notebook over many accounts, a run folder per account and one summary.

``run_account`` is one account's run as a Python call (a scheduler's task or a kernel pool
calls it the same way): it assumes the role in that account (``org.account_access``), then
runs the notebook with that account's credentials in the kernel's environment only and
``expected_account_id`` set to it, so the kernel's preflight stops if the credentials reach any
other account. ``run_fanout`` runs the accounts ``max_concurrency`` at a time and stops
starting new ones once ``max_errors`` have failed (running ones finish; the rest are "not
started"), as SSM Automation does.

Secrets of a fan-out run go to per-account destinations: files in
``<secrets_dir>/<account_id>/``, a given ``secret_name`` gets ``/<account_id>`` appended (and
lives in that account's own Secrets Manager): two accounts never share a file or a secret.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from runbook_lib.core import aws, environ
from runbook_lib.core.errors import EXIT_BAD_INPUT, EXIT_FAILED, RunbookError
from runbook_lib.core.sandbox import member_environ, sandbox_session
from runbook_lib.core.secret_files import resolve_secrets_dir
from runbook_lib.core.target import TargetSpec, connect
from runbook_lib.run import org
from runbook_lib.run.kernels import sandbox_secrets_dir
from runbook_lib.run.runner import run_notebook

#: exit codes that count as an account's failure for ``max_errors``
FAILED_CODES = (EXIT_FAILED, EXIT_BAD_INPUT)
NOT_STARTED = "not started"
#: a kernel on a profile/endpoint target finds an account's credentials here, not in a profile
_PROFILE_VARS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")


@dataclass(frozen=True)
class FanoutTarget:
    """The management side of a fan-out: who calls, where, and how to reach each account."""

    kind: str
    params: Mapping[str, Any]
    caller_account: str
    sandbox_url: str = ""
    role_name: str = org.DEFAULT_ROLE
    external_id: str = field(default="", repr=False)
    start_dir: str = field(default_factory=os.getcwd)
    secrets_dir: str = ""

    def client(self, service: str) -> Any:
        """A client of the management session (the sandbox's, or the profile's)."""
        if self.kind == "sandbox":
            return sandbox_session().client(service, endpoint_url=self.sandbox_url)  # type: ignore[call-overload]
        return connect(_spec(self.params)).client(service)


def _spec(params: Mapping[str, Any]) -> TargetSpec:
    return TargetSpec(
        target=str(params.get("target", "sandbox")),
        profile=str(params.get("profile", "")),
        endpoint_url=str(params.get("endpoint_url", "")),
        region=str(params.get("region", "us-east-1")),
    )


def resolve_target(
    params: Mapping[str, Any],
    *,
    sandbox_url: str = "",
    role_name: str = org.DEFAULT_ROLE,
    external_id: str = "",
) -> FanoutTarget:
    """The management session of a fan-out run: its caller's account, asked from STS.

    Raises:
        BadInput: bad role name or external ID; ``expected_account_id`` given (each account's
            run sets its own).
        TargetRefused: no or refused credentials.
    """
    from runbook_lib.core.errors import BadInput

    org.check_role(role_name, external_id)
    if params.get("expected_account_id"):
        raise BadInput(
            "expected_account_id is set per account by --org/--accounts: drop it from the "
            "parameters."
        )
    kind = _spec(params).validate().target
    base = FanoutTarget(kind, dict(params), "", sandbox_url, role_name, external_id)
    ident = aws.caller_identity(
        base.client("sts"), _spec(params).describe(), base.params.get("profile", "")
    )
    folder = str(params.get("secrets_dir") or os.environ.get(environ.SECRETS_DIR, ""))
    if not folder:
        folder = str(sandbox_secrets_dir()) if kind == "sandbox" else ""
    secrets = str(resolve_secrets_dir(folder))
    return FanoutTarget(
        kind,
        dict(params),
        str(ident["Account"]),
        sandbox_url,
        role_name,
        external_id,
        secrets_dir=secrets,
    )


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


def account_run(
    target: FanoutTarget, access: org.Access, params: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str | None]]:
    """The parameters and kernel variables of one account's run (no AWS call)."""
    acct = access.account_id
    p = dict(params)
    p["expected_account_id"] = acct
    env: dict[str, str | None] = {
        environ.START_DIR: target.start_dir,
        environ.SECRETS_DIR: str(Path(target.secrets_dir) / acct),
    }
    if p.get("secrets_dir"):
        p["secrets_dir"] = env[environ.SECRETS_DIR]
    if p.get("secret_name"):
        p["secret_name"] = f"{p['secret_name']}/{acct}"
    if access.credentials and target.kind == "sandbox":
        env.update(member_environ(acct, access.credentials))
    elif access.credentials:  # the kernel's standard chain finds them; no profile may win
        p.pop("profile", None)
        p["target"] = "endpoint" if target.kind == "endpoint" else "profile"
        env.update({name: None for name in _PROFILE_VARS})
        env.update(
            AWS_ACCESS_KEY_ID=access.credentials["AccessKeyId"],
            AWS_SECRET_ACCESS_KEY=access.credentials["SecretAccessKey"],
            AWS_SESSION_TOKEN=access.credentials["SessionToken"],
        )
    return p, env


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
        access = org.account_access(
            target.client("sts"),
            account_id,
            target.caller_account,
            target.role_name,
            target.external_id,
        )
        p, env = account_run(target, access, params)
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


@dataclass
class FanoutResult:
    """Every account's result, in the order the accounts were given."""

    notebook: str
    output_dir: Path
    results: list[AccountResult]
    stopped_early: bool = False


def fanout_dir(output_dir: Path, stem: str) -> Path:
    """A new folder for one fan-out run (``<UTC time>-<notebook>-org``)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    folder = Path(os.path.abspath(output_dir)) / f"{stamp}-{stem}-org"
    n = 1
    while folder.exists():
        n += 1
        folder = folder.with_name(f"{stamp}-{stem}-org-{n}")
    folder.mkdir(parents=True)
    return folder


def run_fanout(
    name: str,
    accounts: Sequence[str],
    params: Mapping[str, Any],
    *,
    target: FanoutTarget,
    output_dir: Path,
    max_concurrency: int = 2,
    max_errors: int | None = None,
    plan: bool = False,
    on_done: Callable[[AccountResult], None] | None = None,
    extra_env: Callable[[str], Mapping[str, str]] | None = None,
) -> FanoutResult:
    """Run ``name`` in every account, ``max_concurrency`` at a time.

    Args:
        max_errors: once this many accounts failed (exit 1 or 2), no new account starts.
        on_done: called (in this thread) with each account's result as it finishes.
        extra_env: per-account kernel variables (tests).

    Returns:
        The results, in the order of ``accounts``.
    """
    from runbook_lib.run.runner import prepare_parameters

    path, _ = prepare_parameters(name, params, plan=plan)  # BadInput before anything runs
    folder = fanout_dir(output_dir, path.stem)
    results = {a: AccountResult(a) for a in accounts}
    queue: Iterator[str] = iter(accounts)
    running: dict[Future[AccountResult], str] = {}
    failures = 0
    cwd = os.getcwd()  # papermill's per-run chdir is process-wide: put it back afterwards
    lock = threading.Lock()
    try:
        with ThreadPoolExecutor(max_workers=max(1, max_concurrency)) as pool:
            while True:
                stop = max_errors is not None and failures >= max_errors
                while not stop and len(running) < max(1, max_concurrency):
                    account = next(queue, None)
                    if account is None:
                        break
                    env = dict(extra_env(account)) if extra_env else {}
                    future = pool.submit(
                        run_account,
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
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    res = future.result()
                    with lock:
                        results[running.pop(future)] = res
                    failures += res.exit_code in FAILED_CODES
                    if on_done:
                        on_done(res)
    finally:
        os.chdir(cwd)
    ordered = [results[a] for a in accounts]
    stopped = any(r.status == NOT_STARTED for r in ordered)
    return FanoutResult(path.stem, folder, ordered, stopped)
