"""S0's "people sign in centrally" control (CIS v7.0.0 2.19; v4.0.1 1.21, v5.0.0 1.20, v6.0.0
2.20): whether IAM Identity Center (or SAML federation) gives people access to the account.

On the sandbox (the notebook's own cells, in this process): an account outside any
Organization is NOT_APPLICABLE; in an Organization moto's pre-seeded instance that assigns
nothing is a FAIL pointing at runbook 06; after runbook 06 it is a PASS; no instance at all is a
FAIL naming the console step; a role federated through a SAML provider is a PASS.

On AWS (botocore's Stubber for Organizations and Identity Center): ListInstances refused, no
instance, a member account that sees no instance but holds Identity Center's reserved role, and
one that holds none.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from support.aws import ACCOUNT, REGION, client, reset_sandbox
from support.inprocess import InProcessRun, run_in_process

from runbook_lib.core.context import RunContext
from runbook_lib.core.record import RunRecord
from runbook_lib.core.target import Connection, TargetSpec
from runbook_lib.password_policy.state import PasswordPolicy
from runbook_lib.root_usage.central_identity import central_identity
from runbook_lib.root_usage.state import AccountFacts, gather_identity_center

CHECK = "central_identity"
IDC_PARAMS = {
    "user_name": "alice",
    "email": "alice@example.com",
    "given_name": "Alice",
    "family_name": "Lee",
    "assign_to": "caller",
}


def finding(run: InProcessRun) -> dict[str, str]:
    assert run.exit_code == 0, run.message
    (found,) = [f for f in run.record["findings"] if f["check"] == CHECK]
    return found


@pytest.fixture
def no_instance() -> Iterator[None]:
    """The sandbox account without its pre-seeded Identity Center instance ("not enabled")."""
    from moto.ssoadmin.models import ssoadmin_backends

    backend = ssoadmin_backends[ACCOUNT][REGION]
    saved = list(backend.instances)
    backend.instances.clear()
    try:
        yield
    finally:
        backend.instances.extend(saved)


# --- the sandbox ------------------------------------------------------------------------------


def test_an_account_outside_any_organization_is_not_applicable() -> None:
    reset_sandbox()

    found = finding(run_in_process("00", {}))

    assert (found["control"], found["status"]) == ("2.19", "NOT_APPLICABLE")
    assert found["evidence"].startswith("no AWS Organization")
    assert "S1's IAM administrator is the set-up here" in found["evidence"]


@pytest.fixture(scope="module")
def organization() -> Iterator[list[str]]:
    """The sandbox as an Organization with one member (reset before and after the module)."""
    box = reset_sandbox()
    members = box.ensure_members(1)
    yield members
    reset_sandbox()


def test_an_instance_that_assigns_nothing_fails_and_points_at_runbook_06(
    organization: list[str],
) -> None:
    run = run_in_process("00", {})
    found = finding(run)

    assert (found["control"], found["status"]) == ("2.19", "FAIL")
    assert found["evidence"] == "IAM Identity Center is enabled but assigns nothing in this account"
    assert "runbook run 06 -p user_name NAME" in found["advice"]
    assert "→ Give people access through IAM Identity Center: runbook run 06" in run.shown("report")
    assert run.record["writes"] == 0


def test_no_instance_fails_naming_the_console_step_then_06(
    organization: list[str], no_instance: None
) -> None:
    found = finding(run_in_process("00", {"cis_version": "4.0.1"}))

    assert (found["control"], found["status"]) == ("1.21", "FAIL")
    assert found["evidence"] == f"IAM Identity Center is not enabled in {REGION} (no instance)"
    assert found["advice"].startswith("Enable IAM Identity Center in the Organization's management")
    assert "costs nothing" in found["advice"] and "runbook run 06" in found["advice"]


def test_after_runbook_06_the_control_passes(organization: list[str]) -> None:
    six = run_in_process("06", IDC_PARAMS)
    assert six.exit_code == 3, six.message  # the two manual steps are still pending
    sso = client("sso-admin")  # a second client: the assignment is really there
    arn = sso.list_instances()["Instances"][0]["InstanceArn"]
    (permission_set,) = sso.list_permission_sets(InstanceArn=arn)["PermissionSets"]
    assert sso.list_account_assignments(
        InstanceArn=arn, AccountId=ACCOUNT, PermissionSetArn=permission_set
    )["AccountAssignments"]

    found = finding(run_in_process("00", {"cis_version": "6.0.0"}))

    assert (found["control"], found["status"]) == ("2.20", "PASS")
    assert found["evidence"] == "IAM Identity Center assigns AdministratorAccess in this account"
    assert found["resource"] == arn


def test_a_role_federated_through_saml_passes_without_identity_center(
    organization: list[str], no_instance: None
) -> None:
    iam = client("iam")
    provider = iam.create_saml_provider(
        Name="corp-idp",
        SAMLMetadataDocument="<EntityDescriptor>" + "x" * 1000 + "</EntityDescriptor>",
    )["SAMLProviderArn"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithSAML",
            }
        ],
    }
    iam.create_role(RoleName="corp-admins", AssumeRolePolicyDocument=json.dumps(trust))
    try:
        found = finding(run_in_process("00", {}))
    finally:
        iam.delete_role(RoleName="corp-admins")
        iam.delete_saml_provider(SAMLProviderArn=provider)

    assert found["status"] == "PASS"
    assert found["evidence"] == "roles federated through a SAML provider: corp-admins"


# --- AWS, through botocore's Stubber ----------------------------------------------------------

MANAGEMENT, MEMBER = "111122223333", "444455556666"
INSTANCE = "arn:aws:sso:::instance/ssoins-1111222233334444"
PERMISSION_SET = f"arn:aws:sso:::permissionSet/ssoins-1111222233334444/ps-{'a' * 16}"
ORG_ARN = f"arn:aws:organizations::{MANAGEMENT}"
ORGANIZATION = {
    "Organization": {
        "Id": "o-exampleorgid",
        "Arn": f"{ORG_ARN}:organization/o-exampleorgid",
        "MasterAccountId": MANAGEMENT,
        "MasterAccountArn": f"{ORG_ARN}:account/o-exampleorgid/{MANAGEMENT}",
    }
}


@pytest.fixture
def stubs() -> Iterator[tuple[Stubber, Stubber]]:
    """Organizations and sso-admin clients whose every answer is stubbed (Organizations, then
    Identity Center)."""
    session = boto3.Session(
        aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="stub", region_name="eu-west-1"
    )
    config = Config(retries={"mode": "standard"})
    org, sso = (
        session.client("organizations", config=config),
        session.client("sso-admin", config=config),
    )
    with Stubber(org) as org_stub, Stubber(sso) as sso_stub:
        yield org_stub, sso_stub
        org_stub.assert_no_pending_responses()
        sso_stub.assert_no_pending_responses()


def aws_context(account: str, stubs: tuple[Stubber, Stubber]) -> RunContext:
    ctx = RunContext(
        spec=TargetSpec("profile", region="eu-west-1"),
        connection=Connection(boto3.Session(), None, Config()),
        account_id=account,
        caller_arn=f"arn:aws:iam::{account}:user/auditor",
        is_root=False,
        record=RunRecord(notebook="00_check_root_usage"),
    )
    org_stub, sso_stub = stubs
    ctx._clients["organizations"] = org_stub.client
    ctx._clients["sso-admin"] = sso_stub.client
    return ctx


def judged(ctx: RunContext, roles: list[dict[str, Any]] | None = None) -> Any:
    """The control's result for the stubbed answers and these IAM roles."""
    details: dict[str, list[dict[str, Any]]] = {
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": roles or [],
        "Policies": [],
    }
    facts = AccountFacts(
        [], details, PasswordPolicy.aws_default(), {}, False, True, gather_identity_center(ctx)
    )
    return central_identity(facts, f"arn:aws:iam::{ctx.account_id}:root")


