"""S1 Step 2: IAM access to billing information, a root-only console switch with no API.

It is a manual step (``manual``): a live notebook shows the instructions and a button to
confirm; headless it stays pending (exit code 3) until ``billing_access_confirmed`` is true.
"""

from __future__ import annotations

from runbook_lib.core.context import RunContext
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.result import StepResult
from runbook_lib.manual import manual_step

BILLING_STEP = "S1.2"
BILLING_TITLE = N_("Activate IAM access to billing information (root, console only)")
BILLING_HTML = (
    "<ol><li>Sign in to the AWS console as the <b>root user</b>.</li>"
    "<li>Top right: your account name → <b>Account</b> (My Account).</li>"
    "<li>Scroll to <b>IAM user and role access to Billing information</b> → <b>Edit</b>.</li>"
    "<li>Tick <b>Activate IAM Access</b> → <b>Update</b>.</li>"
    "<li>Return to the IAM dashboard.</li></ol>"
    "<p>There is no API for this setting: only root, only in the console.</p>"
)


def billing_access(ctx: RunContext, *, confirmed: bool) -> StepResult:
    """Step 2: the root-only, console-only billing switch, tracked as a manual step.

    Headless it stays pending (exit code 3) unless ``billing_access_confirmed`` is true.
    """
    return manual_step(
        ctx,
        BILLING_STEP,
        _(BILLING_TITLE),
        BILLING_HTML,
        confirmed=confirmed,
        confirm_param="billing_access_confirmed",
    )
