"""S3's state: what a run does for one user (decided in Step 3), the device it holds, and the
reads of Step 3 (the user, their MFA devices, the policy group).

``request`` decides the run from these reads; ``device``, ``live``, ``apply`` and ``policy``
act on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from runbook_lib.core import aws
from runbook_lib.core.context import RunContext, missing_user_advice
from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.markers import DEFAULT_LEASE, Marker
from runbook_lib.core.result import StepResult
from runbook_lib.core.secrets import Secret

#: the steps a person may have to do (or the run record tracks as pending)
SCAN_STEP = "S3.7"
ASSIGN_STEP = "S3.8"
#: the next action when IAM refuses a call of S3
PERMISSIONS_FIX = "Check the caller's IAM permissions, then re-run."
#: the next action for the IAM errors a person can cause when assigning a device
FIXES = {
    "InvalidAuthenticationCode": (
        "AWS did not accept the two codes: type two fresh consecutive codes from the app's "
        "entry for this device and submit at once (headless: sync this computer's clock)."
    ),
    "EntityAlreadyExists": "The user already has this device: re-run; the user is then left alone.",
}
SIGN_IN_URL = "https://{account}.signin.aws.amazon.com/console"
#: who types the two codes: a person in JupyterLab, the holder of the stored seed, the
#: sandbox's virtual authenticator, or nobody (a headless run that cannot scan a QR code)
PERSON, STORED_SEED, VIRTUAL, NOBODY = (
    N_("person"),
    N_("stored seed"),
    N_("virtual authenticator"),
    N_("nobody"),
)


def step_result(step: str, status: str) -> StepResult:
    """A step's one line: ``S3.7: <status>`` (``status`` in the run's language)."""
    return StepResult(_("{step}: {status}").format(step=step, status=_(status)))


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
        marker: the user's ``iam-runbooks:S3`` marker read in Step 3 (``virtual_mfa.lease``).
        lease: how long another run's marker keeps this run away.
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
    marker: Marker | None = field(default=None, repr=False, compare=False)
    lease: timedelta = field(default=DEFAULT_LEASE, repr=False, compare=False)

    @property
    def user_arn(self) -> str:
        """The user's ARN (for the run record)."""
        return f"arn:aws:iam::{self.account_id}:user/{self.user_name}"

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
    #: the user carries an ``iam-runbooks:S3`` marker that EnableMFADevice makes obsolete
    marked: bool = field(default=False, repr=False, compare=False)

    def held_seed(self) -> Secret:
        """The seed this kernel holds.

        Raises:
            BadInput: the device's seed is no longer in this kernel (re-run from Step 3).
        """
        if self.seed is None or self.seed.dropped:
            raise BadInput(
                _(
                    "The device's seed is no longer in this kernel: run the notebook again from "
                    "Step 3 (an unassigned device is replaced)."
                )
            )
        return self.seed

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


# ---- the reads of Step 3 --------------------------------------------------------------------
def read_user(ctx: RunContext, user_name: str) -> None:
    """Read the user (GetUser).

    Raises:
        BadInput: the user does not exist.
        AwsError: IAM refused the read.
    """
    aws.call(
        ctx.iam.get_user,
        what=_("Reading user '{user_name}'").format(user_name=user_name),
        fix=PERMISSIONS_FIX,
        errors={
            "NoSuchEntity": BadInput(
                _(
                    "IAM user '{user_name}' does not exist (IAM NoSuchEntity): create it "
                    "with 01_create_admin_user, or fix user_name."
                ).format(user_name=user_name)
                + missing_user_advice()
            )
        },
        UserName=user_name,
    )


def read_devices(ctx: RunContext, user_name: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """The user's MFA serials, and every virtual device's serial -> owner ('' = unassigned).

    Raises:
        AwsError: IAM refused a read.
    """
    iam = ctx.iam
    listing = f"Listing the MFA devices of '{user_name}'"
    mine = [
        str(d["SerialNumber"])
        for d in aws.items(
            iam,
            "list_mfa_devices",
            "MFADevices",
            what=listing,
            fix=PERMISSIONS_FIX,
            UserName=user_name,
        )
    ]
    owners: dict[str, str] = {}
    for d in aws.items(
        iam,
        "list_virtual_mfa_devices",
        "VirtualMFADevices",
        what=listing,
        fix=PERMISSIONS_FIX,
        AssignmentStatus="Any",
    ):  # never touch its other fields (moto: the seed)
        owners[str(d["SerialNumber"])] = str(d.get("User", {}).get("UserName", ""))
    return tuple(sorted(mine)), owners


def check_group(ctx: RunContext, group: str) -> None:
    """Read the policy group (GetGroup).

    Raises:
        BadInput: the group does not exist.
        AwsError: IAM refused the read.
    """
    aws.call(
        ctx.iam.get_group,
        what=_("Reading group '{group}'").format(group=group),
        fix=PERMISSIONS_FIX,
        errors={
            "NoSuchEntity": BadInput(
                _(
                    "Group '{group}' does not exist (IAM NoSuchEntity): create it "
                    "(01_create_admin_user makes Administrators) or fix policy_group."
                ).format(group=group)
            )
        },
        GroupName=group,
        MaxItems=1,
    )