def test_list_instances_refused_is_not_known_with_awss_code(
    stubs: tuple[Stubber, Stubber],
) -> None:
    org_stub, sso_stub = stubs
    org_stub.add_response("describe_organization", ORGANIZATION, {})
    sso_stub.add_client_error(
        "list_instances", "AccessDeniedException", "User is not authorized", http_status_code=400
    )

    result = judged(aws_context(MANAGEMENT, stubs))

    assert result.status == "NOT_KNOWN"
    assert result.evidence == "IAM Identity Center did not answer (AccessDeniedException)"
    assert "sso:ListInstances" in result.advice


def test_no_instance_in_the_management_account_fails_naming_the_region(
    stubs: tuple[Stubber, Stubber],
) -> None:
    org_stub, sso_stub = stubs
    org_stub.add_response("describe_organization", ORGANIZATION, {})
    sso_stub.add_response("list_instances", {"Instances": []}, {})

    result = judged(aws_context(MANAGEMENT, stubs))

    assert (result.status, result.evidence) == (
        "FAIL",
        "IAM Identity Center is not enabled in eu-west-1 (no instance)",
    )
    assert "runbook run 06" in result.advice


def test_an_assignment_in_this_account_passes_naming_the_permission_set(
    stubs: tuple[Stubber, Stubber],
) -> None:
    org_stub, sso_stub = stubs
    org_stub.add_response("describe_organization", ORGANIZATION, {})
    instance = {
        "InstanceArn": INSTANCE,
        "IdentityStoreId": "d-1234567890",
        "OwnerAccountId": MANAGEMENT,
        "Status": "ACTIVE",
    }
    sso_stub.add_response("list_instances", {"Instances": [instance]}, {})
    sso_stub.add_response(
        "list_permission_sets", {"PermissionSets": [PERMISSION_SET]}, {"InstanceArn": INSTANCE}
    )
    assignment = {
        "AccountId": MANAGEMENT,
        "PermissionSetArn": PERMISSION_SET,
        "PrincipalType": "GROUP",
        "PrincipalId": "g-1",
    }
    sso_stub.add_response(
        "list_account_assignments",
        {"AccountAssignments": [assignment]},
        {"InstanceArn": INSTANCE, "AccountId": MANAGEMENT, "PermissionSetArn": PERMISSION_SET},
    )
    sso_stub.add_response(
        "describe_permission_set",
        {"PermissionSet": {"Name": "AdministratorAccess", "PermissionSetArn": PERMISSION_SET}},
        {"InstanceArn": INSTANCE, "PermissionSetArn": PERMISSION_SET},
    )

    result = judged(aws_context(MANAGEMENT, stubs))

    assert (result.status, result.resource) == ("PASS", INSTANCE)
    assert result.evidence == "IAM Identity Center assigns AdministratorAccess in this account"


