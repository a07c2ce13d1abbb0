"""notebooks/02_create_access_key.ipynb: headless runs on the sandbox.

The first run is the session's real ``runbook run --all`` process (``catalog.RUN_ALL``); the
re-run, plan mode, bad input, the Secrets Manager destination, a dead run's repair and rotation
execute the notebook's cells in-process (``support.inprocess``).
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.aws import ACCOUNT, client
from support.catalog import ALL_USER, RUN_ALL
from support.inprocess import InProcessRun, run_in_process
from support.leak_scan import assert_no_secret
from support.scenarios import ScenarioCache, ScenarioRun

from runbook_lib import access_key, preflight

NOTEBOOK = "02"
PIPE: dict[str, Any] = {"capture_output": True, "text": True, "check": True}


def run(tmp_path: Path, user: str, plan: bool = False, **params: Any) -> InProcessRun:
    params = {"user_name": user, "secrets_dir": str(tmp_path / "secrets"), **params}
    return run_in_process(NOTEBOOK, params, plan=plan)


def keys_of(iam: Any, user: str) -> dict[str, str]:
    meta = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    return {m["AccessKeyId"]: m["Status"] for m in meta}


def csv_secret(secrets_dir: Path, user: str) -> tuple[str, str]:
    text = (secrets_dir / f"{ACCOUNT}-{user}_accessKeys.csv").read_text("utf-8")
    (row,) = list(csv.DictReader(io.StringIO(text)))
    return row["Access key ID"], row["Secret access key"]


def assert_not_shown(run: InProcessRun, values: list[str]) -> None:
    text = run.outputs()
    for i, value in enumerate(values):
        if value and value in text:
            pytest.fail(f"secret #{i} is in the notebook's output", pytrace=False)


@pytest.fixture(scope="module")
def run_all(scenarios: ScenarioCache) -> ScenarioRun:
    return scenarios.run(RUN_ALL)


def test_first_run_delivers_the_key_once_and_a_rerun_makes_no_writes(
    run_all: ScenarioRun,
) -> None:
    folder, first = next(
        (d, r) for d, r in zip(run_all.run_dirs, run_all.records) if r["notebook"][:2] == "02"
    )
    assert first["exit_code"] == 0, first["message"]
    key_id, secret = csv_secret(run_all.secrets_dir, ALL_USER)
    assert run_all.after["users"][ALL_USER]["keys"] == [(key_id, "Active")]
    assert first["writes"] == 3  # TagUser pending, CreateAccessKey, TagUser delivered
    assert [c["action"] for c in first["changes"]] == [
        "mark-access-key-pending",
        "create-access-key",
        "mark-access-key-delivered",
    ]
    assert first["secrets"][0]["kind"] == "secret-access-key"
    assert {p.suffix for p in folder.iterdir()} >= {".ipynb", ".html", ".json"}
    assert_no_secret(run_all.artifacts, [secret])
    if any(secret in text for text in run_all.streams.values()):
        pytest.fail("the secret reached the terminal", pytrace=False)

    again = run_all.reruns["02"]
    assert again.exit_code == 0, again.message
    assert again.record["writes"] == 0 and again.record["changes"] == []
    assert run_all.after_reruns["users"][ALL_USER]["keys"] == [(key_id, "Active")]
    assert "already has an active key" in again.outputs() and key_id in again.outputs()
    assert_not_shown(again, [secret])


def test_plan_mode_makes_no_writes(iam: Any, user: str, tmp_path: Path) -> None:
    result = run(tmp_path, user, plan=True)
    assert result.exit_code == 0, result.message
    assert result.record["writes"] == 0 and keys_of(iam, user) == {}
    assert "would create an access key" in result.outputs()
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
        (tmp_path / "secrets" / f"{ACCOUNT}-{user}_accessKeys.csv").write_text("someone's file")
    result = run(tmp_path, user, **params)
    assert result.exit_code == 2, result.message
    assert words in result.message
    assert result.record["writes"] == 0 and keys_of(iam, user) == {}


def test_secrets_manager_run_leaks_the_secret_nowhere(iam: Any, user: str, tmp_path: Path) -> None:
    result = run(tmp_path, user, destination="secretsmanager")
    assert result.exit_code == 0, result.message
    stored = client("secretsmanager").get_secret_value(SecretId=f"iam-runbooks/{user}/access-key")
    body = json.loads(stored["SecretString"])
    assert keys_of(iam, user) == {body["AccessKeyId"]: "Active"}
    assert result.record["writes"] == 4  # + CreateSecret
    assert_not_shown(result, [body["SecretAccessKey"]])
    assert not (tmp_path / "secrets").exists(), "no file when the key goes to Secrets Manager"


def test_a_run_that_died_after_create_access_key_is_repaired(
    iam: Any, user: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBOOK_SECRETS_DIR", str(tmp_path / "secrets"))
    ctx = preflight("dead-run", target="sandbox")
    # its process is gone, as a crashed kernel's is (a live process would hold the lease)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], **PIPE)
    with monkeypatch.context() as m:
        m.setattr("runbook_lib.core.markers.os.getpid", lambda: int(gone.stdout))
        dead = access_key.ensure_access_key(ctx, access_key.check_request(ctx, user))
    result = run(tmp_path, user)
    assert result.exit_code == 0, result.message
    key_id, _ = csv_secret(tmp_path / "secrets", user)
    assert keys_of(iam, user) == {key_id: "Active"} and key_id != dead.key_id
    (repair,) = result.record["repairs"]
    assert repair["action"] == "delete-access-key" and dead.key_id in repair["resource"]


def test_rotate_run_retires_the_old_key_after_proving_the_new_one(
    iam: Any, user: str, tmp_path: Path
) -> None:
    assert run(tmp_path, user).exit_code == 0
    old_id, _ = csv_secret(tmp_path / "secrets", user)
    result = run(tmp_path, user, mode="rotate")
    assert result.exit_code == 0, result.message
    new_id = next(k for k in keys_of(iam, user) if k != old_id)
    assert keys_of(iam, user) == {old_id: "Inactive", new_id: "Active"}
    actions = [c["action"] for c in result.record["changes"]]
    assert actions.index("mark-access-key-delivered") < actions.index("deactivate-access-key")
