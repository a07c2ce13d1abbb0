"""The Organization's root-access posture, for S0 over an Organization (``org.posture`` calls it).

- ``org_features``: is centralized root access enabled (``iam:ListOrganizationsFeatures``:
  ``RootCredentialsManagement``, ``RootSessions``)?
- ``audit_root``: a member's root credentials (login profile, access keys, MFA devices, signing
  certificates) through ``sts:AssumeRoot`` with the ``IAMAuditRootUserCredentials`` task policy.
- ``centralized_root_access``: that answer as the CIS finding (v7.0.0 2.1.1), for the
  versions that have the control.
- ``delete_root``: the same session with ``IAMDeleteRootUserCredentials``, deleting what an
  audit found; called only after the plan is printed and with an explicit confirmation
  (``--root-delete --confirm-root-delete``).

The sandbox (moto) implements none of these calls: on it every answer is "not known (the
sandbox has no ...)", never an invented result. The AWS path is tested with botocore's Stubber.
In a root session, GetLoginProfile, DeleteLoginProfile and DeactivateMFADevice take no
``UserName``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runbook_lib.core import aws
from runbook_lib.core.errors import RunbookError
from runbook_lib.core.i18n import _
from runbook_lib.root_usage.result import FAIL, NOT_KNOWN, PASS, CheckResult

AUDIT_TASK = "IAMAuditRootUserCredentials"
DELETE_TASK = "IAMDeleteRootUserCredentials"
FEATURES = ("RootCredentialsManagement", "RootSessions")
SANDBOX_FEATURES = "not known (the sandbox has no ListOrganizationsFeatures)"
SANDBOX_ROOT = "not known (the sandbox has no AssumeRoot)"
#: builds an IAM client from a root session's credentials (``AccessKeyId``, ...)
IamFactory = Callable[[dict[str, str]], Any]


def task_policy_arn(task: str, partition: str = "aws") -> str:
    """The ARN of an AWS root task policy."""
    return f"arn:{partition}:iam::aws:policy/root-task/{task}"


def org_features(iam: Any | None) -> dict[str, Any]:
    """Whether centralized root access is enabled (``iam``: ``None`` on the sandbox).

    Returns:
        ``{"status": "enabled"|"partly enabled"|"not enabled"|"not known ...", "features": [...]}``;
        a refused call is "not known" with AWS's code, not an error: it is one more finding.
    """
    if iam is None:
        return {"status": SANDBOX_FEATURES, "features": []}
    try:
        answer = aws.call(
            iam.list_organizations_features,
            what="Reading the Organization's root access features (iam:ListOrganizationsFeatures)",
            fix="Run it with the management account or the IAM delegated administrator.",
        )
    except RunbookError as err:
        return {"status": f"not known ({err.aws_code or 'refused'})", "features": []}
    enabled = [f for f in answer.get("EnabledFeatures") or [] if f in FEATURES]
    status = {0: "not enabled", len(FEATURES): "enabled"}.get(len(enabled), "partly enabled")
    return {"status": status, "features": enabled}


def centralized_root_access(
    features: Mapping[str, Any], version: str, resource: str = ""
) -> dict[str, str] | None:
    """``org_features``' answer as a finding in ``version`` (CIS v7.0.0 2.1.1: root
    credentials management enabled for the Organization's members).

    Returns:
        The finding as run.json holds one (``control``, ``check``, ``cis_version``, ...), or
        ``None`` when ``version`` has no such control.
    """
    status = str(features.get("status", ""))
    enabled = "RootCredentialsManagement" in (features.get("features") or [])
    result = CheckResult(
        "centralized_root_access",
        _("Centralized root access in AWS Organizations"),
        NOT_KNOWN if status.startswith("not known") else PASS if enabled else FAIL,
        resource,
        status,
        _(
            "In the management account: IAM → Root access management → Enable (root "
            "credentials management)."
        ),
    ).labelled(version)
    return None if result is None else result.as_dict()


@dataclass
class RootCredentials:
    """What a member's root user has; ``status`` says whether it is known."""

    account_id: str
    status: str = "known"
    login_profile: bool | None = None
    access_keys: list[str] = field(default_factory=list)
    mfa_devices: list[str] = field(default_factory=list)
    signing_certificates: list[str] = field(default_factory=list)

    def plan(self) -> list[str]:
        """What ``delete_root`` would delete, one line per credential (empty: nothing)."""
        lines = [f"delete root access key {k}" for k in self.access_keys]
        lines += [f"delete root signing certificate {c}" for c in self.signing_certificates]
        lines += ["delete root console password (login profile)"] if self.login_profile else []
        lines += [f"deactivate root MFA device {s}" for s in self.mfa_devices]
        return lines

    def to_dict(self) -> dict[str, Any]:
        """The record of this audit (IDs and serials only: no secret exists here)."""
        return {
            "account_id": self.account_id,
            "status": self.status,
            "login_profile": self.login_profile,
            "access_keys": self.access_keys,
            "mfa_devices": self.mfa_devices,
            "signing_certificates": self.signing_certificates,
        }


