"""S1's step results: Step 7's outcome (the plan and the writes), Step 8's sign-in instructions.

Plain data whose ``repr`` is the cell output, and no AWS call. They live together because they
refer to each other: a live Step 7 (``Waiting``) holds the ``Created`` that Create made and the
``SignIn`` that Step 8 then delivered. ``apply``, ``live``, ``signin`` and ``verify`` all use
them; this module imports none of those.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runbook_lib.admin_user.actions import Action
from runbook_lib.admin_user.request import Request
from runbook_lib.core.i18n import _
from runbook_lib.core.secrets import Secret


@dataclass(frozen=True)
class Created:
    """Step 7's outcome: the plan and, unless in plan mode, the writes made.

    In a live notebook (``waiting`` set) nothing is written until a person presses Create.
    """

    request: Request
    actions: tuple[Action, ...]
    applied: bool
    account_id: str
    passwords: Mapping[str, Secret] = field(default_factory=dict, repr=False, compare=False)
    finish: tuple[str, ...] = ()
    waiting: Waiting | None = field(default=None, repr=False, compare=False)

    @property
    def new_passwords(self) -> tuple[str, ...]:
        """Users whose console password this run sets (would set, in plan mode)."""
        kinds = ("create-login-profile", "reset-lost-password")
        return tuple(a.name for a in self.actions if a.kind in kinds)

    def __repr__(self) -> str:
        if self.waiting is not None:
            return _(
                "Step 7 waits for you: check the plan above, then press Create (nothing "
                "is changed until then; Step 8 and Verify run from the button)."
            )
        return self.review()

    def review(self, live: bool = False) -> str:
        """The plan as text; ``live``: as a person sees it before pressing Create."""
        if not self.actions:
            return _("Review: everything is in place; nothing to change (0 writes).")
        head = _("Review — made these changes:") if self.applied else _("Review — would make:")
        head = _("Review — Create will make these changes:") if live else head
        lines = [head] + [f"  {'✓' if self.applied else '•'} {a!r}" for a in self.actions]
        delivered = [*self.new_passwords, *self.finish]
        if delivered and not self.applied:  # once applied, Step 8's own cell says what it did
            step8 = (
                _("Step 8 will write the sign-in CSV and remove the delivery tag for {users}")
                if live
                else _("Step 8 would write the sign-in CSV and remove the delivery tag for {users}")
            )
            lines.append(step8.format(users=", ".join(repr(u) for u in delivered)))
        if not self.applied and not live:
            lines.append(_("Plan mode: nothing was changed."))
        return "\n".join(lines)


class Waiting:
    """A live Step 7 waiting for Create: ``created`` once the writes are made, ``sign_in`` once
    Step 8 delivered."""

    def __init__(self) -> None:
        self.created: Created | None = None
        self.sign_in: SignIn | None = None


@dataclass(frozen=True)
class SignInInstructions:
    """What a new user needs to sign in, without the password (paste it into an e-mail)."""

    user_name: str
    url: str
    password_reset_required: bool
    delivered_to: str = ""

    @property
    def text(self) -> str:
        """The instructions as plain text."""
        how = (
            _(
                "Your initial password is in the file {name}, which your administrator "
                "hands over separately (never by the same e-mail)."
            ).format(name=Path(self.delivered_to).name)
            if self.delivered_to
            else _("Use the password your administrator gave you earlier.")
        )
        lines = [
            _("Sign in to the AWS console as IAM user {user_name}:").format(
                user_name=self.user_name
            ),
            _("  1. Open {url}").format(url=self.url),
            _("  2. User name: {user_name}. {how}").format(user_name=self.user_name, how=how),
        ]
        if self.password_reset_required:
            lines.append(_("  3. AWS asks you to choose a new password at first sign-in."))
        lines.append(
            _(
                "Then set up MFA for your user (runbook 03_enable_virtual_mfa, or "
                "Security credentials → Assign MFA device)."
            )
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text


@dataclass(frozen=True)
class SignIn:
    """Step 8: where each CSV went, and the instructions to send (without the password)."""

    instructions: tuple[SignInInstructions, ...]
    notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return "\n\n".join([*self.notes, *(repr(i) for i in self.instructions)])
