"""S6 on the sandbox, in-process (the notebook's own cells): first run, second run, plan, a
fault at every write, two runs at once, and bad input (exit 2, nothing changed).

The sandbox is an Organization with 3 members, so ``assign_to: org`` means 4 accounts.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from support.aws import client, reset_sandbox
from support.inprocess import run_in_process

from runbook_lib import preflight
from runbook_lib.identity_center import (
    check_request,
    ensure_assignments,
    ensure_group,
    ensure_permission_set,
    ensure_user,
    find_instance,
)
from runbook_lib.testing.faults import FAULT_AT_WRITE_VAR

BOOK = "06"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


@pytest.fixture(scope="module")
def accounts() -> Iterator[list[str]]:
    """The sandbox's accounts: the management account and 3 members (reset for this module)."""
    box = reset_sandbox()
    members = box.ensure_members(3)
    yield ["123456789012", *members]


def params(tag: str, **more: Any) -> dict[str, Any]:
    return {
        "user_name": f"u-{tag}",
        "email": f"{tag}@example.com",
        "given_name": "Alice",
        "family_name": "Lee",
        "group_name": f"Admins-{tag}",
        "permission_set_name": f"PS-{tag}",
        "assign_to": "org",
        **more,
    }


def end_state(tag: str, accounts: list[str]) -> dict[str, Any]:
    """What aws-cli would read back: users, groups and members, permission sets, assignments."""
    sso, ids = client("sso-admin"), client("identitystore")
    instance = sso.list_instances()["Instances"][0]
    store, arn = instance["IdentityStoreId"], instance["InstanceArn"]
    users = [
        u for u in ids.list_users(IdentityStoreId=store)["Users"] if u["UserName"] == f"u-{tag}"
    ]
    groups = [
        g
        for g in ids.list_groups(IdentityStoreId=store)["Groups"]
        if g["DisplayName"] == f"Admins-{tag}"
    ]
    members = [
        m["MemberId"]["UserId"]
        for g in groups
        for m in ids.list_group_memberships(IdentityStoreId=store, GroupId=g["GroupId"])[
            "GroupMemberships"
        ]
    ]
    sets = [
        p
        for p in sso.list_permission_sets(InstanceArn=arn)["PermissionSets"]
        if sso.describe_permission_set(InstanceArn=arn, PermissionSetArn=p)["PermissionSet"]["Name"]
        == f"PS-{tag}"
    ]
    policies = [
        sorted(
            a["Arn"]
            for a in sso.list_managed_policies_in_permission_set(
                InstanceArn=arn, PermissionSetArn=p
            )["AttachedManagedPolicies"]
        )
        for p in sets
    ]
    assigned = {
        a: sorted(
            (x["PrincipalType"], x["PrincipalId"] == (groups[0]["GroupId"] if groups else ""))
            for p in sets
            for x in sso.list_account_assignments(InstanceArn=arn, AccountId=a, PermissionSetArn=p)[
                "AccountAssignments"
            ]
        )
        for a in accounts
    }
    return {
        "users": len(users),
        "groups": len(groups),
        "members": [m == users[0]["UserId"] for m in members] if users else members,
        "permission_sets": len(sets),
        "policies": policies,
        "assignments": assigned,
    }


CLEAN = {
    "users": 1,
    "groups": 1,
    "members": [True],
    "permission_sets": 1,
    "policies": [[ADMIN]],
}


def test_first_run_makes_one_of_each_and_exits_3_until_both_manual_steps(
    accounts: list[str],
) -> None:
    run = run_in_process(BOOK, params("first"))
    assert run.exit_code == 3, run.message
    assert {m["step"] for m in run.record["manual_steps"] if m["status"] == "pending"} == {
        "S6.8",
        "S6.9",
    }
    state = end_state("first", accounts)
    assert {k: state[k] for k in CLEAN} == CLEAN
    assert state["assignments"] == {a: [("GROUP", True)] for a in accounts}
    assert run.record["writes"] == 5 + len(accounts)
    assert "awsapps.com/start" in run.shown("portal")

    again = run_in_process(
        BOOK,
        params("first", password_setup_confirmed=True, mfa_registered_confirmed=True),
    )
    assert again.exit_code == 0, again.message
    assert again.record["writes"] == 0
    assert end_state("first", accounts) == state


