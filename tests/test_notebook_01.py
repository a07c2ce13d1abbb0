"""Headless runs of notebooks/01_create_admin_user.ipynb through the runner, on the sandbox."""

from __future__ import annotations

import csv
import stat
from pathlib import Path
from typing import Any

import pytest
from helpers import assert_no_secret
from s1_flow import PASSWORD_HEADER, Crash, crash_after_writes, empty_iam, new_ctx, run_steps

from runbook_lib.run.runner import RunResult, run_notebook

NOTEBOOK = "01_create_admin_user"
CONSOLE_URL = "https://123456789012.signin.aws.amazon.com/console"


@pytest.fixture
def clean_iam() -> None:
    """Start from an empty IAM (cleaned by API, not by a slow reset)."""
    empty_iam(new_ctx().iam)


def _run(tmp_path: Path, secrets_dir: Path, plan: bool = False, **params: Any) -> RunResult:
    values = {"billing_access_confirmed": True, "secrets_dir": str(secrets_dir), **params}
    return run_notebook(NOTEBOOK, values, output_dir=tmp_path / "runs", plan=plan)


def _iam_snapshot() -> dict[str, Any]:
    iam = new_ctx().iam
    return {
        "users": sorted(u["UserName"] for u in iam.list_users()["Users"]),
        "groups": sorted(g["GroupName"] for g in iam.list_groups()["Groups"]),
    }


def _csv_password(secrets_dir: Path, user: str = "Administrator") -> str:
    path = secrets_dir / f"123456789012-{user}_credentials.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        header, row = list(csv.reader(fh))
    assert ",".join(header) == PASSWORD_HEADER
    assert row[0] == user and row[2] == CONSOLE_URL
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return row[1]


def test_first_run_creates_the_admin_and_the_password_is_only_in_the_csv(
    clean_iam: None, tmp_path: Path, secrets_dir: Path
) -> None:
    result = _run(tmp_path, secrets_dir)
    assert result.exit_code == 0, result.message
    assert result.record["writes"] == 7  # 6 on AWS: moto needs UpdateLoginProfile for the flag
    assert [c["action"] for c in result.record["changes"]] == [
        "create-group",
        "attach-group-policy",
        "create-user",
        "add-user-to-group",
        "create-login-profile",
        "untag-user",
    ]
    iam = new_ctx().iam
    profile = iam.get_login_profile(UserName="Administrator")["LoginProfile"]
    assert profile["PasswordResetRequired"] is True
    groups = iam.list_groups_for_user(UserName="Administrator")["Groups"]
    assert [g["GroupName"] for g in groups] == ["Administrators"]
    password = _csv_password(secrets_dir)
    assert password in result.secret_values
    assert_no_secret(result.artifacts, [password, *result.secret_values])
    [delivered] = result.record["secrets"]
    assert delivered["kind"] == "console-password" and "fingerprint" in delivered


def test_second_run_makes_no_writes_and_passes_verify(
    clean_iam: None, tmp_path: Path, secrets_dir: Path
) -> None:
    run_steps(new_ctx(), secrets_dir)
    result = _run(tmp_path, secrets_dir)
    assert result.exit_code == 0, result.message
    assert result.record["writes"] == 0
    assert len(list(secrets_dir.iterdir())) == 1


def test_plan_mode_makes_no_writes(clean_iam: None, tmp_path: Path, secrets_dir: Path) -> None:
    result = _run(tmp_path, secrets_dir, plan=True)
    assert result.exit_code == 0, result.message
    assert result.record["writes"] == 0
    assert _iam_snapshot() == {"users": [], "groups": []}
    assert not secrets_dir.exists()


@pytest.mark.parametrize(
    ("params", "existing", "named"),
    [
        ({"user_name": "Admin istrator"}, None, "user_name"),
        ({"tags": {"aws:owner": "me"}}, None, "tags"),
        ({}, "administrator", "clashes with existing user 'administrator'"),
    ],
)
def test_bad_input_exits_2_with_zero_writes(
    clean_iam: None,
    tmp_path: Path,
    secrets_dir: Path,
    params: dict[str, Any],
    existing: str | None,
    named: str,
) -> None:
    if existing:
        new_ctx().iam.create_user(UserName=existing)
    before = _iam_snapshot()
    result = _run(tmp_path, secrets_dir, **params)
    assert result.exit_code == 2, result.message
    assert named in result.message and "\n" not in result.message
    assert result.record["writes"] == 0
    assert _iam_snapshot() == before


def test_billing_step_not_confirmed_exits_3(
    clean_iam: None, tmp_path: Path, secrets_dir: Path
) -> None:
    result = _run(tmp_path, secrets_dir, plan=True, billing_access_confirmed=False)
    assert result.exit_code == 3
    assert "billing_access_confirmed" in result.message


def test_run_that_died_before_the_csv_is_completed_by_the_notebook(
    clean_iam: None, tmp_path: Path, secrets_dir: Path
) -> None:
    crashed = new_ctx()
    crash_after_writes(crashed, 5)  # CreateLoginProfile done, the password only in memory
    with pytest.raises(Crash):
        run_steps(crashed, secrets_dir)
    # the "dead" run is this live test process: date its marker past the lease (issue 11)
    from runbook_lib.admin_user.signin import MARKER_KEY
    from runbook_lib.core.markers import DEFAULT_LEASE, as_tag, new_marker, utc_now

    old = new_marker(crashed, "pending", moment=utc_now() - DEFAULT_LEASE)
    new_ctx().iam.tag_user(UserName="Administrator", Tags=[as_tag(MARKER_KEY, old)])
    result = _run(tmp_path, secrets_dir)
    assert result.exit_code == 0, result.message
    assert [r["action"] for r in result.record["repairs"]] == ["update-login-profile"]
    password = _csv_password(secrets_dir)
    assert_no_secret(result.artifacts, [password, *result.secret_values])
