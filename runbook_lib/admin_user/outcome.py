"""S1's step results: the planned actions, Step 7's outcome, Step 8's sign-in instructions.

Plain frozen data whose ``repr`` is the cell output; no AWS call and no import of another S1
step module, so ``apply``, ``live`` and ``signin`` all use them without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runbook_lib.admin_user.request import Request
from runbook_lib.admin_user.state import MARKER_KEY, MARKER_PENDING
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.secrets import Secret

#: action kinds, in the order they run, and how the review shows them
_TEXT = {
    "create-group": N_("create group {name}"),
    "attach-policy": N_("attach {detail} to group {name}"),
    "create-user": N_("create user {name} {detail}"),
    "tag-user": N_("tag user {name}: {detail}"),
    "add-to-group": N_("add user {name} to group {detail}"),
    "mark-pending": N_("tag user {name} {marker}"),
    "create-login-profile": N_("create console password of {name} {detail}"),
    "reset-lost-password": N_("REPAIR: set a new console password for {name} {detail}"),
    "finish-delivery": N_("REPAIR: finish delivery for {name} {detail}"),
}
_MARKER = f"{MARKER_KEY}={MARKER_PENDING}"
_REPAIRS = ("reset-lost-password", "finish-delivery")


@dataclass(frozen=True)
class Action:
    """One change the review plans."""

    kind: str
    name: str
    detail: str = ""

    def __repr__(self) -> str:
        text = _(_TEXT[self.kind]).format(name=repr(self.name), detail=self.detail, marker=_MARKER)
        return " ".join(text.split())


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
        if delivered:
            step8 = (
                _("Step 8 will write the sign-in CSV and remove the delivery tag for {users}")
                if self.applied or live
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
