"""S6 on AWS's answers (botocore Stubber): what the sandbox never does.

moto's CreateAccountAssignment always answers SUCCEEDED at once, accepts duplicate
permission-set names and never refuses a target account (FACTS.md). Here Identity Center's own
response shapes drive the asynchronous assignment (IN_PROGRESS then SUCCEEDED, IN_PROGRESS then
FAILED with a FailureReason), a ConflictException from a run that lost a race, no instance, and
an account that refuses while the others go on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from runbook_lib import BadInput, RunContext, VerifyFailed, preflight
from runbook_lib.identity_center import apply, check_request, find_instance, verify
from runbook_lib.identity_center.apply import Ensured, GroupOutcome
from runbook_lib.identity_center.state import Instance, Setting

MGMT, DEV, PROD = "111122223333", "444455556666", "777788889999"
INSTANCE = "arn:aws:sso:::instance/ssoins-1111111111111111"
STORE = "d-1234567890"
PS_ARN = f"{INSTANCE}/ps-2222222222222222"
GROUP = "9a6f0a1c-0000-0000-0000-000000000001"
USER = "9a6f0a1c-0000-0000-0000-000000000002"
USER_ARN = f"arn:aws:identitystore::{MGMT}:identitystore/{STORE}/user/{USER}"
GROUP_ARN = f"arn:aws:identitystore::{MGMT}:identitystore/{STORE}/group/{GROUP}"


@pytest.fixture
def ctx(monkeypatch: pytest.MonkeyPatch) -> RunContext:
    ctx = preflight("06_identity_center_admin", target="sandbox")
    ctx.account_id = MGMT
    monkeypatch.setattr(apply, "sleep", lambda _s: None)
    return ctx


@pytest.fixture
def sso(ctx: RunContext) -> Iterator[Stubber]:
    with Stubber(ctx.client("sso-admin")) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def ids(ctx: RunContext) -> Iterator[Stubber]:
    with Stubber(ctx.client("identitystore")) as stub:
        yield stub
        stub.assert_no_pending_responses()


def setting(ctx: RunContext, *accounts: str) -> Setting:
    request = check_request(
        ctx,
        user_name="alice",
        email="alice@example.com",
        given_name="Alice",
        family_name="Lee",
        assign_to=",".join(accounts),
    )
    return Setting(Instance(INSTANCE, STORE, MGMT), accounts, request)


def request_id(account: str) -> str:
    return f"00000000-0000-0000-0000-{account}"


def status(state: str, account: str, reason: str = "") -> dict[str, Any]:
    body = {"Status": state, "RequestId": request_id(account), "TargetId": account}
    if reason:
        body["FailureReason"] = reason
    return {"AccountAssignmentCreationStatus": body}


def not_assigned(sso: Stubber, account: str) -> None:
    sso.add_response(
        "list_account_assignments",
        {"AccountAssignments": []},
        {"InstanceArn": INSTANCE, "AccountId": account, "PermissionSetArn": PS_ARN},
    )


def create(sso: Stubber, account: str) -> None:
    sso.add_response(
        "create_account_assignment",
        status("IN_PROGRESS", account),
        {
            "InstanceArn": INSTANCE,
            "TargetId": account,
            "TargetType": "AWS_ACCOUNT",
            "PermissionSetArn": PS_ARN,
            "PrincipalType": "GROUP",
            "PrincipalId": GROUP,
        },
    )


def poll(sso: Stubber, account: str, state: str, reason: str = "") -> None:
    sso.add_response(
        "describe_account_assignment_creation_status",
        status(state, account, reason),
        {"InstanceArn": INSTANCE, "AccountAssignmentCreationRequestId": request_id(account)},
    )


def given() -> tuple[GroupOutcome, Ensured]:
    group = GroupOutcome(Ensured("group", "Administrators", GROUP, "already there"), "")
    return group, Ensured("permission set", "AdministratorAccess", PS_ARN, "already there")


def test_in_progress_then_succeeded_is_assigned(ctx: RunContext, sso: Stubber) -> None:
    not_assigned(sso, MGMT)
    create(sso, MGMT)
    poll(sso, MGMT, "IN_PROGRESS")
    poll(sso, MGMT, "SUCCEEDED")
    done = apply.ensure_assignments(ctx, setting(ctx, MGMT), *given())
    assert [(a.account, a.status, a.error) for a in done.accounts] == [(MGMT, "assigned", "")]
    assert len(ctx.record.changes) == 1


def test_failed_shows_the_reason_in_one_line_and_the_other_accounts_go_on(
    ctx: RunContext, sso: Stubber
) -> None:
    reason = "Received a 403 status error:\nNot authorized to create roles in the account."
    for account, outcome in ((DEV, "FAILED"), (PROD, "SUCCEEDED")):
        not_assigned(sso, account)
        create(sso, account)
        poll(sso, account, "IN_PROGRESS")
        poll(sso, account, outcome, reason if outcome == "FAILED" else "")
    done = apply.ensure_assignments(ctx, setting(ctx, DEV, PROD), *given())
    lines = repr(done).splitlines()
    failed = next(line for line in lines if DEV in line)
    assert "FAILED" in failed and "Not authorized to create roles" in failed
    assert any(PROD in line and "assigned" in line for line in lines)
    assert [w for w in ctx.record.warnings if DEV in w], "the failure is in the run record"


def test_access_denied_in_one_account_while_the_others_go_on(ctx: RunContext, sso: Stubber) -> None:
    not_assigned(sso, DEV)
    sso.add_client_error(
        "create_account_assignment",
        "AccessDeniedException",
        "User is not authorized to perform: sso:CreateAccountAssignment",
        403,
    )
    not_assigned(sso, PROD)
    create(sso, PROD)
    poll(sso, PROD, "SUCCEEDED")
    done = apply.ensure_assignments(ctx, setting(ctx, DEV, PROD), *given())
    by_account = {a.account: a for a in done.accounts}
    assert "AccessDeniedException" in by_account[DEV].error
    assert by_account[PROD].status == "assigned" and not by_account[PROD].error


def test_verify_fails_naming_the_account_whose_assignment_failed(
    ctx: RunContext, sso: Stubber, ids: Stubber
) -> None:
    s = setting(ctx, DEV)
    failed = apply.Assignments(
        "Administrators", "AdministratorAccess", (apply.AccountAssigned(DEV, "FAILED", "x"),)
    )
    ids.add_response("get_user_id", {"IdentityStoreId": STORE, "UserId": USER, "UserArn": USER_ARN})
    ids.add_response(
        "get_group_id", {"IdentityStoreId": STORE, "GroupId": GROUP, "GroupArn": GROUP_ARN}
    )
    ids.add_response(
        "is_member_in_groups",
        {"Results": [{"GroupId": GROUP, "MemberId": {"UserId": USER}, "MembershipExists": True}]},
    )
    sso.add_response("list_permission_sets", {"PermissionSets": [PS_ARN]})
    sso.add_response(
        "describe_permission_set",
        {
            "PermissionSet": {
                "Name": "AdministratorAccess",
                "PermissionSetArn": PS_ARN,
                "SessionDuration": "PT8H",
            }
        },
    )
    sso.add_response(
        "list_managed_policies_in_permission_set",
        {
            "AttachedManagedPolicies": [
                {
                    "Name": "AdministratorAccess",
                    "Arn": "arn:aws:iam::aws:policy/AdministratorAccess",
                }
            ]
        },
    )
    not_assigned(sso, DEV)
    with pytest.raises(VerifyFailed, match=f"no assignment in account\\(s\\) {DEV}"):
        verify(ctx, s, failed)


def test_no_instance_is_bad_input_in_one_line_naming_the_console_step(
    ctx: RunContext, sso: Stubber
) -> None:
    sso.add_response("list_instances", {"Instances": []})
    request = check_request(
        ctx, user_name="alice", email="a@example.com", given_name="A", family_name="L"
    )
    with pytest.raises(BadInput) as err:
        find_instance(ctx, request)
    assert "IAM Identity Center is not enabled" in str(err.value)
    assert "IAM Identity Center → Enable" in str(err.value)
    assert "costs nothing" in str(err.value) and "\n" not in str(err.value)
    assert err.value.exit_code == 2 and ctx.record.changes == []


def test_conflict_on_a_duplicate_user_reads_the_winners_user(ctx: RunContext, ids: Stubber) -> None:
    s = setting(ctx, MGMT)
    ids.add_client_error("get_user_id", "ResourceNotFoundException", "not found", 404)
    ids.add_client_error("create_user", "ConflictException", "Duplicate UserName", 409)
    ids.add_response("get_user_id", {"IdentityStoreId": STORE, "UserId": USER, "UserArn": USER_ARN})
    user = apply.ensure_user(ctx, s)
    assert (user.id, user.status) == (USER, "already there")
    assert ctx.record.changes == []


def test_conflict_on_a_duplicate_permission_set_uses_the_existing_one(
    ctx: RunContext, sso: Stubber
) -> None:
    s = setting(ctx, MGMT)
    described = {
        "PermissionSet": {
            "Name": "AdministratorAccess",
            "PermissionSetArn": PS_ARN,
            "SessionDuration": "PT8H",
        }
    }
    sso.add_response("list_permission_sets", {"PermissionSets": []})
    sso.add_client_error(
        "create_permission_set", "ConflictException", "Permission set already exists", 409
    )
    sso.add_response("list_permission_sets", {"PermissionSets": [PS_ARN]})
    sso.add_response("describe_permission_set", described)
    sso.add_response(
        "list_managed_policies_in_permission_set",
        {
            "AttachedManagedPolicies": [
                {
                    "Name": "AdministratorAccess",
                    "Arn": "arn:aws:iam::aws:policy/AdministratorAccess",
                }
            ]
        },
    )
    sso.add_response("list_accounts_for_provisioned_permission_set", {"AccountIds": []})
    found = apply.ensure_permission_set(ctx, s)
    assert (found.id, found.status) == (PS_ARN, "already there")
    assert ctx.record.changes == []
