"""S0's CIS audit on the sandbox: each FAIL state built on purpose, then each PASS state.

One account (reset once) holds every failing state at the same time; the same account, put
right, holds every passing one. The notebook's own cells run in this process, with
``cis_version`` 4.0.1 (the IDs below are v4.0.1's; ``test_cis_versions.py`` runs every version).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.aws import ADMIN_POLICY_ARN, client, reset_sandbox
from support.inprocess import InProcessRun, run_in_process

STAR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
NARROW = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
}
SUPPORT = "arn:aws:iam::aws:policy/AWSSupportAccess"
CLOUDSHELL = "arn:aws:iam::aws:policy/AWSCloudShellFullAccess"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
)


#: the version whose IDs these tests name
V4 = {"cis_version": "4.0.1"}


def statuses(run: InProcessRun) -> dict[str, str]:
    return {f["control"]: f["status"] for f in run.record["findings"]}


def build_failing_account(iam: Any) -> None:
    """A console user without MFA whose two keys were never used, a user with its own policies,
    a customer policy allowing *:*, CloudShell full access, a second admin group."""
    iam.create_user(UserName="carol")
    iam.create_login_profile(UserName="carol", Password="Initial-Passw0rd!")
    iam.create_access_key(UserName="carol")
    iam.create_access_key(UserName="carol")
    iam.attach_user_policy(UserName="carol", PolicyArn=CLOUDSHELL)
    iam.put_user_policy(UserName="carol", PolicyName="own", PolicyDocument=json.dumps(NARROW))
    iam.create_policy(PolicyName="everything", PolicyDocument=json.dumps(STAR))
    iam.create_group(GroupName="Ops")
    iam.attach_group_policy(GroupName="Ops", PolicyArn=ADMIN_POLICY_ARN)


def put_account_right(iam: Any) -> None:
    """Undo every failing state; add the password policy, a support role, MFA for carol."""
    for key in iam.list_access_keys(UserName="carol")["AccessKeyMetadata"]:
        iam.delete_access_key(UserName="carol", AccessKeyId=key["AccessKeyId"])
    iam.detach_user_policy(UserName="carol", PolicyArn=CLOUDSHELL)
    iam.delete_user_policy(UserName="carol", PolicyName="own")
    arn = next(p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"])
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(NARROW), SetAsDefault=True)
    iam.detach_group_policy(GroupName="Ops", PolicyArn=ADMIN_POLICY_ARN)
    iam.create_group(GroupName="Administrators")
    iam.attach_group_policy(GroupName="Administrators", PolicyArn=ADMIN_POLICY_ARN)
    iam.add_user_to_group(GroupName="Administrators", UserName="carol")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="carol")["VirtualMFADevice"]
    iam.enable_mfa_device(
        UserName="carol",
        SerialNumber=serial["SerialNumber"],
        AuthenticationCode1="123456",  # moto accepts any codes (FACTS.md)
        AuthenticationCode2="654321",
    )
    iam.update_account_password_policy(MinimumPasswordLength=14, PasswordReusePrevention=24)
    iam.create_role(RoleName="support", AssumeRolePolicyDocument=TRUST)
    iam.attach_role_policy(RoleName="support", PolicyArn=SUPPORT)


@pytest.fixture(scope="module")
def audits() -> tuple[InProcessRun, InProcessRun]:
    reset_sandbox()
    iam = client("iam")
    build_failing_account(iam)
    failing = run_in_process("00", V4)
    put_account_right(iam)
    passing = run_in_process("00", V4)
    return failing, passing


def test_each_failing_state_fails_its_control(audits: tuple[InProcessRun, InProcessRun]) -> None:
    failing, _ = audits
    found = {f["control"]: f for f in failing.record["findings"]}

    assert failing.exit_code == 0, failing.message
    for control in ("1.8", "1.9", "1.10", "1.11", "1.13", "1.15", "1.16", "1.17", "1.22"):
        assert found[control]["status"] == "FAIL", (control, found[control])
    assert found["S0-admins"]["status"] == "FAIL"  # carol holds nothing; Ops has no members
    assert found["1.10"]["evidence"] == "carol has a console password and no MFA"
    assert found["1.13"]["evidence"] == "carol has 2 active keys"
    assert "attached AWSCloudShellFullAccess, inline own" in found["1.15"]["evidence"]
    assert found["1.16"]["evidence"] == "allows everything: everything"
    assert found["1.22"]["evidence"] == "attached to carol"
    assert found["1.8"]["advice"] == "Run 04_set_password_policy."
    # AdministratorAccess on a group that is not the procedure's: not accepted
    assert (found["S0-admin-group"]["status"], found["S0-admin-group"]["accepted"]) == ("FAIL", "")
    assert failing.record["writes"] == 0


def test_each_passing_state_passes_its_control(audits: tuple[InProcessRun, InProcessRun]) -> None:
    _, passing = audits
    found = statuses(passing)

    for control in ("1.8", "1.9", "1.10", "1.11", "1.12", "1.13", "1.14", "1.15", "1.16"):
        assert found[control] == "PASS", control
    assert (found["1.17"], found["1.22"], found["S0-admins"]) == ("PASS", "PASS", "PASS")


def test_the_procedures_admin_group_is_an_accepted_finding(
    audits: tuple[InProcessRun, InProcessRun],
) -> None:
    _, passing = audits
    group = next(f for f in passing.record["findings"] if f["control"] == "S0-admin-group")

    assert group["status"] == "FAIL"
    assert group["accepted"].startswith("the procedure (S1) gives this group AdministratorAccess")
    assert "ACCEPTED" in passing.shown("report")
    assert passing.shown("report").startswith("IAM audit of account 123456789012")


def test_root_controls_stay_not_known_on_the_sandbox(
    audits: tuple[InProcessRun, InProcessRun],
) -> None:
    for run in audits:
        found = {f["control"]: f for f in run.record["findings"]}
        for control in ("1.4", "1.5", "1.6", "1.7"):
            assert found[control]["status"] == "NOT_KNOWN"
        assert "no <root_account> row" in found["1.5"]["evidence"]


def test_bad_threshold_stops_before_any_aws_call() -> None:
    run = run_in_process("00", {"unused_days": 0})

    assert run.exit_code == 2
    assert run.message.startswith("BadInput: unused_days 0 is not a threshold the audit can use")
    assert "1-3650 (default 45)" in run.message
    assert run.record.get("findings", []) == []
