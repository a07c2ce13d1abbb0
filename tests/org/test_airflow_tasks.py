"""The DAG's task functions (``runbook_lib.interfaces.airflow``) in-process: no Airflow, no kernel.

Bad settings are one line before anything runs; a widget destination is refused; a task's
XCom result carries counts and folders only; the summary has a row for an account whose task
never wrote a result, and ``fail_on`` decides which exit codes fail the run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.aws import reset_sandbox

from runbook_lib.core import environ
from runbook_lib.core.errors import BadInput
from runbook_lib.core.sandbox import SANDBOX_ACCOUNT_ID
from runbook_lib.interfaces import airflow

RUN_ID = "scheduled__2026-12-01T00:00:00+00:00"


@pytest.fixture(scope="module")
def members() -> list[str]:
    return reset_sandbox().ensure_members(2)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"colour": "red"}, "unknown setting colour"),
        ({"accounts": "12345"}, "12-digit"),
        ({"parameters": "[1]"}, "parameters is not a JSON object"),
        ({"fail_on": "one"}, "fail_on 'one'"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(values: dict[str, str], named: str) -> None:
    with pytest.raises(BadInput) as err:
        airflow.settings_from(values)
    assert named in str(err.value) and "\n" not in str(err.value)


def test_settings_from_variables_and_params_take_strings_or_values() -> None:
    s = airflow.settings_from(
        {"accounts": "111122223333, 444455556666", "fail_on": "1,2,4", "plan": "true"}
    )
    assert s.accounts == ("111122223333", "444455556666") and s.fail_on == (1, 2, 4) and s.plan
    s = airflow.settings_from({"parameters": {"user_name": "Ops"}, "profile": "", "target": None})
    assert s.parameters == {"user_name": "Ops"} and s.target == "sandbox"


def test_a_widget_destination_is_refused_before_anything_runs(tmp_path: Path) -> None:
    settings = airflow.TaskSettings(
        notebook="02", output_dir=str(tmp_path), parameters={"destination": "widget"}
    )
    with pytest.raises(BadInput, match="destination 'widget' needs a person"):
        airflow.plan_run(settings, RUN_ID)
    assert list(tmp_path.iterdir()) == []


def test_the_sandbox_target_needs_a_running_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(environ.SANDBOX_URL)
    with pytest.raises(BadInput, match="needs a running sandbox"):
        airflow.plan_run(airflow.TaskSettings(output_dir=str(tmp_path)), RUN_ID)


def test_plan_lists_the_organizations_accounts_and_makes_one_folder(
    members: list[str], tmp_path: Path
) -> None:
    settings = airflow.TaskSettings(output_dir=str(tmp_path))
    accounts = airflow.plan_run(settings, RUN_ID)
    assert sorted(accounts) == sorted([SANDBOX_ACCOUNT_ID, *members])
    assert [p.name for p in tmp_path.iterdir()] == [airflow.run_folder(settings, RUN_ID).name]
    given = airflow.TaskSettings(output_dir=str(tmp_path), accounts=(members[0],))
    assert airflow.plan_run(given, RUN_ID) == [members[0]]


def test_a_refused_account_is_its_own_result_and_xcom_has_no_message(
    members: list[str], tmp_path: Path
) -> None:
    params = {"expected_account_id": members[1]}  # set per account: refused, nothing runs
    settings = airflow.TaskSettings(output_dir=str(tmp_path), parameters=params)
    result = airflow.run_one(settings, members[0], RUN_ID)
    assert result["exit_code"] == 2 and sorted(result) == sorted(airflow.XCOM_KEYS)
    written = airflow.run_folder(settings, RUN_ID) / members[0] / airflow.RESULT_FILE
    assert "expected_account_id" in json.loads(written.read_text("utf-8"))["message"]


def _result(folder: Path, account: str, code: int, status: str) -> None:
    (folder / account).mkdir(parents=True)
    data = {"account_id": account, "status": status, "exit_code": code, "run_dir": ""}
    (folder / account / airflow.RESULT_FILE).write_text(json.dumps(data), "utf-8")


def test_summary_marks_3_and_4_and_fails_only_on_fail_on(tmp_path: Path) -> None:
    accounts = ["111122223333", "444455556666"]
    settings = airflow.TaskSettings(output_dir=str(tmp_path))
    folder = airflow.run_folder(settings, RUN_ID)
    _result(folder, accounts[0], 0, "done")
    _result(folder, accounts[1], 4, "findings failed")
    out = airflow.summarize(settings, RUN_ID, accounts)
    assert out["exit_code"] == 4 and not out["failed"]
    assert out["by_exit_code"] == {"0": [accounts[0]], "4": [accounts[1]]}
    strict = airflow.TaskSettings(output_dir=str(tmp_path), fail_on=(1, 2, 4))
    assert airflow.summarize(strict, RUN_ID, accounts)["failed"]


def test_an_account_without_a_result_is_a_not_started_row(tmp_path: Path) -> None:
    settings = airflow.TaskSettings(output_dir=str(tmp_path))
    folder = airflow.run_folder(settings, RUN_ID)
    _result(folder, "111122223333", 0, "done")
    out = airflow.summarize(settings, RUN_ID, ["111122223333", "444455556666"])
    assert out["exit_code"] == 1 and out["failed"]
    rows = json.loads((folder / "summary.json").read_text("utf-8"))["rows"]
    assert [r["status"] for r in rows] == ["done", "not started"]


def test_a_chunk_runs_its_accounts_on_warm_kernels_and_a_retry_keeps_finished_ones(
    members: list[str], tmp_path: Path
) -> None:
    """``run_chunk``: every account of the chunk gets its run folder and result, on one pool
    (fewer kernels than accounts); a second try of the same run re-runs nobody that finished."""
    from support.plugin import kernels_started

    settings = airflow.settings_from(
        {"output_dir": str(tmp_path), "chunk_size": "2", "max_concurrency": "1"}
    )
    chunks = airflow.plan_chunks(settings, RUN_ID)
    accounts = [SANDBOX_ACCOUNT_ID, *members]
    assert chunks == [accounts[:2], accounts[2:]]
    before = kernels_started(mine=True)
    first = airflow.run_chunk(settings, chunks[0], RUN_ID)
    assert [r["account_id"] for r in first] == chunks[0]
    assert all(r["exit_code"] in (0, 4) for r in first), first
    assert kernels_started(mine=True) - before == 1  # one kernel for the chunk's two accounts
    folder = airflow.run_folder(settings, RUN_ID)
    for acct in chunks[0]:
        (run_json,) = (folder / acct).glob("*/run.json")
        assert json.loads(run_json.read_text("utf-8"))["account_id"] == acct
    again = airflow.run_chunk(settings, chunks[0], RUN_ID)  # a retry of the same chunk
    assert again == first
    assert kernels_started(mine=True) - before == 1  # the retry ran nobody: no kernel
    assert all(len(list((folder / a).glob("*/run.json"))) == 1 for a in chunks[0])


def test_chunk_size_must_be_a_positive_number() -> None:
    with pytest.raises(BadInput, match="chunk_size 'zero'"):
        airflow.settings_from({"chunk_size": "zero"})
