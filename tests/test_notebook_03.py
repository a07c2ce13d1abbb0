"""Headless runs of notebooks/03_enable_virtual_mfa.ipynb through the runner, on the sandbox."""

from __future__ import annotations

import base64
import itertools
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from helpers import assert_no_secret, reset_sandbox

from runbook_lib.core import totp
from runbook_lib.core.sandbox import Sandbox
from runbook_lib.run.runner import RunResult, run_notebook

NOTEBOOK = "03_enable_virtual_mfa"
ACCOUNT = "123456789012"
_USERS = itertools.count(1)


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    """The session's sandbox, reset once for this module (each test has its own user)."""
    yield reset_sandbox()


def iam(box: Sandbox) -> Any:
    return boto3.client("iam", endpoint_url=box.url, region_name="us-east-1")


@pytest.fixture
def user(box: Sandbox) -> str:
    name = f"nb03-user-{next(_USERS)}"
    iam(box).create_user(UserName=name)
    return name


def serial(user: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:mfa/{user}"


def run(tmp_path: Path, user: str, plan: bool = False, **params: Any) -> RunResult:
    return run_notebook(NOTEBOOK, {"user_name": user, **params}, output_dir=tmp_path, plan=plan)


def user_devices(box: Sandbox, user: str) -> list[str]:
    return [d["SerialNumber"] for d in iam(box).list_mfa_devices(UserName=user)["MFADevices"]]


def unassigned(box: Sandbox) -> list[str]:
    devices = iam(box).list_virtual_mfa_devices(AssignmentStatus="Unassigned")
    return [d["SerialNumber"] for d in devices["VirtualMFADevices"]]


def test_first_run_enables_mfa_and_second_run_makes_no_writes(
    box: Sandbox, user: str, tmp_path: Path
) -> None:
    first = run(tmp_path, user)
    assert first.exit_code == 0, first.message
    assert first.record["writes"] == 2
    assert [c["action"] for c in first.record["changes"]] == [
        "create-virtual-mfa-device",
        "enable-mfa-device",
    ]
    assert user_devices(box, user) == [serial(user)]
    second = run(tmp_path, user)
    assert second.exit_code == 0, second.message
    assert second.record["writes"] == 0 and second.record["changes"] == []


def test_plan_mode_makes_no_writes(box: Sandbox, user: str, tmp_path: Path) -> None:
    result = run(tmp_path, user, plan=True)
    assert result.exit_code == 0, result.message
    assert result.record["writes"] == 0
    assert serial(user) not in unassigned(box) and user_devices(box, user) == []


def test_bad_input_exits_2_with_no_writes(box: Sandbox, user: str, tmp_path: Path) -> None:
    result = run(tmp_path, user, device_name="no spaces allowed")
    assert result.exit_code == 2 and "device_name" in result.message
    assert result.record["writes"] == 0


def test_headless_real_account_without_seed_destination_is_pending_and_creates_nothing(
    box: Sandbox, user: str, tmp_path: Path
) -> None:
    result = run(tmp_path, user, target="endpoint", endpoint_url=box.url)
    assert result.exit_code == 3, result.message
    assert "scan the QR code" in result.message
    assert result.record["writes"] == 0 and serial(user) not in unassigned(box)


def test_no_seed_qr_or_uri_in_any_artifact(
    box: Sandbox, user: str, tmp_path: Path, secrets_dir: Path
) -> None:
    result = run(tmp_path, user, seed_destination="file", secrets_dir=str(secrets_dir))
    assert result.exit_code == 0, result.message
    seed_file = secrets_dir / f"{user}_virtual_mfa.txt"
    assert stat.S_IMODE(seed_file.stat().st_mode) == 0o600
    fields = dict(line.split("=", 1) for line in seed_file.read_text().splitlines() if "=" in line)
    seed, uri = fields["seed"], fields["otpauth_uri"]
    assert uri == totp.key_uri(seed, user, ACCOUNT)
    qr = base64.b64encode(totp.qr_png(uri)).decode()
    assert len(result.secret_values) >= 2, "the kernel announced the seed and the URI"
    values = [*result.secret_values, seed, uri, uri.replace("/", "\\/"), qr]
    assert_no_secret(result.artifacts, values)
    assert {s["kind"] for s in result.record["secrets"]} == {"mfa-seed"}


def test_run_that_died_before_enable_is_completed_without_orphan(
    box: Sandbox, user: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBOOK_FAULT_AT_WRITE", "2")  # dies at EnableMFADevice
    died = run(tmp_path, user)
    assert died.exit_code == 1 and serial(user) in unassigned(box)
    monkeypatch.delenv("RUNBOOK_FAULT_AT_WRITE")
    result = run(tmp_path, user)
    assert result.exit_code == 0, result.message
    assert [r["resource"] for r in result.record["repairs"]] == [serial(user)]
    assert user_devices(box, user) == [serial(user)] and unassigned(box) == []


def test_run_that_died_after_storing_the_seed_is_finished_with_that_seed(
    box: Sandbox, user: str, tmp_path: Path, secrets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = {"seed_destination": "file", "secrets_dir": str(secrets_dir)}
    monkeypatch.setenv("RUNBOOK_FAULT_AT_WRITE", "2")
    assert run(tmp_path, user, **params).exit_code == 1
    monkeypatch.delenv("RUNBOOK_FAULT_AT_WRITE")
    result = run(tmp_path, user, **params)
    assert result.exit_code == 0, result.message
    assert "iam:CreateVirtualMFADevice" not in result.record["calls"]
    assert user_devices(box, user) == [serial(user)] and unassigned(box) == []
