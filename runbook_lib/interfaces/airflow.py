"""The Airflow adapter: a fan-out as JSON-safe scheduler steps that a DAG maps over accounts.

``dags/iam_runbooks.py`` calls these three steps (no Airflow import here, so they are tested
in-process like the rest of the runner). Each turns its settings into ``org``'s
``FanoutRequest`` and takes the CLI's path (``check_request`` → ``plan_fanout`` →
``run_account`` per task → ``summarize``):

- ``plan_run``: check the settings and parameters (``BadInput`` before any account runs),
  make the run's folder (``run_folder``: one per scheduler run, so retries land in it) and
  list the accounts (the Organization's ACTIVE accounts, as ``--org`` does, or the ones given);
- ``run_one``: one account's run (``fanout.run_account``); its result goes to
  ``<folder>/<account>/task.json`` and, without the message, to the scheduler (XCom): account,
  status, exit code, counts and run folder, nothing else;
- ``plan_chunks`` / ``run_chunk``: the same, a chunk of ``chunk_size`` accounts per task on one
  warm kernel pool (``max_concurrency`` kernels, reset between accounts), so 1000 accounts
  start ≈ 2 × 1000 / ``chunk_size`` kernels, not 1000; a retried chunk runs only its accounts
  without a result, or whose exit code is in ``fail_on``;
- ``summarize``: ``summary.json``/``.csv``/``.html`` of the whole run with the CLI's code
  (``org.summary``), read from those files, so an account whose task failed or never ran still
  has its row.

Headless runs save nothing a widget shows: a runbook whose secret would go to a widget is
refused. Secrets go to per-account destinations (``org.target.account_run``).

What a triggered run's parameters (``dag_run.conf``, stored in plain text and set by whoever
may trigger the DAG) may not set is the deployment's (``DEPLOYMENT_ONLY``): the external ID
(``external_id``, or ``external_id_file``: a file the worker reads) and ``accounts_dir``, the
one folder whose files ``accounts`` may name. ``accounts`` is IDs, or the bare name of a file
in ``accounts_dir``: never a path, and a bad entry is named by its line, never quoted.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook_lib.core.errors import EXIT_BAD_INPUT, EXIT_FAILED, BadInput, RunbookError
from runbook_lib.core.i18n import _
from runbook_lib.core.sandbox import running_sandbox_url
from runbook_lib.org import fanout, summary
from runbook_lib.org.accounts import (
    DEFAULT_ROLE,
    account_ids,
    read_accounts_file,
    read_external_id,
)
from runbook_lib.org.request import FanoutRequest, check_request
from runbook_lib.org.target import FanoutTarget
from runbook_lib.run.engine import warm_kernels
from runbook_lib.run.notebooks import find_notebook
from runbook_lib.run.pool import KernelPool

#: exit codes that fail a task by default (Airflow retries and alerts); 0, 3, 4 succeed
DEFAULT_FAIL_ON = (EXIT_FAILED, EXIT_BAD_INPUT)
RESULT_FILE = "task.json"
#: accounts per mapped task: one warm kernel pool runs them (≈ 0.5-1 s each on 2 cores), so a
#: task lasts about a minute and a retry repeats little; 1000 accounts are 20 tasks
DEFAULT_CHUNK = 50
#: kernels of a chunk's pool (accounts of one task at a time)
DEFAULT_CHUNK_CONCURRENCY = 2
#: what a task returns to the scheduler (XCom): never a message, a parameter or a credential
XCOM_KEYS = (
    "account_id",
    "status",
    "exit_code",
    "writes",
    "reads",
    "findings",
    "pending",
    "run_dir",
    "seconds",
)


@dataclass(frozen=True)
class TaskSettings:
    """One scheduled fan-out: where, how, and which exit codes fail a task."""

    notebook: str = "00"
    target: str = "sandbox"
    profile: str = ""
    endpoint_url: str = ""
    region: str = "us-east-1"
    role_name: str = DEFAULT_ROLE
    external_id: str = field(default="", repr=False)
    external_id_file: str = ""
    accounts_dir: str = ""
    output_dir: str = "runs"
    secrets_dir: str = ""
    accounts: tuple[str, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)
    plan: bool = False
    fail_on: tuple[int, ...] = DEFAULT_FAIL_ON
    chunk_size: int = DEFAULT_CHUNK
    max_concurrency: int = DEFAULT_CHUNK_CONCURRENCY

    def run_params(self) -> dict[str, Any]:
        """The notebook parameters of every account's run (as ``-f``/``-p`` give them)."""
        params: dict[str, Any] = dict(self.parameters)
        params.update(target=self.target, region=self.region)
        for name in ("profile", "endpoint_url", "secrets_dir"):
            if value := getattr(self, name):
                params[name] = value
        return params

    def request(self, accounts: Sequence[str] = ()) -> FanoutRequest:
        """The fan-out request of these settings (``accounts``: these, not the settings').

        Raises:
            BadInput: ``external_id_file`` cannot be read.
        """
        external_id = self.external_id
        if self.external_id_file:
            external_id = read_external_id(Path(self.external_id_file), "external_id_file")
        return FanoutRequest(
            notebook=self.notebook,
            parameters=self.run_params(),
            accounts=tuple(accounts or self.accounts),
            role_name=self.role_name,
            external_id=external_id,
            output_dir=Path(self.output_dir),
            plan=self.plan,
            headless=True,
        )


