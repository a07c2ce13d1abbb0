"""Headless runs of notebooks/02_create_access_key.ipynb through the runner, on the sandbox."""

from __future__ import annotations

import csv
import io
import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from helpers import assert_no_secret, reset_sandbox

from runbook_lib import preflight
from runbook_lib.access_key import steps as access_keys
from runbook_lib.run.runner import RunResult, run_notebook

PIPE: dict[str, Any] = {"capture_output": True, "text": True, "check": True}

NOTEBOOK = "02_create_access_key"
_NAMES = itertools.count(1)


@pytest.fixture(scope="module")
def iam() -> Any:
    """An IAM client on a sandbox reset once for this module (each test has its own user)."""
    reset_sandbox()
    return boto3.client("iam")


@pytest.fixture
def user(iam: Any) -> str:
    name = f"Operator{next(_NAMES)}"
    iam.create_user(UserName=name)
    return name


def run(tmp_path: Path, user: str, plan: bool = False, **params: Any) -> RunResult:
    params = {"user_name": user, "secrets_dir": str(tmp_path / "secrets"), **params}
    return run_notebook(NOTEBOOK, params, output_dir=tmp_path / "runs", plan=plan)


def keys_of(iam: Any, user: str) -> dict[str, str]:
    meta = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    return {m["AccessKeyId"]: m["Status"] for m in meta}


def csv_secret(tmp_path: Path, user: str) -> tuple[str, str]:
    text = (tmp_path / "secrets" / f"{user}_accessKeys.csv").read_text("utf-8")
    (row,) = list(csv.DictReader(io.StringIO(text)))
    return row["Access key ID"], row["Secret access key"]


def assert_not_printed(captured: pytest.CaptureFixture[str], values: list[str]) -> None:
    out = captured.readouterr()
    for i, value in enumerate(values):
        if value and value in out.out + out.err:
            pytest.fail(f"secret #{i} reached the test output", pytrace=False)


def test_first_run_delivers_the_key_once_and_a_rerun_makes_no_writes(
    iam: Any, user: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    first = run(tmp_path, user)
    assert first.exit_code == 0, first.message
    key_id, secret = csv_secret(tmp_path, user)
    assert keys_of(iam, user) == {key_id: "Active"}
    assert first.record["writes"] == 3  # TagUser pending, CreateAccessKey, TagUser delivered
    assert [c["action"] for c in first.record["changes"]] == [
        "mark-access-key-pending",
        "create-access-key",
        "mark-access-key-delivered",
    ]
    assert first.record["secrets"][0]["kind"] == "secret-access-key"
    assert {p.suffix for p in first.artifacts} >= {".ipynb", ".html", ".json"}
    assert secret in first.secret_values
    assert_no_secret(first.artifacts, [secret, *first.secret_values])

    again = run(tmp_path, user)
    assert again.exit_code == 0, again.message
    assert again.record["writes"] == 0 and again.record["changes"] == []
    assert keys_of(iam, user) == {key_id: "Active"}
    notebook = next(p for p in again.artifacts if p.suffix == ".ipynb").read_text("utf-8")
    assert "already has an active key" in notebook and key_id in notebook
    assert_no_secret(again.artifacts, [secret])
    assert_not_printed(capfd, [secret, *first.secret_values])


def test_plan_mode_makes_no_writes(iam: Any, user: str, tmp_path: Path) -> None:
    result = run(tmp_path, user, plan=True)
    assert result.exit_code == 0, result.message
    assert result.record["writes"] == 0 and keys_of(iam, user) == {}
    notebook = next(p for p in result.artifacts if p.suffix == ".ipynb").read_text("utf-8")
    assert "would create an access key" in notebook
    assert not (tmp_path / "secrets").exists()


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"user_name": "nobody"}, "does not exist"),
        ({"user_name": "root"}, "root user"),
        ({"mode": "replace"}, "mode 'replace'"),
        ({"destination": "widget"}, "headless"),
        ({"existing_csv": True}, "already exists"),
    ],
)
def test_bad_input_exits_2_and_changes_nothing(
    iam: Any, user: str, tmp_path: Path, params: dict[str, Any], words: str
) -> None:
    if params.pop("existing_csv", False):
        (tmp_path / "secrets").mkdir()
        (tmp_path / "secrets" / f"{user}_accessKeys.csv").write_text("someone's file")
    result = run(tmp_path, user, **params)
    assert result.exit_code == 2, result.message
    assert words in result.message and "Nothing was changed" in result.message
    assert result.record["writes"] == 0 and keys_of(iam, user) == {}


def test_secrets_manager_run_leaks_the_secret_nowhere(
    iam: Any, user: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run(tmp_path, user, destination="secretsmanager")
    assert result.exit_code == 0, result.message
    stored = boto3.client("secretsmanager").get_secret_value(
        SecretId=f"iam-runbooks/{user}/access-key"
    )
    body = json.loads(stored["SecretString"])
    assert keys_of(iam, user) == {body["AccessKeyId"]: "Active"}
    assert result.record["writes"] == 4  # + CreateSecret
    assert_no_secret(result.artifacts, [body["SecretAccessKey"], *result.secret_values])
    assert_not_printed(capfd, [body["SecretAccessKey"]])


def test_a_run_that_died_after_create_access_key_is_repaired(
    iam: Any, user: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBOOK_SECRETS_DIR", str(tmp_path / "secrets"))
    ctx = preflight("dead-run", target="sandbox")
    # its process is gone, as a crashed kernel's is (a live process would hold the lease)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], **PIPE)
    with monkeypatch.context() as m:
        m.setattr("runbook_lib.core.markers.os.getpid", lambda: int(gone.stdout))
        dead = access_keys.ensure_access_key(ctx, access_keys.check_request(ctx, user))
    result = run(tmp_path, user)
    assert result.exit_code == 0, result.message
    key_id, _ = csv_secret(tmp_path, user)
    assert keys_of(iam, user) == {key_id: "Active"} and key_id != dead.key_id
    (repair,) = result.record["repairs"]
    assert repair["action"] == "delete-access-key" and dead.key_id in repair["resource"]


def test_rotate_run_retires_the_old_key_after_proving_the_new_one(
    iam: Any, user: str, tmp_path: Path
) -> None:
    assert run(tmp_path, user).exit_code == 0
    old_id, _ = csv_secret(tmp_path, user)
    result = run(tmp_path, user, mode="rotate")
    assert result.exit_code == 0, result.message
    new_id = next(k for k in keys_of(iam, user) if k != old_id)
    assert keys_of(iam, user) == {old_id: "Inactive", new_id: "Active"}
    actions = [c["action"] for c in result.record["changes"]]
    assert actions.index("mark-access-key-delivered") < actions.index("deactivate-access-key")
