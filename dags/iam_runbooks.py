"""iam-runbooks on Airflow 3: S0 (root-usage check) in every ACTIVE account of an Organization.

``iam_runbooks_s0`` runs daily: ``plan`` lists the accounts (Organizations ``ListAccounts``, as
``runbook run 00 --org`` does, or the ``accounts`` given), makes the run's folder and cuts the
accounts into chunks of ``chunk_size`` (default 50); ``run`` is mapped over the chunks (one task
per chunk, ``.expand``), each calling the Airflow adapter (``runbook_lib.interfaces.airflow.
run_chunk``: one warm kernel pool of ``max_concurrency`` kernels for the chunk, reset between
accounts; per account ``org.fanout.run_account``: AssumeRole into the account, the notebook with
that account's credentials in its kernel only), so 1000 accounts start ≈ 2 × 1000 / chunk_size
kernels, not 1000; ``summary`` writes ``summary.json``/``.csv``/``.html`` with the CLI's code,
whatever the accounts' outcome.

Settings (each: the DAG param of a triggered run, else that key of the Airflow Variable
``iam_runbooks``, a JSON object that ``AIRFLOW_VAR_IAM_RUNBOOKS`` also sets, else the default):
``target`` (sandbox | profile | endpoint), ``profile``, ``endpoint_url``, ``region``,
``role_name``, ``output_dir``, ``secrets_dir``, ``accounts`` (IDs, or the bare name of a file
in ``accounts_dir``; empty: the Organization's), ``parameters`` (JSON object of notebook
parameters), ``plan``, ``fail_on``, ``chunk_size``, ``max_concurrency`` (kernels per chunk,
default 2). Only in the Variable, never a DAG param (``dag_run.conf``
is stored in plain text, and whoever triggers the DAG sets it): ``external_id`` or
``external_id_file`` (a file the workers read, first line), and ``accounts_dir``.
At parse time, from the environment: ``IAM_RUNBOOKS_MAX_ACTIVE`` (chunks at a time, default
1: a chunk already runs ``max_concurrency`` accounts at once), ``IAM_RUNBOOKS_RETRIES``
(default 1), ``IAM_RUNBOOKS_SCHEDULE`` (default ``@daily``).

Exit rule (``fail_on``, default ``1,2``): a chunk's task fails when one of its accounts exits 1
(retried: the retry runs only that chunk's accounts without a result or with a code in
``fail_on``) or only 2s (bad input: failed at once, no retry); on 0, 3 (manual step pending)
and 4 (findings failed) it succeeds and the summary shows the code. The summary task fails
when the worst exit code is in ``fail_on``, so the DAG run's state follows the same rule.
``fail_on=1,2,4`` alerts on findings.

Nothing secret reaches XCom or the task logs: tasks return account, status, exit code, counts
and run folder; credentials live in each kernel's environment only; a runbook whose secret
would go to a widget is refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from airflow.exceptions import AirflowException, AirflowFailException
from airflow.sdk import Param, TriggerRule, Variable, dag, get_current_context, task

from runbook_lib.core.errors import EXIT_BAD_INPUT, RunbookError
from runbook_lib.interfaces.airflow import (
    TaskSettings,
    plan_chunks,
    run_chunk,
    settings_from,
    summarize,
)

MAX_ACTIVE = int(os.environ.get("IAM_RUNBOOKS_MAX_ACTIVE", "1"))
RETRIES = int(os.environ.get("IAM_RUNBOOKS_RETRIES", "1"))
SCHEDULE = os.environ.get("IAM_RUNBOOKS_SCHEDULE", "@daily")
#: one Variable, a JSON object of settings (``AIRFLOW_VAR_IAM_RUNBOOKS`` in the environment)
VARIABLE = "iam_runbooks"


def _text(description: str = "") -> Param:
    return Param(None, type=["null", "string"], description=description or None)


PARAMS = {
    "target": _text("sandbox | profile | endpoint"),
    "profile": _text("the management account's AWS profile"),
    "endpoint_url": _text("an AWS-compatible endpoint"),
    "region": _text(),
    "role_name": _text("default OrganizationAccountAccessRole"),
    "output_dir": _text("where run folders and the summary go"),
    "secrets_dir": _text("per-account folders for S1-S3 secrets"),
    "accounts": _text("ID,ID... or a file name in accounts_dir; empty: the Organization's"),
    "parameters": Param(None, type=["null", "object"], description="notebook parameters"),
    "fail_on": _text("exit codes that fail a task; default 1,2"),
    "plan": Param(None, type=["null", "boolean"], description="read-only run"),
    "chunk_size": Param(None, type=["null", "integer"], description="accounts per task (50)"),
    "max_concurrency": Param(None, type=["null", "integer"], description="kernels per task (2)"),
}


def _settings(notebook: str, defaults: Mapping[str, Any]) -> TaskSettings:
    """This run's settings: the DAG param, else the Variable ``iam_runbooks``, else default;
    the notebook's parameters over the DAG's ``defaults``."""
    shared = Variable.get(VARIABLE, default={}, deserialize_json=True)
    if not isinstance(shared, dict):
        raise AirflowFailException(f"Variable {VARIABLE} is not a JSON object: fix it.")
    params = dict(get_current_context()["params"])
    params.pop("notebook", None)  # the DAG's, not a setting
    try:
        settings = settings_from(shared, conf=params)
    except RunbookError as err:
        raise _refused(err) from None
    return replace(settings, notebook=notebook, parameters={**defaults, **settings.parameters})


def _run_id() -> str:
    return str(get_current_context()["run_id"])


def _refused(err: RunbookError) -> AirflowFailException:
    return AirflowFailException(f"exit {err.exit_code}: {err}")


def make_dag(
    dag_id: str, notebook: str, schedule: str | None, defaults: Mapping[str, Any] | None = None
) -> Any:
    """A DAG running ``notebook`` in every account on ``schedule`` (the same three tasks).

    Args:
        defaults: notebook parameters the ``parameters`` setting may override.
    """
    base = dict(defaults or {})

    @dag(
        dag_id=dag_id,
        schedule=schedule,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        params=PARAMS,
        tags=["iam-runbooks"],
        default_args={"retries": RETRIES, "retry_delay": timedelta(minutes=5)},
    )
    def runbook_over_accounts() -> None:
        @task(retries=0)
        def plan() -> list[list[str]]:
            try:
                return plan_chunks(_settings(notebook, base), _run_id())
            except RunbookError as err:  # bad settings: one line, nothing ran
                raise _refused(err) from None

        @task(max_active_tis_per_dag=MAX_ACTIVE, multiple_outputs=False)
        def run(accounts: list[str]) -> list[dict[str, Any]]:
            settings = _settings(notebook, base)
            results = run_chunk(settings, accounts, _run_id())
            failed = []
            for result in results:
                code = result["exit_code"]
                line = f"{result['account_id']}: {result['status']} (exit {code}), run folder "
                print(line + str(result["run_dir"]))
                if code in settings.fail_on:
                    failed.append(code)
            if failed and all(code == EXIT_BAD_INPUT for code in failed):
                raise AirflowFailException(  # bad input: a retry cannot help
                    f"{len(failed)} account(s) of this chunk: bad input (exit 2)"
                )
            if failed:
                raise AirflowException(f"{len(failed)} account(s) of this chunk exit {failed}")
            return results

        @task(trigger_rule=TriggerRule.ALL_DONE, retries=0, multiple_outputs=False)
        def summary(chunks: list[list[str]]) -> dict[str, Any]:
            settings = _settings(notebook, base)
            accounts = [a for chunk in chunks for a in chunk]
            out = summarize(settings, _run_id(), accounts)
            print(f"summary: {out['summary']} (worst exit {out['exit_code']})")
            for code, ids in sorted(out["by_exit_code"].items()):
                print(f"exit {code}: {len(ids)} account(s): {' '.join(ids)}")
            if out["failed"]:
                raise AirflowException(
                    f"worst exit code {out['exit_code']} is in fail_on "
                    f"{list(settings.fail_on)}: see {out['summary']}"
                )
            return out

        chunks = plan()
        run.expand(accounts=chunks) >> summary(chunks)  # type: ignore[arg-type]

    return runbook_over_accounts()


#: S0 daily; a failed root-hygiene check makes that account exit 4 (marked, not failed, unless
#: fail_on has 4)
iam_runbooks_s0 = make_dag("iam_runbooks_s0", "00", SCHEDULE, {"fail_on_findings": True})
