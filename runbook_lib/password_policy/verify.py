"""S4 Verify: read the account password policy back and compare it with the request."""

from __future__ import annotations

from dataclasses import dataclass

from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import VerifyFailed
from runbook_lib.core.i18n import _
from runbook_lib.password_policy.apply import PasswordPolicyOutcome
from runbook_lib.password_policy.plan import CIS_CONTROLS, SETTINGS, cis_status, differences
from runbook_lib.password_policy.request import CIS_VERSION
from runbook_lib.password_policy.state import PasswordPolicy, describe, get_password_policy


@dataclass(frozen=True)
class PolicyVerified:
    """The policy as IAM has it after the run, and the CIS controls it meets."""

    account_id: str
    policy: PasswordPolicy
    note: str = ""

    def __repr__(self) -> str:
        status = cis_status(self.policy)
        cis = ", ".join(f"{control} {status[control]}" for control, __, ___ in CIS_CONTROLS)
        lines = [
            _("Password policy of account {account} (GetAccountPasswordPolicy): {policy}").format(
                account=self.account_id, policy=describe(self.policy)
            ),
            f"{CIS_VERSION}: {cis}",
        ]
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)


def verify(ctx: RunContext, outcome: PasswordPolicyOutcome) -> PolicyVerified:
    """Read the policy back (GetAccountPasswordPolicy) and fail loudly if it is not the request.

    Args:
        ctx: the run context.
        outcome: the result of ``ensure_policy``.

    Returns:
        The policy found. In plan mode, the account's policy as it is (nothing was changed).

    Raises:
        VerifyFailed: the account's policy differs from the request (each setting named).
        AwsError: IAM refused the read.
    """
    found = get_password_policy(ctx.iam)
    wanted = outcome.plan.wanted
    if found == wanted:
        note = _(
            "IAM applies it the next time each user sets a password; existing passwords are not "
            "re-checked."
        )
        ctx.record.verified()
        return PolicyVerified(ctx.account_id, found, note)
    if ctx.plan:
        ctx.record.verified()
        return PolicyVerified(ctx.account_id, found, _("Plan mode: nothing was changed."))
    shown = dict(SETTINGS)
    detail = ", ".join(
        _("{name} {found} (wanted {wanted})").format(
            name=_(name), found=shown[name](found), wanted=shown[name](wanted)
        )
        for name in differences(found, wanted)
    )
    raise VerifyFailed(
        _(
            "The account password policy differs from the request: {detail}. "
            "Someone or something changed it: re-run this runbook to set it again."
        ).format(detail=detail or _("a setting"))
    )
