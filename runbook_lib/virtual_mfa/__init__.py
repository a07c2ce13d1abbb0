"""S3 — enable a virtual MFA device for an IAM user.

The notebook ``03_enable_virtual_mfa`` calls these verbs in this order:
``check_request`` → ``ensure_virtual_device`` → ``show_device`` → ``ensure_assigned`` →
``ensure_self_manage_policy`` → ``verify``.
"""

from runbook_lib.core.context import RunContext
from runbook_lib.virtual_mfa.assign import assign as ensure_assigned
from runbook_lib.virtual_mfa.assign import show_device
from runbook_lib.virtual_mfa.device import MfaVerified, ensure_virtual_device, verify_mfa
from runbook_lib.virtual_mfa.policy import ensure_self_manage_policy
from runbook_lib.virtual_mfa.setup import prepare as check_request
from runbook_lib.virtual_mfa.state import VirtualDevice

__all__ = [
    "check_request",
    "ensure_assigned",
    "ensure_self_manage_policy",
    "ensure_virtual_device",
    "show_device",
    "verify",
]


def verify(ctx: RunContext, device: VirtualDevice) -> MfaVerified | None:
    """``verify_mfa``; in a live notebook Assign MFA refreshes it in place (``widgets.live``)."""
    from runbook_lib.widgets.live import live_result

    def checked() -> MfaVerified:
        result = verify_mfa(ctx, device)
        if ctx.plan or device.serial in result.devices:
            ctx.record.verified()
        return result

    return live_result("verify", checked, record=ctx.record)
