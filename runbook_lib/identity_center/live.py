"""S6 Steps 8-10: what only the user or a person at the console can do, and the portal.

No API sets an Identity Center user's first password or registers its MFA: both are manual
steps (``runbook_lib.manual``), confirmed by a button in a live notebook and by
``password_setup_confirmed`` / ``mfa_registered_confirmed`` headless (exit code 3 until both
are). Their lines are live: "I have done this" replaces them in place, and Verify's next-step
line follows.
"""

from __future__ import annotations

from dataclasses import dataclass

from runbook_lib.core.context import RunContext
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.result import StepResult
from runbook_lib.identity_center.state import Setting
from runbook_lib.manual import manual_step

PASSWORD_STEP, MFA_STEP = "S6.8", "S6.9"
PASSWORD_TITLE = N_("Set up the user's first password (console or e-mail)")
MFA_TITLE = N_("The user registers MFA in the AWS access portal")
PASSWORD_HTML = (
    "<p>No API sets an Identity Center user's password. In the IAM Identity Center console:</p>"
    "<ul><li><b>Settings → Authentication → Standard authentication → Send email OTP for "
    "users created from API</b>: the user gets a one-time password by e-mail at first sign-in; "
    "or</li><li><b>Users → the user → Reset password → Generate a one-time password</b>, and "
    "hand it over yourself (never in the same message as the portal URL).</li></ul>"
)
MFA_HTML = (
    "<p>The user signs in to the AWS access portal, and registers an MFA device when asked "
    "(or under <b>MFA devices → Register device</b>). In the console, <b>Settings → "
    "Authentication → Multi-factor authentication</b> should say <i>Every time they sign "
    "in</i> and <i>Require them to register an MFA device at sign in</i>.</p>"
)


def password_setup(ctx: RunContext, setting: Setting) -> StepResult:
    """Step 8: the user's first password, a manual step (console setting or one-time password).

    Headless it stays pending (exit code 3) unless ``password_setup_confirmed`` is true.
    """
    return manual_step(
        ctx,
        PASSWORD_STEP,
        _(PASSWORD_TITLE),
        PASSWORD_HTML,
        confirmed=setting.request.password_setup_confirmed,
        confirm_param="password_setup_confirmed",
    )


def mfa_registration(ctx: RunContext, setting: Setting) -> StepResult:
    """Step 9: the user's MFA registration in the access portal, a manual step.

    Headless it stays pending (exit code 3) unless ``mfa_registered_confirmed`` is true.
    """
    return manual_step(
        ctx,
        MFA_STEP,
        _(MFA_TITLE),
        MFA_HTML,
        confirmed=setting.request.mfa_registered_confirmed,
        confirm_param="mfa_registered_confirmed",
    )


@dataclass(frozen=True)
class PortalInstructions:
    """Step 10: where the user signs in, and what they see there (no secret)."""

    portal_url: str
    user_name: str
    email: str
    permission_set_name: str

    def __repr__(self) -> str:
        return "\n".join(
            (
                _("AWS access portal: {url}").format(url=self.portal_url),
                _("Sign in to the AWS access portal as {user}:").format(user=self.user_name),
                _("  1. Open {url}").format(url=self.portal_url),
                _(
                    "  2. User name: {user}. Your first password comes by e-mail to {email}, "
                    "or from your administrator (never in the same message as this one)."
                ).format(user=self.user_name, email=self.email),
                _("  3. Register an MFA device when the portal asks."),
                _(
                    "  4. Choose an account → {name} → Management console (or Access keys for "
                    "short-term CLI credentials)."
                ).format(name=self.permission_set_name),
                _(
                    "The portal URL above is the default one; if it was customised, the "
                    "console's Settings page shows it."
                ),
            )
        )


def show_portal(setting: Setting) -> PortalInstructions:
    """Step 10: the AWS access portal URL and the user's sign-in instructions (no call)."""
    request = setting.request
    return PortalInstructions(
        setting.instance.portal_url,
        request.user_name,
        request.email,
        request.permission_set_name,
    )
