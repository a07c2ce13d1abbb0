"""The sandbox Organization's member accounts share AWS managed policies until one is touched.

A member account's AWS managed policies are shared read-only templates (one per policy for all
members, with one policy ID everywhere, as on AWS); an account that attaches one or reads it by
ARN gets its own copy, so attachment counts, versions and tags stay per account.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from moto.iam import models
from support.aws import reset_sandbox

from runbook_lib.core import sandbox_org
from runbook_lib.core.sandbox import (
    SANDBOX_ACCOUNT_ID,
    Sandbox,
    member_environ,
    sandbox_instance,
    sandbox_session,
)
from runbook_lib.org import accounts

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
ROLE = "OrganizationAccountAccessRole"


def _member_iam(box: Sandbox, account: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    sts = sandbox_session().client("sts", endpoint_url=box.url)
    access = accounts.account_access(sts, account, SANDBOX_ACCOUNT_ID, ROLE)
    with monkeypatch.context() as patch:
        for key, value in member_environ(account, access.credentials).items():
            patch.setenv(key, value)
        return sandbox_session().client("iam", endpoint_url=box.url)


@pytest.fixture(scope="module")
def members() -> tuple[Sandbox, list[str]]:
    box = reset_sandbox()
    return box, box.ensure_members(2)


def test_attaching_in_one_member_counts_in_that_member_only(
    members: tuple[Sandbox, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    box, (first, second) = members
    one, two = (_member_iam(box, a, monkeypatch) for a in (first, second))

    one.create_user(UserName="shared-policy-user")
    one.attach_user_policy(UserName="shared-policy-user", PolicyArn=ADMIN)

    mine, theirs = (c.get_policy(PolicyArn=ADMIN)["Policy"] for c in (one, two))
    assert (mine["AttachmentCount"], theirs["AttachmentCount"]) == (1, 0)
    assert (
        mine["PolicyId"]
        == theirs["PolicyId"]
        == sandbox_org.shared_policy_id("AdministratorAccess")
    )
    assert [p["Arn"] for p in one.list_policies(OnlyAttached=True)["Policies"]] == [ADMIN]
    assert two.list_policies(OnlyAttached=True)["Policies"] == []
    assert one.get_account_summary()["SummaryMap"]["PolicyVersionsInUse"] == 1
    assert two.get_account_summary()["SummaryMap"]["PolicyVersionsInUse"] == 0

    one.detach_user_policy(UserName="shared-policy-user", PolicyArn=ADMIN)
    assert one.get_policy(PolicyArn=ADMIN)["Policy"]["AttachmentCount"] == 0
    listed = two.list_policies(Scope="AWS", MaxItems=1000)["Policies"]
    assert len(listed) == 1000 and all(p["AttachmentCount"] == 0 for p in listed)


def test_the_management_account_keeps_its_seeded_policy_ids(
    members: tuple[Sandbox, list[str]],
) -> None:
    box, _ = members
    iam = sandbox_session().client("iam", endpoint_url=box.url)

    policy = iam.get_policy(PolicyArn=ADMIN)["Policy"]

    assert policy["PolicyId"] != sandbox_org.shared_policy_id("AdministratorAccess")


def test_a_template_has_every_attribute_moto_gives_a_managed_policy() -> None:
    # a moto upgrade that adds an attribute to Policy.__init__ must reach the templates too
    real = models.AWSManagedPolicy(  # type: ignore[abstract]
        "Example", account_id="111111111111", region="us-east-1", document="{}"
    )
    fields = {
        "default_version_id": "v1",
        "path": "/",
        "document": "{}",
        "create_date": real.create_date,
        "update_date": real.update_date,
    }

    template = sandbox_org._template(models, "Example", fields)

    assert sorted(vars(template)) == sorted(vars(real))
    assert template.arn == real.arn
    assert sorted(vars(template.versions[0])) == sorted(vars(real.versions[0]))


def test_member_account_ids_repeat_from_the_seed() -> None:
    first = reset_sandbox().ensure_members(2)

    assert reset_sandbox().ensure_members(2) == first


def test_a_sandbox_child_serves_the_same_organization_and_ends_with_stop() -> None:
    in_process = reset_sandbox().ensure_members(2)
    box = Sandbox(member_accounts=2, child=True).start()
    try:
        pid = box._server.proc.pid
        assert box.accounts == in_process
        assert box.instance.startswith("sbx-") and sandbox_instance(box.url) == box.instance
    finally:
        box.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
