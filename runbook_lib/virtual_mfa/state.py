"""S3's state: what a run does for one user (decided in Step 3), and the device it holds.

Plain data; ``setup`` decides it, ``device``, ``assign`` and ``policy`` act on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from runbook_lib.core.i18n import _
from runbook_lib.core.secrets import Secret


@dataclass(frozen=True)
class MfaSetup:
    """What this run does for one user (Step 3), decided before any write.

    Attributes:
        user_name: the IAM user.
        device_name: the virtual MFA device's name.
        serial: the device's serial number (its ARN).
        action: ``enable`` or ``resync``.
        codes_from: who types the two codes (``PERSON``, ``STORED_SEED``, ``VIRTUAL``, ``NOBODY``).
        existing: serial numbers of the MFA devices the user already has.
        leftover: ``""``, ``"replace"`` (an unassigned device of an earlier run, seed lost) or
            ``"reuse"`` (its seed is in the chosen destination).
        seed_destination: ``none``, ``file`` or ``secretsmanager``.
        seed_location: the seed file's path or the secret's name (``""`` for none).
        issuer: the name the authenticator app shows.
        policy_group: the group that gets the self-manage-MFA policy (``""``: none).
        account_id: the account.
        virtual_authenticator: the sandbox's virtual authenticator may play the phone.
        set_aside: an earlier run's seed file that holds no usable seed (empty, cut short):
            moved aside (kept) before its unassigned device is replaced.
    """

    user_name: str
    device_name: str
    serial: str
    action: str
    codes_from: str
    existing: tuple[str, ...]
    leftover: str
    seed_destination: str
    seed_location: str
    issuer: str
    policy_group: str
    account_id: str
    virtual_authenticator: bool = False
    set_aside: str = ""

    @property
    def has_mfa(self) -> bool:
        """The user already has an MFA device and ``action`` is ``enable``: nothing to do."""
        return self.action == "enable" and bool(self.existing)

    def __repr__(self) -> str:
        lines = [
            _("User '{user_name}', virtual MFA device '{device_name}'").format(
                user_name=self.user_name, device_name=self.device_name
            )
        ]
        if self.has_mfa:
            lines.append(
                _("Already has MFA: {value} (left alone)").format(value=", ".join(self.existing))
            )
        elif self.action == "resync":
            lines.append(_("Resynchronise {serial} with two new codes").format(serial=self.serial))
        else:
            lines.append(
                _("No MFA device yet: create and enable {serial}").format(serial=self.serial)
            )
        if self.leftover:
            how = _("finish it") if self.leftover == "reuse" else _("delete and replace it")
            lines.append(_("Unassigned device left by an earlier run: {how}").format(how=how))
        if not self.has_mfa:
            lines.append(_("Codes from: {codes_from}").format(codes_from=_(self.codes_from)))
        if self.seed_destination != "none":
            lines.append(
                _("Seed kept in: {seed_destination} {seed_location}").format(
                    seed_destination=self.seed_destination, seed_location=self.seed_location
                )
            )
        if self.policy_group:
            lines.append(
                _("Self-manage-MFA policy for group '{policy_group}'").format(
                    policy_group=self.policy_group
                )
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class VirtualDevice:
    """The device after Steps 4-5, with its seed held in memory as a ``Secret``."""

    setup: MfaSetup = field(repr=False)
    serial: str
    status: str
    seed: Secret | None = field(default=None, repr=False, compare=False)
    uri: Secret | None = field(default=None, repr=False, compare=False)
    stored_in: str = ""
    secrets: list[Secret] = field(default_factory=list, repr=False, compare=False)
    on_forget: list[Callable[[], None]] = field(default_factory=list, repr=False, compare=False)

    def forget(self) -> None:
        """Drop the seed, URI and QR code from this kernel and clear the widgets showing them."""
        for secret in (self.seed, self.uri, *self.secrets):
            if secret is not None:
                secret.drop()
        for clear in self.on_forget:
            clear()

    def __repr__(self) -> str:
        kept = (
            _("\nSeed stored in {stored_in}").format(stored_in=self.stored_in)
            if self.stored_in
            else ""
        )
        return _("{serial}: {status}{kept}").format(
            serial=self.serial, status=_(self.status), kept=kept
        )


@dataclass(frozen=True)
class StepOutcome:
    """What a step did, in one line."""

    step: str
    status: str

    def __repr__(self) -> str:
        return _("{step}: {status}").format(step=self.step, status=_(self.status))
