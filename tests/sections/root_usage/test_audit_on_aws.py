"""S0 on real AWS, through botocore's Stubber: the root row, the account summary, root's
hardware MFA, the credential report's wait (on the fake clock), and a full audit's calls.

The sandbox side (no root row in moto: NOT_KNOWN) is in ``test_cis_sandbox.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from support.clock import FakeClock

from runbook_lib import RunContext, VerifyFailed
from runbook_lib.core.errors import FindingsFailed
from runbook_lib.core.record import RunRecord
from runbook_lib.core.target import Connection, TargetSpec
from runbook_lib.root_usage import show_audit, verify
from runbook_lib.root_usage.cis import account_controls
from runbook_lib.root_usage.request import AuditRequest
from runbook_lib.root_usage.result import AuditReport, CheckResult
from runbook_lib.root_usage.state import credential_report

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
#: these tests name v4.0.1's IDs (test_cis_versions.py: the same checks in every version)
V4 = AuditRequest(cis_version="4.0.1")
CONTROLS = account_controls("4.0.1")
ACCOUNT = "111122223333"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
COLUMNS = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)


def statuses(report: AuditReport) -> dict[str, str]:
    return {r.control: r.shown_status for r in report.results}


def root_row(*, mfa: bool, key_active: bool, last_used: datetime | None) -> str:
    used = last_used.isoformat() if last_used else "no_information"
    return (
        f"<root_account>,arn:aws:iam::{ACCOUNT}:root,2020-01-01T00:00:00+00:00,not_supported,"
        f"{used},not_supported,not_supported,{str(mfa).lower()},{str(key_active).lower()},"
        "2021-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
    )


@pytest.fixture
def aws() -> Iterator[tuple[Any, Stubber]]:
    """An IAM client that never leaves the process: every answer is stubbed."""
    session = boto3.Session(
        aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="stub", region_name="us-east-1"
    )
    iam = session.client("iam", config=Config(retries={"mode": "standard"}))
    with Stubber(iam) as stub:
        yield iam, stub
        stub.assert_no_pending_responses()


def aws_context(iam: Any, target: str = "profile") -> RunContext:
    spec = TargetSpec(target, endpoint_url="https://iam.example" if target == "endpoint" else "")
    ctx = RunContext(
        spec=spec,
        connection=Connection(boto3.Session(), None, Config()),
        account_id=ACCOUNT,
        caller_arn=f"arn:aws:iam::{ACCOUNT}:user/Administrator",
        is_root=False,
        record=RunRecord(notebook="00_check_root_usage"),
    )
    ctx._clients["iam"] = iam
    # Organizations and Identity Center (central_identity): an account in no Organization
    for service, operation, error in (
        ("organizations", "describe_organization", "AWSOrganizationsNotInUseException"),
        ("sso-admin", "list_instances", ""),
    ):
        other = boto3.Session(
            aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="stub", region_name="us-east-1"
        ).client(service)
        stub = Stubber(other)
        if error:
            stub.add_client_error(operation, error, http_status_code=400)
        else:
            stub.add_response(operation, {"Instances": []}, {})
        stub.activate()
        ctx._clients[service] = other
    return ctx


def admin_details() -> dict[str, Any]:
    """Administrator in Administrators (AdministratorAccess): the procedure's end state."""
    return {
        "UserDetailList": [
            {
                "UserName": "Administrator",
                "Arn": f"arn:aws:iam::{ACCOUNT}:user/Administrator",
                "GroupList": ["Administrators"],
                "AttachedManagedPolicies": [],
                "UserPolicyList": [],
            }
        ],
        "GroupDetailList": [
            {
                "GroupName": "Administrators",
                "Arn": f"arn:aws:iam::{ACCOUNT}:group/Administrators",
                "AttachedManagedPolicies": [
                    {"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN}
                ],
            }
        ],
        "RoleDetailList": [],
        "Policies": [],
        "IsTruncated": False,
    }


def stub_account(
    stub: Stubber,
    rows: list[str],
    summary: dict[str, int],
    *,
    details: dict[str, Any] | None = None,
    policy: dict[str, Any] | None = None,
    mfa_serials: tuple[str, ...] = (),
) -> None:
    """Every answer of one audit, in the order the audit asks."""
    stub.add_response("generate_credential_report", {"State": "COMPLETE"})
    content = "\n".join([COLUMNS, *rows]).encode()
    stub.add_response("get_credential_report", {"Content": content, "GeneratedTime": NOW}, {})
    stub.add_response("get_account_summary", {"SummaryMap": summary}, {})
    stub.add_response(
        "get_account_authorization_details",
        details or admin_details(),
        {"Filter": ["User", "Role", "Group", "LocalManagedPolicy"]},
    )
    if policy is None:
        stub.add_client_error("get_account_password_policy", "NoSuchEntity", http_status_code=404)
    else:
        stub.add_response("get_account_password_policy", {"PasswordPolicy": policy}, {})
    devices = [{"SerialNumber": s} for s in mfa_serials]
    stub.add_response(
        "list_virtual_mfa_devices",
        {"VirtualMFADevices": devices, "IsTruncated": False},
        {"AssignmentStatus": "Assigned"},
    )


ROOT_VIRTUAL = f"arn:aws:iam::{ACCOUNT}:mfa/root-account-mfa-device"


def test_root_without_mfa_with_an_active_key_used_recently_fails_1_4_to_1_7(
    aws: tuple[Any, Stubber],
) -> None:
    iam, stub = aws
    row = root_row(mfa=False, key_active=True, last_used=NOW - timedelta(days=3))
    stub_account(stub, [row], {"AccountMFAEnabled": 0})

    report = show_audit(aws_context(iam), V4, now=NOW)

    found = statuses(report)
    assert [found[c] for c in ("1.4", "1.5", "1.6", "1.7")] == ["FAIL"] * 4
    assert report.result("1.7").evidence == "root last used 2026-05-29"
    assert report.result("1.4").resource == f"arn:aws:iam::{ACCOUNT}:root"
    assert found["S0-admins"] == "PASS"


def test_root_with_hardware_mfa_no_keys_and_long_unused_passes(aws: tuple[Any, Stubber]) -> None:
    iam, stub = aws
    row = root_row(mfa=True, key_active=False, last_used=NOW - timedelta(days=200))
    stub_account(stub, [row], {}, mfa_serials=(f"arn:aws:iam::{ACCOUNT}:mfa/alice",))

    report = show_audit(aws_context(iam), V4, now=NOW)

    found = statuses(report)
    assert [found[c] for c in ("1.4", "1.5", "1.6", "1.7")] == ["PASS"] * 4
    assert report.result("1.7").evidence == "root last used 2025-11-13"


def test_root_with_a_virtual_mfa_device_fails_1_6_only(aws: tuple[Any, Stubber]) -> None:
    iam, stub = aws
    stub_account(
        stub,
        [root_row(mfa=True, key_active=False, last_used=None)],
        {},
        mfa_serials=(ROOT_VIRTUAL,),
    )

    report = show_audit(aws_context(iam), V4, now=NOW)

    assert (statuses(report)["1.5"], statuses(report)["1.6"]) == ("PASS", "FAIL")
    assert report.result("1.6").evidence == "root MFA is a virtual device (root-account-mfa-device)"
    assert report.result("1.7").evidence == "root never used"


def test_account_summary_is_trusted_on_a_profile_target(aws: tuple[Any, Stubber]) -> None:
    iam, stub = aws
    stub_account(stub, [], {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 1})

    report = show_audit(aws_context(iam, "profile"), V4, now=NOW)

    found = statuses(report)
    assert (found["1.5"], found["1.4"], found["1.6"]) == ("PASS", "FAIL", "PASS")
    assert found["1.7"] == "NOT_KNOWN"


def test_account_summary_is_not_trusted_on_an_endpoint_target(aws: tuple[Any, Stubber]) -> None:
    iam, stub = aws
    summary = {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0}  # moto's hard-coded kind
    stub_account(stub, [], summary)

    report = show_audit(aws_context(iam, "endpoint"), V4, now=NOW)

    found = statuses(report)
    assert [found[c] for c in ("1.4", "1.5", "1.6", "1.7")] == ["NOT_KNOWN"] * 4


def test_root_caller_is_itself_a_failed_finding(aws: tuple[Any, Stubber]) -> None:
    iam, stub = aws
    stub_account(stub, [root_row(mfa=True, key_active=False, last_used=NOW)], {})
    ctx = aws_context(iam)
    ctx.is_root = True

    report = show_audit(ctx, V4, now=NOW)

    assert report.result("S0-caller").status == "FAIL"
    assert "1.7" in [r.control for r in report.failed]  # root used today


def test_a_full_audit_records_every_control_once_in_order(aws: tuple[Any, Stubber]) -> None:
    iam, stub = aws
    policy = {"MinimumPasswordLength": 14, "PasswordReusePrevention": 24}
    stub_account(stub, [root_row(mfa=True, key_active=False, last_used=None)], {}, policy=policy)
    ctx = aws_context(iam)

    report = show_audit(ctx, V4, now=NOW)

    assert tuple(f["control"] for f in ctx.record.findings) == CONTROLS
    assert statuses(report)["S0-admin-group"] == "ACCEPTED"
    assert (statuses(report)["1.8"], statuses(report)["1.9"]) == ("PASS", "PASS")
    assert [r.control for r in report.failed] == ["1.17"]  # no support role in the stub
    assert ctx.record.writes == 0


# --- the credential report's wait, on the fake clock ------------------------------------------


def test_credential_report_is_awaited_with_growing_pauses(
    aws: tuple[Any, Stubber], clock: FakeClock
) -> None:
    iam, stub = aws
    for state in ("STARTED", "INPROGRESS", "COMPLETE"):
        stub.add_response("generate_credential_report", {"State": state})
    content = "\n".join([COLUMNS, root_row(mfa=True, key_active=False, last_used=None)])
    stub.add_response("get_credential_report", {"Content": content.encode()})

    rows = credential_report(aws_context(iam), clock=clock, sleep=clock.sleep)

    assert clock.slept == [0.1, 0.2]
    assert [r["user"] for r in rows] == ["<root_account>"]


def test_credential_report_that_never_finishes_fails_with_advice(
    aws: tuple[Any, Stubber], clock: FakeClock
) -> None:
    iam, stub = aws
    for _ in range(3):  # 0 s, 0.1 s, 0.3 s waited: the third answer ends it (> 0.25 s)
        stub.add_response("generate_credential_report", {"State": "INPROGRESS"})

    with pytest.raises(VerifyFailed, match="not ready after 0 s: re-run later"):
        credential_report(aws_context(iam), clock=clock, sleep=clock.sleep, timeout=0.25)
    assert clock.slept == [0.1, 0.2]


# --- verify ----------------------------------------------------------------------------------


def whole_report(*extra: CheckResult) -> AuditReport:
    results = {c: CheckResult(c, c, "PASS", "arn", "fine", control=c) for c in CONTROLS}
    results.update({r.control: r for r in extra})
    return AuditReport(ACCOUNT, tuple(results.values()), "4.0.1")


def test_verify_fails_on_findings_only_when_asked_and_never_on_accepted_ones() -> None:
    failed = CheckResult(
        "password_min_length", "Password length", "FAIL", "arn", "no policy", "Run 04.",
        control="1.8",
    )  # fmt: skip
    accepted = CheckResult(
        "admin_group", "Admin group", "FAIL", "arn", "x", accepted="why", control="S0-admin-group"
    )
    report = whole_report(failed, accepted)

    assert verify(report) == "Report complete: 19 checks, 1 failed, 1 accepted."
    with pytest.raises(
        FindingsFailed, match=r"The IAM audit failed: 1.8 Password length \(Run 04\)"
    ):
        verify(report, fail_on_findings=True)
    assert verify(whole_report(accepted), fail_on_findings=True).endswith("0 failed, 1 accepted.")


def test_report_missing_a_control_fails_verify() -> None:
    only = CheckResult("caller_not_root", "c", "PASS", "arn", "not root", control="S0-caller")
    report = AuditReport(ACCOUNT, (only,), "4.0.1")

    with pytest.raises(VerifyFailed, match=r"The report lacks 1.4, 1.5, 1.6, 1.7, 1.8"):
        verify(report)
