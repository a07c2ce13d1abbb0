"""S0 in every CIS AWS Foundations version: the control IDs the published benchmarks give S0's
checks, the same statuses whatever the version, a wrong version refused before any kernel,
``--compare`` across versions by check, and v7.0.0's 2.1.1 from an Organization run.

``PUBLISHED`` is written from the benchmarks' own tables (v4.0.1, v5.0.0, v6.0.0, v7.0.0; as
Prowler encodes them in ``prowler/compliance/aws/cis_{4.0,5.0,6.0,7.0}_aws.json``, with v5.0.0's
"no access keys at setup" at 1.10 where Prowler's file says 1.1), not from ``cis.CONTROLS``: the
table is what the library is checked against.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from support.aws import client, reset_sandbox
from support.inprocess import InProcessRun, run_in_process

from runbook_lib.interfaces.cli import main
from runbook_lib.root_usage import cis, org_posture
from runbook_lib.run.artifacts import write_record
from runbook_lib.run.summary import compare_lines

ROOT = Path(__file__).resolve().parents[3]

#: version -> S0's check -> the control ID the published benchmark gives it (None: not there)
PUBLISHED: dict[str, dict[str, str | None]] = {
    "4.0.1": {
        "root_access_keys": "1.4", "root_mfa": "1.5", "root_hardware_mfa": "1.6",
        "root_not_used": "1.7", "password_min_length": "1.8", "password_reuse": "1.9",
        "user_mfa": "1.10", "no_keys_at_setup": "1.11", "unused_credentials": "1.12",
        "one_active_key": "1.13", "key_rotation": "1.14", "permissions_via_groups": "1.15",
        "no_full_admin_policies": "1.16", "support_role": "1.17", "central_identity": "1.21",
        "no_cloudshell_full_access": "1.22", "centralized_root_access": None,
    },
    "5.0.0": {  # "security questions" (v4.0.1 1.3) dropped: one lower from there on
        "root_access_keys": "1.3", "root_mfa": "1.4", "root_hardware_mfa": "1.5",
        "root_not_used": "1.6", "password_min_length": "1.7", "password_reuse": "1.8",
        "user_mfa": "1.9", "no_keys_at_setup": "1.10", "unused_credentials": "1.11",
        "one_active_key": "1.12", "key_rotation": "1.13", "permissions_via_groups": "1.14",
        "no_full_admin_policies": "1.15", "support_role": "1.16", "central_identity": "1.20",
        "no_cloudshell_full_access": "1.21", "centralized_root_access": None,
    },
    "6.0.0": {  # IAM moved to section 2
        "root_access_keys": "2.3", "root_mfa": "2.4", "root_hardware_mfa": "2.5",
        "root_not_used": "2.6", "password_min_length": "2.7", "password_reuse": "2.8",
        "user_mfa": "2.9", "no_keys_at_setup": "2.10", "unused_credentials": "2.11",
        "one_active_key": "2.12", "key_rotation": "2.13", "permissions_via_groups": "2.14",
        "no_full_admin_policies": "2.15", "support_role": "2.16", "central_identity": "2.20",
        "no_cloudshell_full_access": "2.21", "centralized_root_access": None,
    },
    "7.0.0": {  # 2.1.1-2.1.6 Organizations; "setup keys" and "one active key" dropped
        "root_access_keys": "2.4", "root_mfa": "2.5", "root_hardware_mfa": "2.6",
        "root_not_used": "2.7", "password_min_length": "2.8", "password_reuse": "2.9",
        "user_mfa": "2.10", "no_keys_at_setup": None, "unused_credentials": "2.11",
        "one_active_key": None, "key_rotation": "2.12", "permissions_via_groups": "2.13",
        "no_full_admin_policies": "2.14", "support_role": "2.15", "central_identity": "2.19",
        "no_cloudshell_full_access": "2.20", "centralized_root_access": "2.1.1",
    },
}  # fmt: skip
PROCEDURE = {"caller_not_root": "S0-caller", "iam_administrator": "S0-admins",
             "admin_group": "S0-admin-group"}  # fmt: skip
ORG_ONLY = {"centralized_root_access"}


def build_failing_account(iam: Any) -> None:
    """A console user without MFA with two never-used keys and its own policy; no password
    policy: a FAIL in every version's password, MFA and key controls."""
    iam.create_user(UserName="bob")
    iam.create_login_profile(UserName="bob", Password="Initial-Passw0rd!")
    iam.create_access_key(UserName="bob")
    iam.create_access_key(UserName="bob")
    iam.put_user_policy(
        UserName="bob",
        PolicyName="own",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
        ),
    )  # fmt: skip


