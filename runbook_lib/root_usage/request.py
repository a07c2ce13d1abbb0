"""S0: the audit's thresholds, checked before any AWS call (bad value: one line, exit 2).

The defaults are the CIS AWS Foundations Benchmark v4.0.0's: credentials unused for 45 days
(1.12), access keys older than 90 days (1.14), passwords of at least 14 characters (1.8) and
reuse prevention of 24 passwords (1.9). The upper limits are IAM's where IAM has one (password
length 6-128, reuse prevention 1-24), ten years for the day counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import _
from runbook_lib.core.validation import validate_group_name

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
    """The checked thresholds, and the group the procedure gives AdministratorAccess."""

    unused_days: int = 45
    max_key_age_days: int = 90
    min_password_length: int = 14
    password_reuse: int = 24
    admin_group: str = ADMIN_GROUP

    def __repr__(self) -> str:
        return _(
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
    unused_days: object = 45,
    max_key_age_days: object = 90,
    min_password_length: object = 14,
    password_reuse: object = 24,
    admin_group: str = ADMIN_GROUP,
) -> AuditRequest:
    """Check the audit's parameters.

    Raises:
        BadInput: the first parameter out of its limits, named, with the limits.
    """
    return AuditRequest(
        unused_days=validate_threshold(unused_days, "unused_days"),
        max_key_age_days=validate_threshold(max_key_age_days, "max_key_age_days"),
        min_password_length=validate_threshold(min_password_length, "min_password_length"),
        password_reuse=validate_threshold(password_reuse, "password_reuse"),
        admin_group=validate_group_name(admin_group, "admin_group"),
    )
