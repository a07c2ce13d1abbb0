"""notebooks/01_create_admin_user.ipynb: headless runs on the sandbox.

The first run is the session's real ``runbook run --all`` process (``catalog.RUN_ALL``), the
pending manual step a cached runner scenario; re-runs, plan mode, bad input and a crashed run's
repair execute the notebook's cells in-process (``support.inprocess``).
"""

from __future__ import annotations

import csv
import stat
from pathlib import Path
from typing import Any

import pytest
from support.aws import ACCOUNT, CONSOLE_URL, assert_unchanged, snapshot
from support.catalog import ALL_USER, PENDING, RUN_ALL
from support.inprocess import InProcessRun, run_in_process
from support.leak_scan import assert_no_secret
from support.s1_flow import PASSWORD_HEADER, Crash, crash_after_writes, new_ctx, run_steps
from support.scenarios import ScenarioCache, ScenarioRun

NOTEBOOK = "01"


def _run(secrets_dir: Path, user: str, plan: bool = False, **params: Any) -> InProcessRun:
    values = {
        "user_name": user,
        "group_name": f"{user}s",
        "billing_access_confirmed": True,
        "secrets_dir": str(secrets_dir),
        **params,
    }
    return run_in_process(NOTEBOOK, values, plan=plan)


def _csv_password(secrets_dir: Path, user: str) -> str:
    path = secrets_dir / f"{ACCOUNT}-{user}_credentials.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        header, row = list(csv.reader(fh))
    assert ",".join(header) == PASSWORD_HEADER
    assert row[0] == user and row[2] == CONSOLE_URL
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return row[1]


@pytest.fixture(scope="module")
def run_all(scenarios: ScenarioCache) -> ScenarioRun:
    return scenarios.run(RUN_ALL)


def _record(run_all: ScenarioRun) -> dict[str, Any]:
    return next(r for r in run_all.records if r["notebook"].startswith("01_"))


def test_first_run_creates_the_admin_and_the_password_is_only_in_the_csv(
    run_all: ScenarioRun,
) -> None:
    record = _record(run_all)
    assert record["exit_code"] == 0, record["message"]
    assert record["writes"] == 7  # 6 on AWS: moto needs UpdateLoginProfile for the flag
    assert [c["action"] for c in record["changes"]] == [
        "create-group",
        "attach-group-policy",
        "create-user",
        "add-user-to-group",
        "create-login-profile",
        "update-login-profile",  # moto ignored the reset flag: the write that sets it again
        "untag-user",
    ]
    assert len(record["changes"]) == record["writes"], "the summary's count and list disagree"
    user = run_all.after["users"][ALL_USER]
    assert user["login_profile"] is True, "the password must be changed at first sign-in"
    assert user["groups"] == [f"{ALL_USER}s"]
    password = _csv_password(run_all.secrets_dir, ALL_USER)
    assert_no_secret(run_all.artifacts, [password])
    [delivered] = record["secrets"]
    assert delivered["kind"] == "console-password" and "fingerprint" in delivered


def test_second_run_makes_no_writes_and_passes_verify(run_all: ScenarioRun) -> None:
    again = run_all.reruns["01"]
    assert again.exit_code == 0, again.message
    assert again.record["writes"] == 0
    assert len(list(run_all.secrets_dir.glob("*_credentials.csv"))) == 1


def test_plan_mode_makes_no_writes(tmp_path: Path, user_name: str) -> None:
    secrets_dir = tmp_path / "secrets"
    before = snapshot([])
    result = _run(secrets_dir, user_name, plan=True)
    assert result.exit_code == 0, result.message
    assert result.record["writes"] == 0
    assert snapshot([]) == before, "no user, no group"
    assert not secrets_dir.exists()


@pytest.mark.parametrize(
    ("params", "existing", "named"),
    [
        ({"user_name": "Admin istrator"}, False, "user_name"),
        ({"tags": {"aws:owner": "me"}}, False, "tags"),
        ({}, True, "clashes with existing user"),
    ],
)
def test_bad_input_exits_2_with_zero_writes(
    iam: Any,
    tmp_path: Path,
    user_name: str,
    params: dict[str, Any],
    existing: bool,
    named: str,
) -> None:
    if existing:  # the same name in another case
        iam.create_user(UserName=user_name.lower())
        user_name = user_name.upper()
    before = snapshot()
    result = _run(tmp_path / "secrets", user_name, **params)
    assert result.exit_code == 2, result.message
    assert named in result.message and "\n" not in result.message
    assert result.record["writes"] == 0
    assert_unchanged(before, snapshot())


def test_billing_step_not_confirmed_exits_3(scenarios: ScenarioCache) -> None:
    result = scenarios.run(PENDING["01"])
    assert result.exit_code == 3, result.stderr
    assert "billing_access_confirmed" in result.stdout
    assert result.record["status"] == "manual step pending"
    assert result.record["writes"] == 0 and result.record["plan"] is True


def test_run_that_died_before_the_csv_is_completed_by_the_notebook(
    tmp_path: Path, user_name: str
) -> None:
    secrets_dir = tmp_path / "secrets"
    crashed = new_ctx()
    crash_after_writes(crashed, 5)  # CreateLoginProfile done, the password only in memory
    with pytest.raises(Crash):
        run_steps(crashed, secrets_dir, user_name=user_name, group_name=f"{user_name}s")
    result = _run(secrets_dir, user_name)
    assert result.exit_code == 0, result.message
    assert [r["action"] for r in result.record["repairs"]] == ["update-login-profile"]
    password = _csv_password(secrets_dir, user_name)
    if password in result.outputs():
        pytest.fail("the repaired password is in the notebook's output", pytrace=False)
