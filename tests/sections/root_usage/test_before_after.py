"""The audit's before/after on a fresh sandbox: S0 as found, the whole procedure (with 04), then
S0 again with ``--compare``. Real ``runbook`` processes (kernels), run once for the module.

As found, the sandbox holds one thing done by hand: an ``Administrator`` with a console password
and no MFA (an account someone started to set up). The procedure adopts that user (S1), gives
it a key (S2) and MFA (S3), and sets the password policy (04): 2.8, 2.9 and 2.10 (CIS v7.0.0,
the default; v4.0.1's 1.8, 1.9, 1.10) go FAIL -> PASS; the root controls stay NOT_KNOWN on the
sandbox (no root row), 2.15 stays FAIL (the procedure makes no support role), and what the
procedure grants on purpose is ACCEPTED.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.aws import client, reset_sandbox

ROOT = Path(__file__).resolve().parents[3]
RUNBOOK = Path(sys.executable).parent / "runbook"
SANDBOX_YAML = ROOT / "parameters" / "sandbox.yaml"
S0 = "00_check_root_usage"


def runbook(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RUNBOOK), *args], capture_output=True, text=True, timeout=600, check=False, cwd=ROOT
    )


@pytest.fixture(scope="module")
def before_after(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    reset_sandbox()
    iam = client("iam")
    iam.create_user(UserName="Administrator")  # set up by hand: console password, no MFA
    iam.create_login_profile(UserName="Administrator", Password="Hand-made-Passw0rd!")
    first, second = tmp_path_factory.mktemp("all"), tmp_path_factory.mktemp("again")
    secrets = tmp_path_factory.mktemp("secrets")  # its own: never meets another test's files
    procedure = runbook(
        "run", "--all", "-f", str(SANDBOX_YAML), "-p", "secrets_dir", str(secrets),
        "--output-dir", str(first),
    )  # fmt: skip
    (before_dir,) = [d for d in first.iterdir() if f"-{S0}-" in d.name]
    again = runbook(
        "run", "00", "--compare", str(before_dir), "-f", str(SANDBOX_YAML),
        "--output-dir", str(second),
    )  # fmt: skip
    (after_dir,) = list(second.iterdir())
    return {
        "procedure": procedure,
        "again": again,
        "before": json.loads((before_dir / "run.json").read_text("utf-8")),
        "after": json.loads((after_dir / "run.json").read_text("utf-8")),
        "csv": (after_dir / "findings.csv").read_text("utf-8"),
    }


def status(record: object, control: str) -> tuple[str, str]:
    assert isinstance(record, dict)
    found = next(f for f in record["findings"] if f["control"] == control)
    return found["status"], found["accepted"]


def test_the_procedure_runs_and_the_audit_compares(before_after: dict[str, object]) -> None:
    procedure, again = before_after["procedure"], before_after["again"]
    assert isinstance(procedure, subprocess.CompletedProcess)
    assert isinstance(again, subprocess.CompletedProcess)

    assert procedure.returncode == 0, procedure.stderr
    assert again.returncode == 0, again.stderr
    assert "compared with" in again.stdout
    # the same sandbox (the session's, as a shell pointed at `runbook sandbox`), both recorded
    before, after = before_after["before"], before_after["after"]
    assert isinstance(before, dict) and isinstance(after, dict)
    assert before["sandbox_instance"].startswith("sbx-")
    assert before["sandbox_instance"] == after["sandbox_instance"]


@pytest.mark.parametrize("control", ["2.8", "2.9", "2.10"])
def test_what_the_procedure_fixes_goes_fail_to_pass(
    before_after: dict[str, object], control: str
) -> None:
    again = before_after["again"]
    assert isinstance(again, subprocess.CompletedProcess)

    assert status(before_after["before"], control) == ("FAIL", "")
    assert status(before_after["after"], control) == ("PASS", "")
    assert f"{control} FAIL -> PASS" in again.stdout


def test_the_rest_keep_their_reason(before_after: dict[str, object]) -> None:
    again, after = before_after["again"], before_after["after"]
    assert isinstance(again, subprocess.CompletedProcess)

    for control in ("2.4", "2.5", "2.6", "2.7"):
        assert f"{control} NOT_KNOWN (unchanged)" in again.stdout
    assert "2.15 FAIL (unchanged)" in again.stdout
    assert "S0-admins FAIL -> PASS" in again.stdout
    assert "S0-admin-group PASS -> ACCEPTED" in again.stdout
    assert status(after, "S0-admin-group")[1].startswith("the procedure (S1)")
    assert "findings: " in again.stdout and " ACCEPTED" in again.stdout
    csv = str(before_after["csv"])
    assert (
        "2.8,password_min_length,7.0.0,Password policy requires at least 14 characters,PASS," in csv
    )