def test_plan_makes_no_writes_and_says_what_would_be_created(accounts: list[str]) -> None:
    run = run_in_process(BOOK, params("plan"), plan=True)
    assert run.record["writes"] == 0
    assert "would be created (plan mode)" in run.outputs()
    state = end_state("plan", accounts)
    assert (state["users"], state["groups"], state["permission_sets"]) == (0, 0, 0)


@pytest.mark.parametrize("n", range(1, 10))
def test_a_fault_at_every_write_then_a_rerun_ends_like_a_clean_run(
    n: int, accounts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = f"fault{n}"
    monkeypatch.setenv(FAULT_AT_WRITE_VAR, str(n))
    faulty = run_in_process(BOOK, params(tag))
    assert faulty.exit_code == 1, faulty.message
    monkeypatch.delenv(FAULT_AT_WRITE_VAR)
    rerun = run_in_process(BOOK, params(tag))
    assert rerun.exit_code == 3, rerun.message
    state = end_state(tag, accounts)
    assert {k: state[k] for k in CLEAN} == CLEAN
    assert state["assignments"] == {a: [("GROUP", True)] for a in accounts}


def test_two_runs_at_once_leave_one_of_each(accounts: list[str]) -> None:
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def one_run() -> None:
        try:
            ctx = preflight("06_identity_center_admin", target="sandbox")
            request = check_request(ctx, **{k: v for k, v in params("race").items()})
            setting = find_instance(ctx, request)
            barrier.wait()
            user = ensure_user(ctx, setting)
            group = ensure_group(ctx, setting, user)
            permission_set = ensure_permission_set(ctx, setting)
            ensure_assignments(ctx, setting, group, permission_set)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    state = end_state("race", accounts)
    assert {k: state[k] for k in CLEAN} == CLEAN
    assert state["assignments"] == {a: [("GROUP", True)] for a in accounts}


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("user_name", "alice smith", "user_name 'alice smith' is not valid"),
        ("user_name", "a" * 129, "is not valid: use 1-128"),
        ("email", "alice.example.com", "email 'alice.example.com' is not valid"),
        ("given_name", "", "given_name '' is not valid"),
        ("family_name", " Lee", "family_name ' Lee' is not valid"),
        ("group_name", "Admins/ops", "group_name 'Admins/ops' is not valid"),
        ("permission_set_name", "p" * 33, "permission_set_name"),
        ("session_duration", "PT13H", "session_duration 'PT13H' is not an ISO-8601 duration"),
        ("session_duration", "8h", "session_duration '8h'"),
        ("session_duration", "PT30M", "1 to 12 hours"),
        ("assign_to", "everyone", "assign_to 'everyone' is not valid"),
        ("assign_to", "111122223333", "not an ACTIVE account of this Organization"),
        ("password_setup_confirmed", "yes", "password_setup_confirmed 'yes' must be true"),
        ("mfa_registered_confirmed", 1, "mfa_registered_confirmed 1 must be true"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_changed(
    name: str, value: Any, fragment: str, accounts: list[str]
) -> None:
    run = run_in_process(BOOK, params("bad", **{name: value}))
    assert run.exit_code == 2, run.message
    assert fragment in run.message and "\n" not in run.message
    assert run.record["writes"] == 0


def test_identity_center_not_enabled_is_exit_2_naming_the_console_step(
    accounts: list[str],
) -> None:
    from moto.ssoadmin.models import ssoadmin_backends

    backend = ssoadmin_backends["123456789012"]["us-east-1"]
    saved = (
        dict(backend.instances) if isinstance(backend.instances, dict) else list(backend.instances)
    )
    backend.instances.clear()
    try:
        run = run_in_process(BOOK, params("off"))
    finally:
        if isinstance(saved, dict):
            backend.instances.update(saved)
        else:
            backend.instances.extend(saved)
    assert run.exit_code == 2
    assert "IAM Identity Center is not enabled" in run.message
    assert "costs nothing" in run.message and run.record["writes"] == 0
