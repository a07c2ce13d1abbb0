"""dags/iam_runbooks.py under ``airflow dags test`` against a sandbox Organization.

Runs in the project's .venv (the session's sandbox, from ``support.plugin``) and drives
.venv-airflow's ``airflow`` in a subprocess: SQLite metadata DB in a throw-away AIRFLOW_HOME
whose path has spaces, the DAGs folder a link with a space to the repository's ``dags/``.
One DAG run (module fixture, ≈35 s): 3 members + the management account, S0 in each.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.aws import reset_sandbox
from support.leak_scan import assert_no_secret

from runbook_lib.core.sandbox import SANDBOX_ACCOUNT_ID
from runbook_lib.interfaces.airflow import XCOM_KEYS

REPO = Path(__file__).resolve().parents[2]
AIRFLOW = REPO / ".venv-airflow" / "bin" / "airflow"
DAG_ID = "iam_runbooks_s0"
#: accounts per mapped task in these runs: 4 accounts are 2 ``run`` tasks
CHUNK = 2


@dataclass
class Airflow:
    """A throw-away Airflow (SQLite DB, AIRFLOW_HOME and DAGs folder paths with spaces)."""

    home: Path
    env: dict[str, str]
    outputs: list[str]  # every `airflow` command's output, for the leak scan

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(AIRFLOW), *args], env=self.env, capture_output=True, text=True, timeout=600
        )
        self.outputs.append(proc.stdout + proc.stderr)
        return proc

    def db(self, sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.home / "airflow.db") as db:
            return list(db.execute(sql))

    def states(self, logical_date: str) -> list[tuple[str, str]]:
        """(task, state) of every task instance of the DAG run on ``logical_date``."""
        return sorted(
            self.db(
                "SELECT ti.task_id, ti.state FROM task_instance ti JOIN dag_run dr ON "
                f"ti.run_id = dr.run_id AND ti.dag_id = dr.dag_id WHERE dr.dag_id = '{DAG_ID}' "
                f"AND date(dr.logical_date) = '{logical_date}'"
            )
        )


@dataclass
class DagRun:
    airflow: Airflow
    out: Path
    accounts: list[str]
    returncode: int
    output: str  # credentials of the sandbox replaced: safe in a failure message


def _issued_credentials() -> list[str]:
    """The secret halves of every AssumeRole answer the sandbox gave (moto runs in-process)."""
    from moto.sts.models import sts_backends

    found: list[str] = []
    for per_partition in list(sts_backends.values()):
        for backend in per_partition.values():
            for role in backend.assumed_roles:
                found += [role.secret_access_key, role.session_token]
    return found


def _redacted(text: str) -> str:
    for value in _issued_credentials():
        text = text.replace(value, "<secret>")
    return text


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Airflow:
    assert AIRFLOW.exists(), "no .venv-airflow: run `make airflow-setup` (or `make airflow-test`)"
    home = tmp_path_factory.mktemp("airflow") / "airflow home"
    home.mkdir()
    (home / "dags folder").symlink_to(REPO / "dags", target_is_directory=True)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags folder"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_VAR_IAM_RUNBOOKS": json.dumps({"output_dir": str(home.parent / "run folders")}),
        "IAM_RUNBOOKS_RETRIES": "0",
    }
    run = Airflow(home, env, [])
    migrate = run("db", "migrate")
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    return run


@pytest.fixture(scope="module")
def dag_run(airflow: Airflow) -> DagRun:
    """S0 over a 3-member sandbox Organization, settings from the Variable and a DAG param."""
    members = reset_sandbox().ensure_members(3)
    started = time.monotonic()
    conf = json.dumps({"role_name": "OrganizationAccountAccessRole", "chunk_size": CHUNK})
    proc = airflow("dags", "test", DAG_ID, "2026-12-01", "--conf", conf)
    print(f"\nairflow dags test {DAG_ID} over 4 accounts: {time.monotonic() - started:.1f} s")
    out = airflow.home.parent / "run folders"
    accounts = [SANDBOX_ACCOUNT_ID, *members]
    return DagRun(airflow, out, accounts, proc.returncode, _redacted(airflow.outputs[-1]))


def _chunks(dag_run: DagRun) -> int:
    return -(-len(dag_run.accounts) // CHUNK)


def test_the_dag_run_succeeds_with_a_task_per_chunk_of_accounts(dag_run: DagRun) -> None:
    assert dag_run.returncode == 0, dag_run.output[-3000:]
    assert dag_run.airflow.states("2026-12-01") == sorted(
        [("plan", "success"), ("summary", "success")] + [("run", "success")] * _chunks(dag_run)
    )


def test_every_account_has_a_run_folder_and_a_summary_row(dag_run: DagRun) -> None:
    (folder,) = [p for p in dag_run.out.iterdir() if p.is_dir()]
    assert folder.name.endswith("-00_check_root_usage-airflow")
    for acct in dag_run.accounts:
        (run_json,) = (folder / acct).glob("*/run.json")
        assert json.loads(run_json.read_text("utf-8"))["account_id"] == acct
    data = json.loads((folder / "summary.json").read_text("utf-8"))
    assert sorted(r["account_id"] for r in data["rows"]) == sorted(dag_run.accounts)
    assert all(r["status"] != "not started" for r in data["rows"])
    # S0 with fail_on_findings (the DAG's default): the sandbox root's FAIL finding is exit 4,
    # which the default fail_on (1,2) lets succeed: the summary marks it
    assert {r["exit_code"] for r in data["rows"]} == {4} and data["exit_code"] == 4
    assert "sandbox has no" in data["root_access"]["centralized_root_access"]["status"]
    rows = list(csv.DictReader((folder / "summary.csv").open(encoding="utf-8")))
    assert len(rows) == len(dag_run.accounts)
    page = (folder / "summary.html").read_text("utf-8")
    assert all(acct in page for acct in dag_run.accounts)


def test_xcom_holds_counts_and_run_folders_only(dag_run: DagRun) -> None:
    rows = dag_run.airflow.db(f"SELECT task_id, key, value FROM xcom WHERE dag_id = '{DAG_ID}'")
    assert {key for _, key, _ in rows} == {"return_value"}  # no key of its own per field
    values: dict[str, list[Any]] = {}
    for task_id, _, raw in rows:
        values.setdefault(task_id, []).append(json.loads(raw))
    assert [len(c) for c in values["plan"][0]] == [CHUNK] * _chunks(dag_run)
    assert sorted(a for chunk in values["plan"][0] for a in chunk) == sorted(dag_run.accounts)
    assert len(values["run"]) == _chunks(dag_run)
    results = [r for chunk in values["run"] for r in chunk]
    assert sorted(r["account_id"] for r in results) == sorted(dag_run.accounts)
    assert all(sorted(r) == sorted(XCOM_KEYS) for r in results)


def test_exit_codes_in_fail_on_fail_the_tasks_and_the_run_and_the_summary_still_has_all_rows(
    dag_run: DagRun,
) -> None:
    """fail_on 1,2,4 (alert on findings) as a DAG param, another output folder: each chunk's
    task fails (the sandbox's root has a FAIL finding: exit 4), the summary task still runs
    (all_done), writes every row, and fails too, so the DAG run is failed."""
    out = dag_run.airflow.home.parent / "strict run"
    conf = json.dumps({"fail_on": "1,2,4", "output_dir": str(out), "chunk_size": CHUNK})
    dag_run.airflow("dags", "test", DAG_ID, "2026-12-02", "--conf", conf)
    assert dag_run.airflow.states("2026-12-02") == sorted(
        [("plan", "success"), ("summary", "failed")] + [("run", "failed")] * _chunks(dag_run)
    ), _redacted(dag_run.airflow.outputs[-1])[-3000:]
    (summary,) = out.glob("*/summary.json")
    rows = json.loads(summary.read_text("utf-8"))["rows"]
    assert sorted(r["account_id"] for r in rows) == sorted(dag_run.accounts)
    assert {r["exit_code"] for r in rows} == {4}
    state = dag_run.airflow.db(
        f"SELECT state FROM dag_run WHERE dag_id = '{DAG_ID}' AND date(logical_date) = '2026-12-02'"
    )
    assert state == [("failed",)]


def test_no_credential_in_logs_xcom_db_outputs_or_terminal(dag_run: DagRun) -> None:
    secrets = _issued_credentials()
    members = len(dag_run.accounts) - 1
    assert len(secrets) >= 2 * 2 * members  # both runs' AssumeRole answers for every member
    root = dag_run.airflow.home.parent  # AIRFLOW_HOME (logs, airflow.db) and both output folders
    files = [p for p in root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" for p in files)
    assert dag_run.airflow.home / "airflow.db" in files
    assert_no_secret(files, secrets)
    for output in dag_run.airflow.outputs:
        assert not any(value in output for value in secrets), "a credential in airflow's output"


def test_accounts_set_to_a_file_path_opens_nothing_and_shows_nothing(dag_run: DagRun) -> None:
    """The red team's run: ``accounts`` = the path of a file the worker can read. The plan task
    fails (bad input, one line) and the file's first token is in no log, output or XCom."""
    private = dag_run.airflow.home.parent / "private.txt"
    private.write_text("hunter2-first-token more\n", encoding="utf-8")
    conf = json.dumps({"accounts": str(private), "output_dir": str(private.parent / "none")})
    dag_run.airflow("dags", "test", DAG_ID, "2026-12-03", "--conf", conf)
    states = dag_run.airflow.states("2026-12-03")
    assert ("plan", "failed") in states and ("run", "success") not in states, states
    logs = [p for p in dag_run.airflow.home.parent.rglob("*.log") if p.is_file()]
    assert logs
    for path in logs:
        assert "hunter2" not in path.read_text("utf-8", errors="replace"), path.name
    assert not any("hunter2" in output for output in dag_run.airflow.outputs)
