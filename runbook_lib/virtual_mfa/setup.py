"""S3: a virtual MFA device for an IAM user. Step 3 here: check every input, read the state.

``prepare`` decides, before any write, what the run does: a user who already has an MFA device
is reported and left alone; an unassigned device of the same name left by an earlier run is
replaced or finished; who types the two codes (a person, a stored seed, the sandbox's virtual
authenticator, or nobody). Steps 4-5 and Verify: ``mfa_device``; Steps 6-8: ``mfa_assign``;
the optional self-manage-MFA policy: ``mfa_policy``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import ClientError

from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import BadInput, from_client_error
from runbook_lib.core.secrets import Secret, check_file_destination
from runbook_lib.core.validation import validate_choice, validate_group_name, validate_user_name
from runbook_lib.virtual_mfa.seed import (
    SEED_DESTINATIONS,
    secret_name_for,
    seed_file_path,
    stored_seed_in_file,
)

ACTIONS = ("enable", "resync")
#: who types the two codes: a person in JupyterLab, the holder of the stored seed, the
#: sandbox's virtual authenticator, or nobody (a headless run that cannot scan a QR code)
PERSON, STORED_SEED, VIRTUAL, NOBODY = "person", "stored seed", "virtual authenticator", "nobody"
_DEVICE_NAME = re.compile(r"[A-Za-z0-9_+=,.@-]{1,226}")
SIGN_IN_URL = "https://{account}.signin.aws.amazon.com/console"


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

    @property
    def has_mfa(self) -> bool:
        """The user already has an MFA device and ``action`` is ``enable``: nothing to do."""
        return self.action == "enable" and bool(self.existing)

    def __repr__(self) -> str:
        lines = [f"User '{self.user_name}', virtual MFA device '{self.device_name}'"]
        if self.has_mfa:
            lines.append(f"Already has MFA: {', '.join(self.existing)} (left alone)")
        elif self.action == "resync":
            lines.append(f"Resynchronise {self.serial} with two new codes")
        else:
            lines.append(f"No MFA device yet: create and enable {self.serial}")
        if self.leftover:
            how = "finish it" if self.leftover == "reuse" else "delete and replace it"
            lines.append(f"Unassigned device left by an earlier run: {how}")
        if not self.has_mfa:
            lines.append(f"Codes from: {self.codes_from}")
        if self.seed_destination != "none":
            lines.append(f"Seed kept in: {self.seed_destination} {self.seed_location}")
        if self.policy_group:
            lines.append(f"Self-manage-MFA policy for group '{self.policy_group}'")
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
        kept = f"\nSeed stored in {self.stored_in}" if self.stored_in else ""
        return f"{self.serial}: {self.status}{kept}"


def aws_error(err: ClientError, what: str) -> Exception:
    """Translate an IAM error of ``what`` into a project error naming the permission fix."""
    return from_client_error(err, what, "Check the caller's IAM permissions, then re-run.")


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _validate(
    device_name: str, issuer: str, secret_name: str, seed_destination: str, policy_group: str
) -> None:
    if not _DEVICE_NAME.fullmatch(device_name):
        raise BadInput(
            f"device_name {device_name!r} is not a valid MFA device name: use 1-226 letters, "
            "digits and + = , . @ _ - (or leave it empty for the user name)."
        )
    if not issuer or ":" in issuer or len(issuer) > 64:
        raise BadInput(
            f"issuer {issuer!r} cannot label an authenticator entry: use 1-64 characters "
            "without ':' (e.g. AWS or your company name)."
        )
    if secret_name and seed_destination != "secretsmanager":
        raise BadInput(
            "secret_name is set but seed_destination is not 'secretsmanager': set one or clear "
            "the other."
        )
    if policy_group:
        validate_group_name(policy_group, "policy_group")


def _codes_from(ctx: RunContext, action: str, destination: str, virtual: bool) -> str:
    if ctx.interactive:
        return PERSON
    if destination != "none":
        return STORED_SEED
    # resync needs the seed, which AWS never returns again: only a stored seed will do
    return VIRTUAL if ctx.sandbox and virtual and action == "enable" else NOBODY


def _devices(ctx: RunContext, user_name: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """The user's MFA serials, and every virtual device's serial -> owner ('' = unassigned)."""
    iam = ctx.iam
    try:
        iam.get_user(UserName=user_name)
    except ClientError as err:
        if _code(err) == "NoSuchEntity":
            raise BadInput(
                f"IAM user '{user_name}' does not exist (IAM NoSuchEntity): create it with "
                "01_create_admin_user, or fix user_name."
            ) from err
        raise aws_error(err, f"Reading user '{user_name}'") from err
    try:
        mine = [
            str(d["SerialNumber"])
            for page in iam.get_paginator("list_mfa_devices").paginate(UserName=user_name)
            for d in page["MFADevices"]
        ]
        owners: dict[str, str] = {}
        for page in iam.get_paginator("list_virtual_mfa_devices").paginate(AssignmentStatus="Any"):
            for d in page["VirtualMFADevices"]:  # never touch its other fields (moto: the seed)
                owners[str(d["SerialNumber"])] = str(d.get("User", {}).get("UserName", ""))
    except ClientError as err:
        raise aws_error(err, f"Listing the MFA devices of '{user_name}'") from err
    return tuple(sorted(mine)), owners


def prepare(
    ctx: RunContext,
    *,
    user_name: str,
    device_name: str = "",
    action: str = "enable",
    seed_destination: str = "none",
    secrets_dir: str = "",
    secret_name: str = "",
    issuer: str = "AWS",
    virtual_authenticator: bool = True,
    policy_group: str = "",
    attach_self_manage_policy: bool = True,
) -> MfaSetup:
    """Check every input and read the user's MFA state (Step 3); makes no change.

    Args:
        ctx: the run context.
        user_name: the IAM user.
        device_name: the virtual device's name (empty: the user name).
        action: ``enable`` a new device or ``resync`` the user's device.
        seed_destination: ``none``, ``file`` (0600 file) or ``secretsmanager``.
        secrets_dir: the seed file's folder (empty: the default secrets folder).
        secret_name: the Secrets Manager name (empty: ``iam-runbooks/mfa/DEVICE``).
        issuer: the name the authenticator app shows above the entry.
        virtual_authenticator: on the sandbox, headless, let the library play the phone.
        policy_group: attach the self-manage-MFA policy to this group (empty: do not).
        attach_self_manage_policy: false: ignore ``policy_group`` (the notebook's switch).

    Returns:
        What the next steps will do.

    Raises:
        BadInput: an invalid parameter, a missing user or group, a device name taken by
            another user, a seed file that exists, or nothing to resynchronise.
    """
    validate_user_name(user_name)
    device = device_name or user_name
    validate_choice(action, ACTIONS, "action")
    validate_choice(seed_destination, SEED_DESTINATIONS, "seed_destination")
    if not attach_self_manage_policy:
        policy_group = ""
    _validate(device, issuer, secret_name, seed_destination, policy_group)
    location = ""
    if seed_destination == "file":
        location = str(seed_file_path(secrets_dir, device))
    elif seed_destination == "secretsmanager":
        location = secret_name_for(secret_name, device)
    serial = ctx.arn("mfa", device)
    existing, owners = _devices(ctx, user_name)
    owner = owners.get(serial)
    if owner and owner != user_name:
        raise BadInput(
            f"MFA device '{device}' belongs to user '{owner}' (names are unique per account): "
            "choose another device_name."
        )
    leftover = ""
    if action == "resync" and serial not in existing:
        raise BadInput(
            f"User '{user_name}' has no MFA device {serial} to resynchronise: use action "
            "enable, or set device_name to the device the user has."
        )
    if action == "enable" and not existing:
        if owner == "" and serial in owners:
            leftover = "replace"
        if seed_destination == "file":
            reusable = leftover and stored_seed_in_file(Path(location), serial, user_name)
            if reusable:
                leftover = "reuse"
            else:
                check_file_destination(Path(location))
    if policy_group:
        try:
            ctx.iam.get_group(GroupName=policy_group, MaxItems=1)
        except ClientError as err:
            if _code(err) == "NoSuchEntity":
                raise BadInput(
                    f"Group '{policy_group}' does not exist (IAM NoSuchEntity): create it "
                    "(01_create_admin_user makes Administrators) or fix policy_group."
                ) from err
            raise aws_error(err, f"Reading group '{policy_group}'") from err
    return MfaSetup(
        user_name=user_name,
        device_name=device,
        serial=serial,
        action=action,
        codes_from=_codes_from(ctx, action, seed_destination, virtual_authenticator),
        virtual_authenticator=ctx.sandbox and virtual_authenticator,
        existing=existing,
        leftover=leftover,
        seed_destination=seed_destination,
        seed_location=location,
        issuer=issuer,
        policy_group=policy_group,
        account_id=ctx.account_id,
    )