SETTINGS = tuple(TaskSettings.__dataclass_fields__)
#: settings only the deployment gives (the Airflow Variable), never a triggered run's conf
DEPLOYMENT_ONLY = ("external_id", "external_id_file", "accounts_dir")
#: a file ``accounts`` may name in ``accounts_dir``: a bare name, no path, no hidden file
_ACCOUNTS_FILE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,254}")


def _ints(name: str, value: Any) -> tuple[int, ...]:
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,\s]+", str(value))
    try:
        return tuple(int(v) for v in items if str(v).strip())
    except ValueError:
        raise BadInput(f"{name} '{value}' is not a list of exit codes: give e.g. 1,2.") from None


def _mapping(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    try:
        data = json.loads(str(value) or "{}")
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise BadInput(f'{name} is not a JSON object: give e.g. {{"user_name": "Ops"}}.')
    return data


def accounts_from(value: Any, accounts_dir: str) -> tuple[str, ...]:
    """The ``accounts`` setting: 12-digit IDs (a list, or ``ID,ID``), or the bare name of a file
    in ``accounts_dir`` (one ID per line). Nothing else is opened; nothing read is echoed.

    Raises:
        BadInput: an ID that is not 12 digits, a path, a file outside ``accounts_dir`` (or no
            ``accounts_dir``), an unreadable file or one with a bad line (named by number).
    """
    text = ",".join(value) if isinstance(value, (list, tuple)) else str(value)
    if not text.strip():
        return ()
    if re.fullmatch(r"[\d,\s]+", text):
        return tuple(account_ids(text, "accounts"))
    name = text.strip()
    if not _ACCOUNTS_FILE.fullmatch(name):
        raise BadInput(
            _(
                "accounts is neither 12-digit IDs nor the name of a file in accounts_dir: give "
                "ID,ID or a bare file name (no folder)."
            )
        )
    if not accounts_dir:
        raise BadInput(
            _(
                "accounts names a file, but no accounts_dir is set: set accounts_dir in the "
                "Airflow Variable iam_runbooks, or give the IDs."
            )
        )
    folder = Path(accounts_dir).resolve()
    path = (folder / name).resolve()
    if path.parent != folder or not path.is_file():
        raise BadInput(
            _(
                "accounts file {name} is not a file in accounts_dir {folder}: put it there, or "
                "give the IDs."
            ).format(name=name, folder=folder)
        )
    return tuple(read_accounts_file(path, f"accounts file {name}"))


def settings_from(
    values: Mapping[str, Any], *, conf: Mapping[str, Any] | None = None
) -> TaskSettings:
    """Settings from the Airflow Variable (``values``) and a triggered run's parameters
    (``conf``, which win), strings or typed; ``None``/"": default.

    Raises:
        BadInput: an unknown setting, a value of the wrong kind, or a ``DEPLOYMENT_ONLY``
            setting in ``conf``: named, with the fix (never the value).
    """
    run = {k: v for k, v in (conf or {}).items() if v is not None and v != ""}
    for name in DEPLOYMENT_ONLY:
        if name in run:
            raise BadInput(
                _(
                    "{name} cannot be a DAG run parameter (dag_run.conf is stored in plain text "
                    "and set by whoever triggers the DAG): set it in the Airflow Variable "
                    "iam_runbooks."
                ).format(name=name)
            )
    merged = {**values, **run}
    unknown = sorted(set(merged) - set(SETTINGS))
    if unknown:
        raise BadInput(f"unknown setting {unknown[0]}: use one of {', '.join(SETTINGS)}.")
    given = {k: v for k, v in merged.items() if v is not None and v != ""}
    kw: dict[str, Any] = {k: str(v) for k, v in given.items()}
    if "accounts" in given:
        kw["accounts"] = accounts_from(given["accounts"], str(given.get("accounts_dir", "")))
    if "parameters" in given:
        kw["parameters"] = _mapping("parameters", given["parameters"])
    if "fail_on" in given:
        kw["fail_on"] = _ints("fail_on", given["fail_on"])
    if "plan" in given:
        kw["plan"] = str(given["plan"]).lower() in ("1", "true", "yes")
    for name in ("chunk_size", "max_concurrency"):
        if name in given:
            kw[name] = _positive(name, given[name])
    return TaskSettings(**kw)


def _positive(name: str, value: Any) -> int:
    try:
        number = int(str(value))
    except ValueError:
        number = 0
    if number < 1:
        raise BadInput(
            _("{name} '{value}' is not a whole number of 1 or more: give e.g. 50.").format(
                name=name, value=value
            )
        )
    return number


def _sandbox_url(settings: TaskSettings) -> str:
    """The running sandbox a ``sandbox`` target uses (a worker never starts one).

    Raises:
        BadInput: target=sandbox and no sandbox is running.
    """
    url = running_sandbox_url() if settings.target == "sandbox" else ""
    if settings.target == "sandbox" and not url:
        raise BadInput(
            "target=sandbox needs a running sandbox: start `runbook sandbox --member-accounts N`"
            " and give the workers its RUNBOOK_SANDBOX_URL, or set target to profile/endpoint."
        )
    return url


def _plan(settings: TaskSettings, accounts: Sequence[str] = ()) -> fanout.FanoutPlan:
    """The management session and the accounts (``accounts`` given: no ListAccounts call)."""
    return fanout.plan_fanout(settings.request(accounts), sandbox_url=_sandbox_url(settings))


def run_folder(settings: TaskSettings, run_id: str) -> Path:
    """The folder of one scheduled run: the same for every task and retry of that run."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("_") or "run"
    stem = find_notebook(settings.notebook).stem
    return Path(os.path.abspath(settings.output_dir)) / f"{safe}-{stem}-airflow"


def plan_run(settings: TaskSettings, run_id: str) -> list[str]:
    """Check everything, make the run's folder, and return the accounts to run in.

    Raises:
        BadInput: a bad setting or parameter, a widget destination (nothing has run).
        AwsError: the Organization's accounts could not be listed.
    """
    check_request(settings.request())
    plan = _plan(settings)
    fanout.private_dir(run_folder(settings, run_id))
    return plan.account_ids


def _xcom(result: fanout.AccountResult, folder: Path) -> dict[str, Any]:
    r = summary.row(result, folder)
    findings = {k[9:]: v for k, v in r.items() if k.startswith("findings_") and v}
    out = {k: r.get(k) for k in XCOM_KEYS}
    out.update(findings=findings, pending=r["pending_manual_steps"])
    return out


def run_one(
    settings: TaskSettings,
    account_id: str,
    run_id: str,
    *,
    target: FanoutTarget | None = None,
    kernels: KernelPool | None = None,
) -> dict[str, Any]:
    """One account's run; its JSON-safe result (for XCom: no message, no parameter).

    The full result (with the message) is also written to ``<folder>/<account>/task.json``
    (atomically: a killed task leaves none, or a whole one) for ``summarize``. Every failure
    (a refused role, a failing cell) is in the result.

    Args:
        target: the management session (a chunk's, asked once); ``None``: asked now.
        kernels: a chunk's warm kernels; ``None``: a kernel for this run.
    """
    base = run_folder(settings, run_id)
    cwd = os.getcwd()  # papermill's per-run chdir is process-wide: put it back afterwards
    try:
        with warm_kernels(kernels):
            result = fanout.run_account(
                settings.notebook,
                account_id,
                settings.run_params(),
                target=target or _plan(settings, [account_id]).target,
                output_dir=base,
                plan=settings.plan,
            )
    except RunbookError as err:  # the target itself was refused: this account's result
        result = fanout.AccountResult(account_id, "failed", err.exit_code, str(err))
    finally:
        if kernels is None:
            os.chdir(cwd)
    out = _xcom(result, base)
    fanout.private_dir(base / account_id)
    fanout.write_json_atomic(base / account_id / RESULT_FILE, {**out, "message": result.message})
    return out


def plan_chunks(settings: TaskSettings, run_id: str) -> list[list[str]]:
    """``plan_run``'s accounts in chunks of ``settings.chunk_size`` (one mapped task each)."""
    ids = plan_run(settings, run_id)
    size = max(1, settings.chunk_size)
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _done(base: Path, account_id: str, fail_on: Sequence[int]) -> dict[str, Any] | None:
    """An account's XCom result from an earlier try of its chunk, if it need not run again."""
    try:
        data = json.loads((base / account_id / RESULT_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("exit_code") in fail_on:
        return None
    return {k: data.get(k) for k in XCOM_KEYS}


def run_chunk(settings: TaskSettings, accounts: Sequence[str], run_id: str) -> list[dict[str, Any]]:
    """The accounts of one mapped task on one warm kernel pool (``settings.max_concurrency``
    kernels, reset between accounts); their JSON-safe results, in order.

    A retry of the chunk (the same run) runs only the accounts without a result or whose exit
    code is in ``fail_on``; the others keep their result.
    """
    base = run_folder(settings, run_id)
    results: dict[str, dict[str, Any]] = {}
    todo = []
    for account in accounts:
        earlier = _done(base, account, settings.fail_on)
        if earlier is None:
            todo.append(account)
        else:
            results[account] = earlier
    if todo:
        try:
            target: FanoutTarget | None = _plan(settings, todo).target
        except RunbookError:  # each account's run reports the refusal as its result
            target = None
        size = max(1, min(settings.max_concurrency, len(todo)))
        cwd = os.getcwd()
        try:
            with KernelPool(size) as pool, ThreadPoolExecutor(max_workers=size) as workers:
                futures = {
                    a: workers.submit(run_one, settings, a, run_id, target=target, kernels=pool)
                    for a in todo
                }
                for account, future in futures.items():
                    results[account] = future.result()
        finally:
            os.chdir(cwd)  # papermill's per-run chdir is process-wide
    return [results[a] for a in accounts]


def _load(folder: Path, account_id: str) -> fanout.AccountResult:
    path = folder / account_id / RESULT_FILE
    if not path.is_file():
        return fanout.AccountResult(account_id)
    data = json.loads(path.read_text("utf-8"))
    run_dir = folder / data["run_dir"] if data.get("run_dir") else None
    record_file = run_dir / "run.json" if run_dir else None
    record: dict[str, Any] = {}
    if record_file and record_file.is_file():
        record = json.loads(record_file.read_text("utf-8"))
    return fanout.AccountResult(
        account_id,
        data["status"],
        data["exit_code"],
        data.get("message", ""),
        run_dir,
        record,
        float(data.get("seconds") or 0),
    )


def summarize(settings: TaskSettings, run_id: str, accounts: Sequence[str]) -> dict[str, Any]:
    """Write the run's summary with the CLI's code; return its counts (JSON-safe).

    An account without a result (its task failed before writing one, or never ran) is
    ``not started`` and counts as exit 1, as in the CLI.
    """
    base = run_folder(settings, run_id)
    results = [_load(base, a) for a in accounts]
    stem = find_notebook(settings.notebook).stem
    stopped = any(r.status == fanout.NOT_STARTED for r in results)
    run = fanout.FanoutResult(stem, base, results, stopped)
    notes = [f"scheduled run, fail_on={list(settings.fail_on)}"]

    def target() -> FanoutTarget:  # asked for only off the sandbox
        return _plan(settings, accounts).target

    code, _ = summary.summarize(settings.request(accounts), run, target, notes)
    by_code: dict[str, list[str]] = {}
    for res in results:
        by_code.setdefault(str(res.exit_code), []).append(res.account_id)
    return {
        "exit_code": code,
        "accounts": len(results),
        "by_exit_code": by_code,
        "summary": str(base / "summary.json"),
        "failed": code in settings.fail_on,
    }
