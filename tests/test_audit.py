"""S0's root-hygiene report: on the sandbox (no root row in moto) and on real AWS (Stubber)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from runbook_lib import RunContext, VerifyFailed, preflight
from runbook_lib.core.record import RunRecord
from runbook_lib.core.sandbox import Sandbox
from runbook_lib.core.target import Connection, TargetSpec
from runbook_lib.root_usage.checks import (
    ADMIN_POLICY_ARN,
    FAIL,
    PASS,
    UNKNOWN,
    WARN,
    Finding,
    RootReport,
    credential_report,
    root_hygiene,
    verify_report,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
ACCOUNT = "111122223333"
COLUMNS = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)


def statuses(report: RootReport) -> dict[str, str]:
    return {f.check: f.status for f in report.findings}


# --- the sandbox: moto has no root row -------------------------------------------------------


def make_administrator(sandbox: Sandbox, user: str, group: str) -> None:
    iam = boto3.client("iam", endpoint_url=sandbox.url)
    iam.create_group(GroupName=group)
    iam.attach_group_policy(GroupName=group, PolicyArn=ADMIN_POLICY_ARN)
    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=user)


def test_sandbox_report_fails_without_administrators_then_passes_with_one(
    ctx: RunContext, sandbox: Sandbox
) -> None:
    before = root_hygiene(ctx, now=NOW)
    make_administrator(sandbox, "Administrator", "Admins")
    after = root_hygiene(ctx, now=NOW)

    assert statuses(before) == {
        "caller": PASS,
        "root MFA": UNKNOWN,  # moto has no <root_account> row: never an invented pass
        "root access keys": UNKNOWN,
        "root last used": UNKNOWN,
        "IAM administrators": FAIL,
        "console users without MFA": PASS,
    }
    assert "Run 01_create_admin_user" in repr(before)
    admins = next(f for f in after.findings if f.check == "IAM administrators")
    assert (admins.status, admins.detail) == (PASS, "1: Administrator")
    assert after.failed == []
    assert ctx.record.writes == 0  # S0 only reads


def test_console_user_without_mfa_is_a_warning(session_sandbox: Sandbox) -> None:
    user = f"console-{secrets.token_hex(3)}"  # no reset needed: a user of its own
    make_administrator(session_sandbox, user, f"admins-{user}")
    iam = boto3.client("iam", endpoint_url=session_sandbox.url)
    iam.create_login_profile(UserName=user, Password="Initial-Passw0rd!")

    report = root_hygiene(preflight("test"), now=NOW)

    no_mfa = next(f for f in report.findings if f.check == "console users without MFA")
    assert no_mfa.status == WARN
    assert user in no_mfa.detail.split(", ")
    assert "03_enable_virtual_mfa" in repr(report)


def test_verify_fails_on_findings_only_when_asked() -> None:
    checks = ["caller", "root MFA", "root access keys", "root last used"]
    findings = [Finding(name, UNKNOWN if name.startswith("root") else PASS, "") for name in checks]
    findings += [
        Finding("IAM administrators", FAIL, "no IAM user holds AdministratorAccess"),
        Finding("console users without MFA", PASS, "none"),
    ]
    report = RootReport(ACCOUNT, tuple(findings))

    assert verify_report(report) == "Report complete: 6 checks, 1 failed."
    with pytest.raises(VerifyFailed, match="Root hygiene failed: IAM administrators"):
        verify_report(report, fail_on_findings=True)


def test_report_missing_a_check_fails_verify() -> None:
    report = RootReport(ACCOUNT, (Finding("caller", PASS, "not root"),))

    with pytest.raises(
        VerifyFailed, match="lacks IAM administrators, console users without MFA, root MFA"
    ):
        verify_report(report)


# --- real AWS, through botocore's Stubber -----------------------------------------------------


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
    return ctx


def stub_account(
    stub: Stubber, rows: list[str], summary: dict[str, int], admins: list[str]
) -> None:
    stub.add_response("generate_credential_report", {"State": "COMPLETE"})
    content = "\n".join([COLUMNS, *rows]).encode()
    stub.add_response(
        "get_credential_report",
        {"Content": content, "ReportFormat": "text/csv", "GeneratedTime": NOW},
        {},
    )
    stub.add_response("get_account_summary", {"SummaryMap": summary}, {})
    stub.add_response(
        "list_entities_for_policy",
        {"PolicyGroups": [{"GroupName": "Admins", "GroupId": "AGPAEXAMPLE00000"}]},
        {"PolicyArn": ADMIN_POLICY_ARN},
    )
    users = [
        {
            "Path": "/",
            "UserName": name,
            "UserId": f"AIDA{name.upper():0<16}",
            "Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
            "CreateDate": NOW,
        }
        for name in admins
    ]
    group = {
        "Path": "/",
        "GroupName": "Admins",
        "GroupId": "AGPAEXAMPLE00000",
        "Arn": f"arn:aws:iam::{ACCOUNT}:group/Admins",
        "CreateDate": NOW,
    }
    stub.add_response("get_group", {"Group": group, "Users": users}, {"GroupName": "Admins"})


def test_root_without_mfa_with_an_active_key_used_recently_fails_fails_warns(
    aws: tuple[Any, Stubber],
) -> None:
    iam, stub = aws
    row = root_row(mfa=False, key_active=True, last_used=NOW - timedelta(days=3))
    stub_account(stub, [row], {"AccountMFAEnabled": 0}, ["Administrator"])

    report = root_hygiene(aws_context(iam), now=NOW)

    assert statuses(report) == {
        "caller": PASS,
        "root MFA": FAIL,
        "root access keys": FAIL,
        "root last used": WARN,
        "IAM administrators": PASS,
        "console users without MFA": PASS,
    }
    last_used = next(f for f in report.findings if f.check == "root last used")
    assert last_used.detail == "2026-05-29"


def test_root_with_mfa_no_keys_and_long_unused_passes(aws: tuple[Any, Stubber]) -> None:
    iam, stub = aws
    row = root_row(mfa=True, key_active=False, last_used=NOW - timedelta(days=200))
    stub_account(stub, [row], {}, ["Administrator", "BreakGlass"])

    report = root_hygiene(aws_context(iam), now=NOW)

    assert report.failed == []
    assert all(f.status == PASS for f in report.findings)
    admins = next(f for f in report.findings if f.check == "IAM administrators")
    assert admins.detail == "2: Administrator, BreakGlass"


def test_root_never_signed_in_is_reported_as_never(aws: tuple[Any, Stubber]) -> None:
    iam, stub = aws
    stub_account(stub, [root_row(mfa=True, key_active=False, last_used=None)], {}, ["A"])

    report = root_hygiene(aws_context(iam), now=NOW)

    last_used = next(f for f in report.findings if f.check == "root last used")
    assert (last_used.status, last_used.detail) == (PASS, "never")


def test_account_summary_is_trusted_on_a_profile_target(aws: tuple[Any, Stubber]) -> None:
    iam, stub = aws
    summary = {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 1}
    stub_account(stub, [], summary, ["Administrator"])

    report = root_hygiene(aws_context(iam, "profile"), now=NOW)

    found = statuses(report)
    assert (found["root MFA"], found["root access keys"]) == (PASS, FAIL)
    assert found["root last used"] == UNKNOWN


def test_account_summary_is_not_trusted_on_an_endpoint_target(aws: tuple[Any, Stubber]) -> None:
    iam, stub = aws
    summary = {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0}  # moto's hard-coded kind
    stub_account(stub, [], summary, ["Administrator"])

    report = root_hygiene(aws_context(iam, "endpoint"), now=NOW)

    found = statuses(report)
    assert (found["root MFA"], found["root access keys"]) == (UNKNOWN, UNKNOWN)


def test_root_caller_is_itself_a_failed_finding(aws: tuple[Any, Stubber]) -> None:
    iam, stub = aws
    stub_account(stub, [root_row(mfa=True, key_active=False, last_used=NOW)], {}, ["A"])
    ctx = aws_context(iam)
    ctx.is_root = True

    report = root_hygiene(ctx, now=NOW)

    assert [f.check for f in report.failed] == ["caller"]


def test_credential_report_is_awaited_with_growing_pauses(aws: tuple[Any, Stubber]) -> None:
    iam, stub = aws
    for state in ("STARTED", "INPROGRESS", "COMPLETE"):
        stub.add_response("generate_credential_report", {"State": state})
    content = "\n".join([COLUMNS, root_row(mfa=True, key_active=False, last_used=None)])
    stub.add_response("get_credential_report", {"Content": content.encode()})
    pauses: list[float] = []

    rows = credential_report(aws_context(iam), sleep=pauses.append)

    assert pauses == [0.1, 0.2]
    assert [r["user"] for r in rows] == ["<root_account>"]


def test_credential_report_that_never_finishes_fails_with_advice(
    aws: tuple[Any, Stubber],
) -> None:
    iam, stub = aws
    for _ in range(3):  # 0 s, 0.1 s, 0.3 s waited: the third answer ends it
        stub.add_response("generate_credential_report", {"State": "INPROGRESS"})

    with pytest.raises(VerifyFailed, match="not ready after 0 s: re-run later"):
        credential_report(aws_context(iam), sleep=lambda _: None, timeout=0.3)
