"""07's (and ``runbook fix``'s) own inputs, checked before anything runs.

Pure (no AWS call, no file): the host runs it before a kernel starts (``run.precheck``) and
07's kernel again before its audit. The runbooks a plan step runs check their own parameters
again when the plan is made; this covers what 07 itself declares with a type or a choice.
"""

from __future__ import annotations

from runbook_lib.core.validation import validate_bool, validate_choice, validate_user_name
from runbook_lib.identity_center.request import check_person
from runbook_lib.root_usage.cis import validate_version
from runbook_lib.virtual_mfa.seed import SEED_DESTINATIONS


def check_inputs(
    *,
    cis_version: str = "7.0.0",
    apply: bool = False,
    yes: bool = False,
    plan: bool = False,
    user_name: str = "",
    email: str = "",
    given_name: str = "",
    family_name: str = "",
    seed_destination: str = "file",
) -> None:
    """Check 07's parameters.

    Args:
        cis_version: the audit's CIS version (one of ``root_usage.cis``'s).
        apply: headless: run the plan's steps.
        yes: destructive steps may run too.
        plan: the audit and the plan only.
        user_name: the administrator S1 (or S6) creates (empty: Administrator).
        email: S6's person (empty: not given).
        given_name: S6's person's first name.
        family_name: S6's person's last name.
        seed_destination: where S3 keeps an MFA seed.

    Raises:
        BadInput: the first bad parameter, named, with the rule.
    """
    validate_version(cis_version)
    for name, value in (("apply", apply), ("yes", yes), ("plan", plan)):
        validate_bool(value, name)
    if user_name:
        validate_user_name(user_name)
    check_person(email=email, given_name=given_name, family_name=family_name)
    validate_choice(seed_destination, SEED_DESTINATIONS, "seed_destination")
