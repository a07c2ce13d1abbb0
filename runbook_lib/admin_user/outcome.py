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
from runbook_lib.core.secrets import Secret

#: action kinds, in the order they run, and how the review shows them
_TEXT = {
    "create-group": "create group {name}",
    "attach-policy": "attach {detail} to group {name}",
    "create-user": "create user {name} {detail}",
    "tag-user": "tag user {name}: {detail}",
    "add-to-group": "add user {name} to group {detail}",
    "mark-pending": "tag user {name} " + MARKER_KEY + "=" + MARKER_PENDING,
    "create-login-profile": "create console password of {name} {detail}",
    "reset-lost-password": "REPAIR: set a new console password for {name} {detail}",
    "finish-delivery": "REPAIR: finish delivery for {name} {detail}",
}
_REPAIRS = ("reset-lost-password", "finish-delivery")


@dataclass(frozen=True)
class Action:
    """One change the review plans."""

    kind: str
    name: str
    detail: str = ""

    def __repr__(self) -> str:
        return " ".join(_TEXT[self.kind].format(name=repr(self.name), detail=self.detail).split())


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
            return (
                "Step 7 waits for you: check the plan above, then press Create (nothing is "
                "changed until then; Step 8 and Verify run from the button)."
            )
        return self.review()

    def review(self, live: bool = False) -> str:
        """The plan as text; ``live``: as a person sees it before pressing Create."""
        if not self.actions:
            return "Review: everything is in place; nothing to change (0 writes)."
        head = "Review — made these changes:" if self.applied else "Review — would make:"
        head = "Review — Create will make these changes:" if live else head
        lines = [head] + [f"  {'✓' if self.applied else '•'} {a!r}" for a in self.actions]
        delivered = [*self.new_passwords, *self.finish]
        if delivered:
            then = "will" if self.applied or live else "would"
            lines.append(
                f"Step 8 {then} write the sign-in CSV and remove the delivery tag for "
                + ", ".join(repr(u) for u in delivered)
            )
        if not self.applied and not live:
            lines.append("Plan mode: nothing was changed.")
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
            f"Your initial password is in the file {Path(self.delivered_to).name}, which your "
            "administrator hands over separately (never by the same e-mail)."
            if self.delivered_to
            else "Use the password your administrator gave you earlier."
        )
        lines = [
            f"Sign in to the AWS console as IAM user {self.user_name}:",
            f"  1. Open {self.url}",
            f"  2. User name: {self.user_name}. {how}",
        ]
        if self.password_reset_required:
            lines.append("  3. AWS asks you to choose a new password at first sign-in.")
        lines.append(
            "Then set up MFA for your user (runbook 03_enable_virtual_mfa, or Security "
            "credentials → Assign MFA device)."
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
