"""S0: the audit's CIS version and thresholds, checked before any AWS call (bad value: one
line, exit 2).

The version is one of ``cis.VERSIONS`` (default the newest). The thresholds' defaults are the
CIS AWS Foundations Benchmark's (the same in every version; v7.0.0 IDs): credentials unused for
45 days (2.11), access keys older than 90 days (2.12), passwords of at least 14 characters (2.8)
and reuse prevention of 24 passwords (2.9). The upper limits are IAM's where IAM has one (password
length 6-128, reuse prevention 1-24), ten years for the day counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import _
from runbook_lib.core.validation import validate_group_name
from runbook_lib.root_usage.cis import DEFAULT_VERSION, benchmark, validate_version

#: parameter -> (lowest, highest, default)
LIMITS: dict[str, tuple[int, int, int]] = {
    "unused_days": (1, 3650, 45),
    "max_key_age_days": (1, 3650, 90),
    "min_password_length": (6, 128, 14),
    "password_reuse": (1, 24, 24),
}
#: the group S1 gives AdministratorAccess (its ``group_name`` default)
ADMIN_GROUP = "Administrators"


def validate_threshold(value: object, param: str) -> int:
    """One threshold: a whole number within its limits.

    Raises:
        BadInput: not a whole number, or out of range.
    """
    low, high, default = LIMITS[param]
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    raise BadInput(
        _(
            "{param} {value} is not a threshold the audit can use: give a whole number "
            "{low}-{high} (default {default})."
        ).format(param=param, value=repr(value), low=low, high=high, default=default)
    )


@dataclass(frozen=True)
class AuditRequest:
    """The CIS version to report in, the checked thresholds, and the group the procedure gives
    AdministratorAccess."""

    cis_version: str = DEFAULT_VERSION
    unused_days: int = 45
    max_key_age_days: int = 90
    min_password_length: int = 14
    password_reuse: int = 24
    admin_group: str = ADMIN_GROUP

    def __repr__(self) -> str:
        return f"{benchmark(self.cis_version)}\n" + _(
            "Audit thresholds: credentials unused ≥ {unused} days, keys older than "
            "{age} days, passwords ≥ {length} characters, "
            "reuse prevention {reuse}; the procedure's admin group: {group}"
        ).format(
            unused=self.unused_days,
            age=self.max_key_age_days,
            length=self.min_password_length,
            reuse=self.password_reuse,
            group=self.admin_group,
        )


def check_request(
    *,
    cis_version: object = DEFAULT_VERSION,
    unused_days: object = 45,
    max_key_age_days: object = 90,
    min_password_length: object = 14,
    password_reuse: object = 24,
    admin_group: str = ADMIN_GROUP,
) -> AuditRequest:
    """Check the audit's parameters.

    Raises:
        BadInput: an unknown CIS version (naming the known ones), or the first threshold out
            of its limits, named, with the limits.
    """
    return AuditRequest(
        cis_version=validate_version(cis_version),
        unused_days=validate_threshold(unused_days, "unused_days"),
        max_key_age_days=validate_threshold(max_key_age_days, "max_key_age_days"),
        min_password_length=validate_threshold(min_password_length, "min_password_length"),
        password_reuse=validate_threshold(password_reuse, "password_reuse"),
        admin_group=validate_group_name(admin_group, "admin_group"),
    )
