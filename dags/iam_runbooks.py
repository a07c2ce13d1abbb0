"""iam-runbooks on Airflow 3: S0 (root-usage check) in every ACTIVE account of an Organization.

``iam_runbooks_s0`` runs daily: ``plan`` lists the accounts (Organizations ``ListAccounts``, as
``runbook run 00 --org`` does, or the ``accounts`` given) and makes the run's folder; ``run``
is mapped over them (one task per account, ``.expand``), each calling the Airflow adapter
(``runbook_lib.interfaces.airflow.run_one`` -> ``org.fanout.run_account``: AssumeRole into the
account, the notebook with that account's credentials in its kernel only); ``summary`` writes
``summary.json``/``.csv``/``.html`` with the CLI's code, whatever the accounts' outcome.

Settings (each: the DAG param of a triggered run, else that key of the Airflow Variable
``iam_runbooks``, a JSON object that ``AIRFLOW_VAR_IAM_RUNBOOKS`` also sets, else the default):
``target`` (sandbox | profile | endpoint), ``profile``, ``endpoint_url``, ``region``,
``role_name``, ``output_dir``, ``secrets_dir``, ``accounts`` (IDs, or the bare name of a file
in ``accounts_dir``; empty: the Organization's), ``parameters`` (JSON object of notebook
parameters), ``plan``, ``fail_on``. Only in the Variable, never a DAG param (``dag_run.conf``
is stored in plain text, and whoever triggers the DAG sets it): ``external_id`` or
``external_id_file`` (a file the workers read, first line), and ``accounts_dir``.
At parse time, from the environment: ``IAM_RUNBOOKS_MAX_ACTIVE`` (accounts at a time, default
2), ``IAM_RUNBOOKS_RETRIES`` (default 1), ``IAM_RUNBOOKS_SCHEDULE`` (default ``@daily``).

Exit rule (``fail_on``, default ``1,2``): an account's task fails on exit 1 (retried) or 2 (bad
input: failed at once, no retry); on 0, 3 (manual step pending) and 4 (findings failed) it
succeeds and the summary shows the code. The summary task fails when the worst exit code is in
``fail_on``, so the DAG run's state follows the same rule. ``fail_on=1,2,4`` alerts on findings.

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
    plan_run,
    run_one,
    settings_from,
    summarize,
)

MAX_ACTIVE = int(os.environ.get("IAM_RUNBOOKS_MAX_ACTIVE", "2"))
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
        def plan() -> list[str]:
            try:
                return plan_run(_settings(notebook, base), _run_id())
            except RunbookError as err:  # bad settings: one line, nothing ran
                raise _refused(err) from None

        @task(max_active_tis_per_dag=MAX_ACTIVE, multiple_outputs=False)
        def run(account_id: str) -> dict[str, Any]:
            settings = _settings(notebook, base)
            result = run_one(settings, account_id, _run_id())
            code = result["exit_code"]
            line = f"{account_id}: {result['status']} (exit {code}), run folder {result['run_dir']}"
            print(line)
            if code in settings.fail_on and code == EXIT_BAD_INPUT:
                raise AirflowFailException(line)  # bad input: a retry cannot help
            if code in settings.fail_on:
                raise AirflowException(line)
            return result

        @task(trigger_rule=TriggerRule.ALL_DONE, retries=0, multiple_outputs=False)
        def summary(accounts: list[str]) -> dict[str, Any]:
            settings = _settings(notebook, base)
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

        accounts = plan()
        run.expand(account_id=accounts) >> summary(accounts)  # type: ignore[arg-type]

    return runbook_over_accounts()


#: S0 daily; a failed root-hygiene check makes that account exit 4 (marked, not failed, unless
#: fail_on has 4)
iam_runbooks_s0 = make_dag("iam_runbooks_s0", "00", SCHEDULE, {"fail_on_findings": True})