@pytest.fixture(scope="module")
def runs() -> dict[str, InProcessRun]:
    """S0 in each version on one failing account, then (``"after"``) v7.0.0 once a password
    policy is set."""
    reset_sandbox()
    iam = client("iam")
    build_failing_account(iam)
    found = {v: run_in_process("00", {"cis_version": v}) for v in cis.VERSIONS}
    iam.update_account_password_policy(MinimumPasswordLength=14, PasswordReusePrevention=24)
    found["after"] = run_in_process("00", {"cis_version": "7.0.0"})
    reset_sandbox()
    return found


def by_check(run: InProcessRun) -> dict[str, dict[str, str]]:
    return {f["check"]: f for f in run.record["findings"]}


@pytest.mark.parametrize("version", cis.VERSIONS)
def test_each_check_has_the_id_the_published_benchmark_gives_it(
    runs: dict[str, InProcessRun], version: str
) -> None:
    run = runs[version]
    expected = {c: i for c, i in PUBLISHED[version].items() if i and c not in ORG_ONLY}

    assert run.exit_code == 0, run.message
    found = {c: f["control"] for c, f in by_check(run).items()}
    assert found == expected | PROCEDURE
    assert {f["cis_version"] for f in run.record["findings"]} == {version}
    assert f"CIS AWS Foundations Benchmark v{version}" in run.shown("report")


def test_v7_reports_neither_setup_keys_nor_one_active_key(runs: dict[str, InProcessRun]) -> None:
    v6, v7 = by_check(runs["6.0.0"]), by_check(runs["7.0.0"])

    assert v6["one_active_key"]["status"] == "FAIL"  # bob has two active keys
    assert v6["no_keys_at_setup"]["status"] == "FAIL"  # never used
    assert "one_active_key" not in v7 and "no_keys_at_setup" not in v7
    assert len(v7) == len(v6) - 2


def test_statuses_do_not_change_with_the_version(runs: dict[str, InProcessRun]) -> None:
    newest = by_check(runs["7.0.0"])
    for version in cis.VERSIONS:
        found = by_check(runs[version])
        for check in set(found) & set(newest):
            mine, theirs = found[check], newest[check]
            assert (mine["status"], mine["evidence"], mine["accepted"]) == (
                theirs["status"],
                theirs["evidence"],
                theirs["accepted"],
            ), (version, check)
    assert newest["password_min_length"]["status"] == "FAIL"
    assert newest["user_mfa"]["status"] == "FAIL"


def test_the_library_table_is_the_published_one() -> None:
    for version in cis.VERSIONS:
        for check, control in PUBLISHED[version].items():
            assert cis.control(version, check) == control, (version, check)
    assert set(cis.CONTROLS) == set(PUBLISHED)