def root_session(sts: Any, account_id: str, task: str) -> dict[str, str]:
    """Credentials of a 15-minute root session in ``account_id`` limited to ``task``.

    Raises:
        AwsError: AssumeRoot was refused (centralized root access off, not the management
            account or delegated administrator).
    """
    answer = aws.call(
        sts.assume_root,
        what=f"Opening a root session in {account_id} (sts:AssumeRoot, {task})",
        fix="Enable centralized root access (RootSessions) and call from the management "
        "account or the IAM delegated administrator, with a regional STS endpoint.",
        TargetPrincipal=account_id,
        TaskPolicyArn={"arn": task_policy_arn(task)},
        DurationSeconds=900,
    )
    creds = answer["Credentials"]
    return {k: str(creds[k]) for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}


def audit_root(sts: Any | None, iam_for: IamFactory, account_id: str) -> RootCredentials:
    """A member's root credentials, read in an ``IAMAuditRootUserCredentials`` session.

    Args:
        sts: a regional STS client of the management account (``None``: the sandbox).
        iam_for: builds the IAM client of the root session.
        account_id: the member.

    Returns:
        The credentials found, or a ``status`` saying why they are not known.
    """
    if sts is None:
        return RootCredentials(account_id, SANDBOX_ROOT)
    try:
        iam = iam_for(root_session(sts, account_id, AUDIT_TASK))
        what, fix = f"Reading root credentials of {account_id}", "Re-run the audit."
        profile = aws.call(iam.get_login_profile, what=what, fix=fix, missing=("NoSuchEntity",))
        keys = aws.items(iam, "list_access_keys", "AccessKeyMetadata", what=what, fix=fix)
        mfa = aws.items(iam, "list_mfa_devices", "MFADevices", what=what, fix=fix)
        certs = aws.items(iam, "list_signing_certificates", "Certificates", what=what, fix=fix)
    except RunbookError as err:
        return RootCredentials(account_id, f"not known ({err.aws_code or 'refused'})")
    return RootCredentials(
        account_id,
        login_profile=profile is not None,
        access_keys=[str(k["AccessKeyId"]) for k in keys],
        mfa_devices=[str(d["SerialNumber"]) for d in mfa],
        signing_certificates=[str(c["CertificateId"]) for c in certs],
    )


def delete_root(sts: Any, iam_for: IamFactory, found: RootCredentials) -> list[str]:
    """Delete what ``found`` lists, in an ``IAMDeleteRootUserCredentials`` session.

    Returns:
        The actions done (the same lines as ``found.plan()``).

    Raises:
        AwsError: a deletion was refused; the ones before it are done (re-run to finish).
    """
    if not found.plan():
        return []
    iam = iam_for(root_session(sts, found.account_id, DELETE_TASK))
    fix = "Re-run --root-delete: what is already deleted is not listed again."
    what = f"Deleting root credentials of {found.account_id}"
    done: list[str] = []
    for key in found.access_keys:
        aws.call(iam.delete_access_key, what=what, fix=fix, missing=("NoSuchEntity",),
                 AccessKeyId=key)  # fmt: skip
        done.append(f"delete root access key {key}")
    for cert in found.signing_certificates:
        aws.call(iam.delete_signing_certificate, what=what, fix=fix, missing=("NoSuchEntity",),
                 CertificateId=cert)  # fmt: skip
        done.append(f"delete root signing certificate {cert}")
    if found.login_profile:
        aws.call(iam.delete_login_profile, what=what, fix=fix, missing=("NoSuchEntity",))
        done.append("delete root console password (login profile)")
    for serial in found.mfa_devices:
        aws.call(iam.deactivate_mfa_device, what=what, fix=fix, missing=("NoSuchEntity",),
                 SerialNumber=serial)  # fmt: skip
        done.append(f"deactivate root MFA device {serial}")
    return done