def test_a_member_with_identity_centers_reserved_role_passes(
    stubs: tuple[Stubber, Stubber],
) -> None:
    org_stub, sso_stub = stubs
    org_stub.add_response("describe_organization", ORGANIZATION, {})
    sso_stub.add_response("list_instances", {"Instances": []}, {})  # a member sees none
    name = "AWSReservedSSO_AdministratorAccess_0123456789abcdef"
    role = {
        "RoleName": name,
        "Path": "/aws-reserved/sso.amazonaws.com/eu-west-1/",
        "Arn": f"arn:aws:iam::{MEMBER}:role/aws-reserved/sso.amazonaws.com/eu-west-1/{name}",
        "AssumeRolePolicyDocument": "{}",
    }

    result = judged(aws_context(MEMBER, stubs), [role])

    assert (result.status, result.resource) == ("PASS", role["Arn"])
    assert result.evidence == (
        "IAM Identity Center permission sets provisioned here: AdministratorAccess"
    )


def test_a_member_without_it_fails_and_says_it_cannot_see_the_instance(
    stubs: tuple[Stubber, Stubber],
) -> None:
    org_stub, sso_stub = stubs
    org_stub.add_response("describe_organization", ORGANIZATION, {})
    sso_stub.add_response("list_instances", {"Instances": []}, {})

    result = judged(aws_context(MEMBER, stubs))

    assert result.status == "FAIL"
    assert "cannot see the Organization's instance" in result.evidence
    assert result.advice.startswith(
        f"From the management account: runbook run 06 -p assign_to {MEMBER}"
    )


def test_organizations_refused_is_not_taken_for_a_single_account(
    stubs: tuple[Stubber, Stubber],
) -> None:
    org_stub, sso_stub = stubs
    org_stub.add_client_error(
        "describe_organization", "AccessDeniedException", http_status_code=400
    )
    sso_stub.add_response("list_instances", {"Instances": []}, {})

    result = judged(aws_context(MANAGEMENT, stubs))

    assert result.status == "FAIL"  # not NOT_APPLICABLE: the account may well be in one
    assert "not enabled in eu-west-1" in result.evidence
