"""notebooks/03_enable_virtual_mfa.ipynb: headless runs on the sandbox.

The first run is the session's real ``runbook run --all`` process (``catalog.RUN_ALL``, seed to
a file), the pending manual step and the fault at the last write cached runner scenarios; the
re-run, plan mode, bad input and dead runs' repairs execute the notebook's cells in-process.
"""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from typing import Any

import pytest
from support.aws import ACCOUNT, serial
from support.catalog import ALL_USER, FAULT_AT_LAST_WRITE, PENDING, RUN_ALL
from support.inprocess import InProcessRun, run_in_process
from support.leak_scan import assert_no_secret
from support.scenarios import ScenarioCache, ScenarioRun

from runbook_lib.core import otpauth
from runbook_lib.testing.faults import FAULT_AT_WRITE_VAR

NOTEBOOK = "03"


def run(user: str, plan: bool = False, **params: Any) -> InProcessRun:
    return run_in_process(NOTEBOOK, {"user_name": user, **params}, plan=plan)


def user_devices(iam: Any, user: str) -> list[str]:
    return [d["SerialNumber"] for d in iam.list_mfa_devices(UserName=user)["MFADevices"]]


def unassigned(iam: Any) -> list[str]:
    devices = iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")
    return [d["SerialNumber"] for d in devices["VirtualMFADevices"]]


@pytest.fixture(scope="module")
def run_all(scenarios: ScenarioCache) -> ScenarioRun:
    return scenarios.run(RUN_ALL)


def test_first_run_enables_mfa_and_second_run_makes_no_writes(run_all: ScenarioRun) -> None:
    first = next(r for r in run_all.records if r["notebook"][:2] == "03")
    assert first["exit_code"] == 0, first["message"]
    assert first["writes"] == 4  # TagUser (S3 marker), Create, Enable, UntagUser
    assert [c["action"] for c in first["changes"]] == [
        "mark-S3-pending",
        "create-virtual-mfa-device",
        "enable-mfa-device",
        "clear-mfa-marker",
    ]
    assert run_all.after["users"][ALL_USER]["mfa"] == [serial(ALL_USER)]
    second = run_all.reruns["03"]
    assert second.exit_code == 0, second.message
    assert second.record["writes"] == 0 and second.record["changes"] == []


def test_plan_mode_makes_no_writes(iam: Any, user: str) -> None:
    result = run(user, plan=True)
    assert result.exit_code == 0, result.message
    assert result.record["writes"] == 0
    assert serial(user) not in unassigned(iam) and user_devices(iam, user) == []


def test_bad_input_exits_2_with_no_writes(user: str) -> None:
    result = run(user, device_name="no spaces allowed")
    assert result.exit_code == 2 and "device_name" in result.message
    assert result.record["writes"] == 0


def test_headless_real_account_without_seed_destination_is_pending_and_creates_nothing(
    scenarios: ScenarioCache,
) -> None:
    result = scenarios.run(PENDING["03"])
    assert result.exit_code == 3, result.message
    assert "scan the QR code" in result.message
    assert result.record["writes"] == 0
    assert serial("Pending03") not in [s for s, _ in result.after["virtual_mfa_devices"]]


def test_no_seed_qr_or_uri_in_any_artifact(run_all: ScenarioRun) -> None:
    seed_file = run_all.secrets_dir / f"{ALL_USER}_virtual_mfa.txt"
    assert stat.S_IMODE(seed_file.stat().st_mode) == 0o600
    fields = dict(line.split("=", 1) for line in seed_file.read_text().splitlines() if "=" in line)
    seed, uri = fields["seed"], fields["otpauth_uri"]
    assert uri == otpauth.key_uri(seed, ALL_USER, ACCOUNT)
    qr = base64.b64encode(otpauth.qr_png(uri)).decode()
    values = [seed, uri, uri.replace("/", "\\/"), qr]
    assert_no_secret(run_all.artifacts, values)
    record = next(r for r in run_all.records if r["notebook"][:2] == "03")
    assert {s["kind"] for s in record["secrets"]} == {"mfa-seed"}


def test_the_kernel_announces_the_seed_and_the_uri_to_the_runner(
    scenarios: ScenarioCache,
) -> None:
    result = scenarios.run(FAULT_AT_LAST_WRITE["03"])  # the seed is in its file by then
    assert result.secret_values is not None and len(result.secret_values) >= 2
    assert_no_secret(result.artifacts, result.secret_values)


def test_run_that_died_before_enable_is_completed_without_orphan(
    iam: Any, user: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAULT_AT_WRITE_VAR, "3")  # dies at EnableMFADevice (after TagUser, Create)
    died = run(user)
    assert died.exit_code == 1 and serial(user) in unassigned(iam)
    monkeypatch.delenv(FAULT_AT_WRITE_VAR)
    result = run(user)
    assert result.exit_code == 0, result.message
    assert [r["resource"] for r in result.record["repairs"]] == [serial(user)]
    assert user_devices(iam, user) == [serial(user)] and serial(user) not in unassigned(iam)


def test_run_that_died_after_storing_the_seed_is_finished_with_that_seed(
    iam: Any, user: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = {"seed_destination": "file", "secrets_dir": str(tmp_path / "secrets")}
    monkeypatch.setenv(FAULT_AT_WRITE_VAR, "3")  # EnableMFADevice
    assert run(user, **params).exit_code == 1
    monkeypatch.delenv(FAULT_AT_WRITE_VAR)
    result = run(user, **params)
    assert result.exit_code == 0, result.message
    assert "iam:CreateVirtualMFADevice" not in result.record["calls"]
    assert user_devices(iam, user) == [serial(user)] and serial(user) not in unassigned(iam)
