"""The sandbox as an AWS Organization: member accounts, and moto made fast enough for them.

``create_members`` makes the Organization and its members through Organizations itself (moto
creates ``OrganizationAccountAccessRole`` in each and honours AssumeRole into it), in one
order, so the seeded generator gives the same account IDs every time.
"""

from __future__ import annotations

from typing import Any

from runbook_lib.core import aws


def parse_managed_policies_once() -> None:
    """Make moto's managed policies cheap enough for an Organization of member accounts.

    moto builds an IAM backend per account and partition (6 per account) and each parses (and
    re-serialises) the same 1,600-policy JSON document; every ``/moto-api/reset`` builds them all
    again for every account it has ever seen. Here the data is parsed once per process, and a
    member account gets the policies in the ``aws`` partition only (the only one the runbooks
    use): 21 accounts reset in ≈1-2 s instead of ≈7 s. The management account
    (``DEFAULT_ACCOUNT_ID``) is built exactly as before, so its seeded IDs do not change.
    """
    import json

    from moto.iam import models
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    if getattr(models.IAMBackend, "_runbook_parsed_once", False):
        return
    from datetime import datetime

    parsed = {
        name: {
            "default_version_id": data.get("DefaultVersionId"),
            "path": data.get("Path"),
            "document": json.dumps(data.get("Document")),
            "create_date": datetime.fromisoformat(data["CreateDate"]),
            "update_date": datetime.fromisoformat(data["UpdateDate"]),
        }
        for name, data in json.loads(aws_managed_policies_data).items()
    }

    def init_aws_policies(self: Any) -> list[Any]:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.settings import load_iam_aws_managed_policies

        if not load_iam_aws_managed_policies():
            return []
        if self.account_id != DEFAULT_ACCOUNT_ID and self.partition != "aws":
            return []  # a member account's aws-cn, aws-us-gov... partitions: never used here
        return [
            models.AWSManagedPolicy(  # type: ignore[abstract]
                name, account_id=self.account_id, region=self.region_name, **fields
            )
            for name, fields in parsed.items()
        ]

    models.IAMBackend._init_aws_policies = init_aws_policies  # type: ignore[method-assign]
    models.IAMBackend._runbook_parsed_once = True  # type: ignore[attr-defined]


def ensure_members(org: Any, count: int) -> list[str]:
    """The member accounts of the sandbox's Organization (``org``: its Organizations client),
    made (``create_members``) when the sandbox has no Organization yet; an existing one is kept
    as it is."""
    try:
        management = org.describe_organization()["Organization"]["MasterAccountId"]
    except org.exceptions.AWSOrganizationsNotInUseException:
        return create_members(org, count)
    accounts = aws.items(org, "list_accounts", "Accounts")
    return [str(a["Id"]) for a in accounts if a["Id"] != management]


def create_members(org: Any, count: int) -> list[str]:
    """Create an Organization (all features) and ``count`` member accounts in the sandbox.

    moto draws account IDs from its seeded generator, so the same seed, the same calls in the
    same order give the same IDs; they are returned in creation order (``member-01`` first).

    Args:
        org: the sandbox's Organizations client (management account).
        count: how many member accounts.

    Returns:
        The member account IDs (``[]`` when ``count`` is 0: no Organization is made).
    """
    if count <= 0:
        return []
    org.create_organization(FeatureSet="ALL")
    accounts = []
    for n in range(1, count + 1):
        status = org.create_account(
            AccountName=f"member-{n:02d}", Email=f"member-{n:02d}@example.com"
        )["CreateAccountStatus"]
        accounts.append(str(status["AccountId"]))
    return accounts
