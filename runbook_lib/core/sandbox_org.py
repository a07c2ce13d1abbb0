"""The sandbox as an AWS Organization: member accounts, and moto made fast enough for them.

``create_members`` makes the Organization and its members through Organizations itself (moto
creates ``OrganizationAccountAccessRole`` in each and honours AssumeRole into it), in one
order, so the seeded generator gives the same account IDs every time.
"""

from __future__ import annotations

from typing import Any

from runbook_lib.core import aws


def parse_managed_policies_once() -> None:
    """Make moto's managed policies cheap enough for an Organization of 1,000 member accounts.

    moto builds an IAM backend per account and partition (6 per account); each parses (and
    re-serialises) the same 1,600-policy JSON document and makes 1,600 policy objects, each
    with an ID drawn from the seeded generator: ≈ 30 ms and ≈ 1.3 MiB per account, kept for
    good (moto tracks every model instance it ever made), and every ``/moto-api/reset`` builds
    them all again for every account it has ever seen. Here:

    - the data is parsed once per process;
    - the management account (``DEFAULT_ACCOUNT_ID``) is built exactly as before, so its seeded
      IDs do not change;
    - a member account gets the policies of the ``aws`` partition only (the only one the
      runbooks use), as shared read-only templates (``_SharedAWSManagedPolicy``), one per
      policy for all members, with the same policy ID in every account (as on AWS, where
      ``AdministratorAccess`` is ``ANPAIWMBCKSKIEE64ZLYK`` everywhere), derived from the
      policy's name instead of drawn from the seed. The first time an account attaches one or
      reads it by ARN, it gets its own copy (``_MemberPolicies``): attachment counts, versions
      and tags stay per account.
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
    templates: list[Any] = []

    def init_aws_policies(self: Any) -> list[Any]:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.settings import load_iam_aws_managed_policies

        if not load_iam_aws_managed_policies():
            return []
        if self.account_id == DEFAULT_ACCOUNT_ID:
            return [
                models.AWSManagedPolicy(  # type: ignore[abstract]
                    name, account_id=self.account_id, region=self.region_name, **fields
                )
                for name, fields in parsed.items()
            ]
        if self.partition != "aws":
            return []  # a member account's aws-cn, aws-us-gov... partitions: never used here
        if not templates:
            templates.extend(_template(models, name, fields) for name, fields in parsed.items())
        return list(templates)

    def init_managed_policies(self: Any) -> dict[str, Any]:
        policies = {p.arn: p for p in self.aws_managed_policies}
        shared = bool(templates) and self.aws_managed_policies[:1] == templates[:1]
        return _MemberPolicies(self, policies) if shared else policies

    models.IAMBackend._init_aws_policies = init_aws_policies  # type: ignore[method-assign]
    models.IAMBackend._init_managed_policies = init_managed_policies  # type: ignore[method-assign]
    models.IAMBackend._runbook_parsed_once = True  # type: ignore[attr-defined]


def list_moto_modules_once() -> None:
    """moto's server lists its own package folder (``os.listdir`` and an ``isdir`` per entry)
    on every request to find the service a host name names; the list never changes while the
    process runs, so it is read once."""
    from moto import backends

    if getattr(backends, "_runbook_listed_once", False):
        return
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    backends._runbook_listed_once = True  # type: ignore[attr-defined]


def shared_policy_id(name: str) -> str:
    """An AWS managed policy's ID in every member account: ``ANPA`` and 17 characters of
    the name's SHA-256 (AWS's IDs are ``ANPA`` + 17 of A-Z and 2-7, the same in every account)."""
    import base64
    import hashlib

    digest = base64.b32encode(hashlib.sha256(name.encode()).digest()).decode()
    return "ANPA" + digest[:17]


def _template(models: Any, name: str, fields: dict[str, Any]) -> Any:
    """One shared, read-only AWS managed policy: the attributes ``Policy.__init__`` sets,
    without an ID drawn from the seed and without moto's instance tracking."""
    policy: Any = object.__new__(_shared_class(models))
    default = fields["default_version_id"] or "v1"
    policy.__dict__.update(
        name=name,
        account_id="aws",
        attachment_count=0,
        description="",
        id=shared_policy_id(name),
        path=fields["path"] or "/",
        tags={},
        partition="aws",
        default_version_id=default,
        next_version_num=int(default.lstrip("v")) + 1,
        create_date=fields["create_date"],
        update_date=fields["update_date"],
    )
    policy.versions = [
        models.PolicyVersion(policy.arn, fields["document"], True, default, fields["update_date"])
    ]
    return policy


_SHARED: dict[str, type] = {}


def _shared_class(models: Any) -> type:
    """``AWSManagedPolicy`` whose ``attach_to`` attaches the account's own copy instead."""
    if "class" not in _SHARED:

        class _SharedAWSManagedPolicy(models.AWSManagedPolicy):  # type: ignore[misc]
            def attach_to(self, obj: Any) -> None:
                backend = models.iam_backends[obj.account_id][self.partition]
                backend.managed_policies[self.arn].attach_to(obj)  # _MemberPolicies: a copy

        _SHARED["class"] = _SharedAWSManagedPolicy
    return _SHARED["class"]


class _MemberPolicies(dict):  # type: ignore[type-arg]
    """A member account's managed policies: shared templates until read by ARN, which gives
    the account its own copy (``attach_*``, ``get_policy``, versions and tags all reach a
    policy that way or through ``attach_to``)."""

    def __init__(self, backend: Any, policies: dict[str, Any]) -> None:
        super().__init__(policies)
        self._backend = backend

    def __getitem__(self, arn: str) -> Any:
        policy: Any = super().__getitem__(arn)
        if type(policy) is not _SHARED.get("class"):
            return policy
        from moto.iam import models

        own = object.__new__(models.AWSManagedPolicy)  # type: ignore[type-abstract]
        shared: list[Any] = vars(policy)["versions"]
        versions = [object.__new__(type(v)) for v in shared]
        for copy, version in zip(versions, shared, strict=True):
            copy.__dict__.update(version.__dict__)
        own.__dict__.update(
            policy.__dict__, account_id=self._backend.account_id, tags={}, versions=versions
        )
        super().__setitem__(arn, own)
        listed = self._backend.aws_managed_policies
        listed[next(i for i, p in enumerate(listed) if p is policy)] = own
        return own


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