def test_the_mapping_page_shows_the_same_ids() -> None:
    text = (ROOT / "docs" / "cis-mapping.md").read_text("utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and cells[0] in PUBLISHED["4.0.1"]:
            rows[cells[0]] = dict(zip(cis.VERSIONS, cells[1:5], strict=True))
    assert set(rows) == set(PUBLISHED["4.0.1"])
    for check, ids in rows.items():
        for version, shown in ids.items():
            assert shown == (PUBLISHED[version][check] or "—"), (check, version)


# --- compare across versions ------------------------------------------------------------------


def test_compare_across_versions_matches_by_check(runs: dict[str, InProcessRun]) -> None:
    before, after = runs["4.0.1"].record, runs["after"].record

    lines = [line.strip() for line in compare_lines(before, after, "runs/v4")]

    assert "2.8 (4.0.1: 1.8) FAIL -> PASS" in lines
    assert "2.9 (4.0.1: 1.9) FAIL -> PASS" in lines
    assert "2.10 (4.0.1: 1.10) FAIL (unchanged)" in lines  # bob still has no MFA
    assert "S0-admins FAIL (unchanged)" in lines
    assert "1.13 FAIL -> (not checked)" in lines  # v7.0.0 has no "one active key"
    assert not any(re.match(r"1\.8 ", line) for line in lines)


def test_compare_within_a_version_keeps_the_plain_ids(runs: dict[str, InProcessRun]) -> None:
    lines = compare_lines(runs["7.0.0"].record, runs["after"].record, "runs/v7")

    assert "    2.8 FAIL -> PASS" in lines
    assert "    2.4 NOT_KNOWN (unchanged)" in lines


# --- the record's files -----------------------------------------------------------------------


def test_findings_csv_has_control_check_and_version(
    runs: dict[str, InProcessRun], tmp_path: Path
) -> None:
    write_record(tmp_path, runs["5.0.0"].record)

    with (tmp_path / "findings.csv").open(encoding="utf-8", newline="") as fh:
        rows = {r["check"]: r for r in csv.DictReader(fh)}
    assert (rows["no_keys_at_setup"]["control"], rows["no_keys_at_setup"]["cis_version"]) == (
        "1.10",
        "5.0.0",
    )
    assert rows["password_min_length"]["control"] == "1.7"


# --- a wrong version --------------------------------------------------------------------------


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("flag", [("--cis-version", "4.0.0"), ("-p", "cis_version", "8")])
def test_a_wrong_version_is_one_line_exit_2_before_any_kernel(
    flag: tuple[str, ...], tmp_path: Path
) -> None:
    code, out, err = run_cli("run", "00", *flag, "--output-dir", str(tmp_path / "runs"))

    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "is not a CIS AWS Foundations version S0 reports in" in err
    assert "give one of 4.0.1, 5.0.0, 6.0.0, 7.0.0 (default 7.0.0)" in err
    assert "▶" not in out  # no notebook started
    assert not (tmp_path / "runs").exists()


def test_the_notebook_itself_refuses_a_wrong_version_before_the_audit_reads() -> None:
    run = run_in_process("00", {"cis_version": "v7"})

    assert run.exit_code == 2
    assert run.message.startswith("BadInput: cis_version 'v7' is not a CIS AWS Foundations")
    assert run.record.get("findings", []) == []
    assert (run.record["reads"], run.record["writes"]) == (1, 0)  # preflight's caller only


def test_cis_version_belongs_to_the_audit(tmp_path: Path) -> None:
    code, _, err = run_cli("run", "04", "--cis-version", "7.0.0", "--output-dir", str(tmp_path))

    assert code == 2 and "cis_version" in err
    assert not list(tmp_path.iterdir())


# --- 2.1.1 centralized root access: the Organization's ----------------------------------------

ENABLED = {"status": "enabled", "features": ["RootCredentialsManagement", "RootSessions"]}
SESSIONS_ONLY = {"status": "partly enabled", "features": ["RootSessions"]}
OFF = {"status": "not enabled", "features": []}


@pytest.mark.parametrize(
    ("features", "status"),
    [(ENABLED, "PASS"), (SESSIONS_ONLY, "FAIL"), (OFF, "FAIL"),
     ({"status": org_posture.SANDBOX_FEATURES, "features": []}, "NOT_KNOWN")],
)  # fmt: skip
def test_centralized_root_access_is_2_1_1_in_v7_only(features: dict[str, Any], status: str) -> None:
    finding = org_posture.centralized_root_access(features, "7.0.0")

    assert finding is not None
    assert (finding["control"], finding["check"], finding["status"]) == (
        "2.1.1",
        "centralized_root_access",
        status,
    )
    for version in ("4.0.1", "5.0.0", "6.0.0"):
        assert org_posture.centralized_root_access(features, version) is None


def test_an_organization_run_reports_2_1_1_in_its_summary(tmp_path: Path) -> None:
    box = reset_sandbox()
    box.ensure_members(1)
    try:
        code, out, err = run_cli("run", "00", "--org", "--output-dir", str(tmp_path))
    finally:
        reset_sandbox()

    (folder,) = list(tmp_path.iterdir())
    data = json.loads((folder / "summary.json").read_text("utf-8"))
    (finding,) = data["root_access"]["findings"]
    assert (finding["control"], finding["status"], finding["cis_version"]) == (
        "2.1.1",
        "NOT_KNOWN",
        "7.0.0",
    )
    assert "2.1.1 NOT_KNOWN Centralized root access in AWS Organizations" in out
    assert code in (0, 4), err
