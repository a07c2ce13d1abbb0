"""S0: which control ID each check has in each CIS AWS Foundations Benchmark version (data).

The checks know only their stable ID (``password_min_length``, ``user_mfa``, ...); the audit
labels each result with the chosen version's control ID from ``CONTROLS`` and leaves out the
checks that version does not have. There is no ``if version`` anywhere else: a new version is
one more column here (and in docs/cis-mapping.md).

The IDs were read from the published benchmarks as Prowler encodes them
(prowler-cloud/prowler, ``prowler/compliance/aws/cis_{4.0,5.0,6.0,7.0}_aws.json``, read
2026-12 at commit 3e000faa), requirement by requirement, by the Prowler check each one names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import _

#: the versions S0 can report in, oldest first
VERSIONS = ("4.0.1", "5.0.0", "6.0.0", "7.0.0")
#: the newest: what a run reports in unless ``cis_version`` says otherwise
DEFAULT_VERSION = "7.0.0"

#: the procedure's own checks (not CIS controls): the same ID in every version
PROCEDURE = {
    "caller_not_root": "S0-caller",
    "iam_administrator": "S0-admins",
    "admin_group": "S0-admin-group",
}

#: version -> check -> control ID, in the order the report shows them
CONTROLS: dict[str, dict[str, str]] = {
    # v4.0.1: IAM is section 1; 1.3 is "security questions" (no API: not checked)
    # source: cis_4.0_aws.json ("CIS Amazon Web Services Foundations Benchmark v4.0.1")
    "4.0.1": {
        "root_access_keys": "1.4",
        "root_mfa": "1.5",
        "root_hardware_mfa": "1.6",
        "root_not_used": "1.7",
        "password_min_length": "1.8",
        "password_reuse": "1.9",
        "user_mfa": "1.10",
        "no_keys_at_setup": "1.11",
        "unused_credentials": "1.12",
        "one_active_key": "1.13",
        "key_rotation": "1.14",
        "permissions_via_groups": "1.15",
        "no_full_admin_policies": "1.16",
        "support_role": "1.17",
        "central_identity": "1.21",
        "no_cloudshell_full_access": "1.22",
    },
    # v5.0.0: "security questions" dropped, every later IAM ID one lower.
    # source: cis_5.0_aws.json; it labels "Do not create access keys during initial setup" as
    # "1.1" (a typo: 1.1 is "Maintain current contact details"); the benchmark's ID is 1.10.
    "5.0.0": {
        "root_access_keys": "1.3",
        "root_mfa": "1.4",
        "root_hardware_mfa": "1.5",
        "root_not_used": "1.6",
        "password_min_length": "1.7",
        "password_reuse": "1.8",
        "user_mfa": "1.9",
        "no_keys_at_setup": "1.10",
        "unused_credentials": "1.11",
        "one_active_key": "1.12",
        "key_rotation": "1.13",
        "permissions_via_groups": "1.14",
        "no_full_admin_policies": "1.15",
        "support_role": "1.16",
        "central_identity": "1.20",
        "no_cloudshell_full_access": "1.21",
    },
    # v6.0.0: the same controls as v5.0.0, IAM moved to section 2.
    # source: cis_6.0_aws.json
    "6.0.0": {
        "root_access_keys": "2.3",
        "root_mfa": "2.4",
        "root_hardware_mfa": "2.5",
        "root_not_used": "2.6",
        "password_min_length": "2.7",
        "password_reuse": "2.8",
        "user_mfa": "2.9",
        "no_keys_at_setup": "2.10",
        "unused_credentials": "2.11",
        "one_active_key": "2.12",
        "key_rotation": "2.13",
        "permissions_via_groups": "2.14",
        "no_full_admin_policies": "2.15",
        "support_role": "2.16",
        "central_identity": "2.20",
        "no_cloudshell_full_access": "2.21",
    },
    # v7.0.0 (2026-06): 2.1.1-2.1.6 for Organizations (2.1.1 centralized root access: only an
    # Organization run, --org, answers it); the account controls from 2.2 on; "no access keys
    # at initial setup" and "one active key" dropped.
    # source: cis_7.0_aws.json
    "7.0.0": {
        "centralized_root_access": "2.1.1",
        "root_access_keys": "2.4",
        "root_mfa": "2.5",
        "root_hardware_mfa": "2.6",
        "root_not_used": "2.7",
        "password_min_length": "2.8",
        "password_reuse": "2.9",
        "user_mfa": "2.10",
        "unused_credentials": "2.11",
        "key_rotation": "2.12",
        "permissions_via_groups": "2.13",
        "no_full_admin_policies": "2.14",
        "support_role": "2.15",
        "central_identity": "2.19",
        "no_cloudshell_full_access": "2.20",
    },
}
#: the checks only an Organization run answers (``org.posture``), never one account's audit
ORGANIZATION_CHECKS = ("centralized_root_access",)
#: the version of run records written before ``cis_version`` existed (they said v4.0.0, whose
#: IDs are v4.0.1's)
LEGACY_VERSION = "4.0.1"


def benchmark(version: str) -> str:
    """``"CIS AWS Foundations Benchmark v7.0.0"``."""
    return f"CIS AWS Foundations Benchmark v{version}"


def validate_version(value: object, param: str = "cis_version") -> str:
    """A version S0 can report in.

    Raises:
        BadInput: any other value (one line listing the valid ones).
    """
    if isinstance(value, str) and value in VERSIONS:
        return value
    raise BadInput(
        _(
            "{param} {value} is not a CIS AWS Foundations version S0 reports in: give one of "
            "{versions} (default {default})."
        ).format(
            param=param, value=repr(value), versions=", ".join(VERSIONS), default=DEFAULT_VERSION
        )
    )


def control(version: str, check: str) -> str | None:
    """The control ID of ``check`` in ``version`` (``None``: that version has no such control)."""
    return PROCEDURE.get(check) or CONTROLS[version].get(check)


def account_controls(version: str) -> tuple[str, ...]:
    """Every control one account's audit reports in ``version``, in the report's order."""
    checks = [c for c in CONTROLS[version] if c not in ORGANIZATION_CHECKS]
    ids = [CONTROLS[version][c] for c in checks]
    first, *last = PROCEDURE.values()
    return (first, *ids, *last)


def check_of(finding: Mapping[str, Any]) -> str:
    """The stable check ID of a finding read back from run.json; a record written before
    ``check`` existed is mapped back through the v4 IDs it used."""
    if finding.get("check"):
        return str(finding["check"])
    control_id = str(finding.get("control", ""))
    legacy = {v: k for k, v in (CONTROLS[LEGACY_VERSION] | PROCEDURE).items()}
    return legacy.get(control_id, control_id)
