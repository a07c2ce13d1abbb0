"""S3: where a virtual MFA device's seed may go, and the codes a seed-holder types.

A seed leaves the process only for a destination the user chose (``core.sinks``): a new 0600
file holding the otpauth URI and the seed, or an AWS Secrets Manager secret (JSON). Both are for
seeds that a vault holds instead of a phone (a break-glass user). They are read back only to
finish a device an earlier run left unassigned, or to resynchronise one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from runbook_lib.core import sinks, totp
from runbook_lib.core.context import RunContext
from runbook_lib.core.layouts import Layout
from runbook_lib.core.secret_files import resolve_secrets_dir
from runbook_lib.core.secrets import Secret

SEED_DESTINATIONS = ("none", "file", "secretsmanager")
SEED_KIND = "mfa-seed"
#: the seed file: two comment lines, then ``serial_number=``, ``otpauth_uri=``, ``seed=``;
#: the Secrets Manager secret: the same fields and ``user_name`` as JSON
SEED_LAYOUT = Layout(
    SEED_KIND,
    ("user_name", "serial_number", "otpauth_uri", "seed"),
    "seed",
    style="lines",
    comment=(
        "# Virtual MFA seed of IAM user {user_name} (device {serial_number}).\n"
        "# Whoever holds this file can generate the user's MFA codes: keep it in a vault.\n"
    ),
    file_fields=("serial_number", "otpauth_uri", "seed"),
)


def seed_file_path(secrets_dir: str, device_name: str) -> Path:
    """Return where the seed file of a device goes (``SECRETS_DIR/DEVICE_virtual_mfa.txt``).

    Args:
        secrets_dir: the folder chosen by the user (empty: ``default_secrets_dir()``).
        device_name: the virtual MFA device's name.

    Returns:
        The file's path.
    """
    folder = resolve_secrets_dir(secrets_dir)
    return folder / f"{device_name}_virtual_mfa.txt"


def seed_sink(destination: str, location: str, description: str = "") -> sinks.Destination:
    """The seed's destination as ``core.sinks`` handles it (``file`` or ``secretsmanager``)."""
    return sinks.Destination(destination, location, SEED_LAYOUT, description=description)


def secret_name_for(secret_name: str, device_name: str, ctx: RunContext | None = None) -> str:
    """Return the Secrets Manager name to use (default ``iam-runbooks/mfa/DEVICE``).

    Args:
        secret_name: the name chosen by the user (may be empty).
        device_name: the virtual MFA device's name.
        ctx: the run context: the secret is read too (one of another kind, such as S2's
            access key, or an untagged one holding something else, is refused).

    Returns:
        The secret name.

    Raises:
        BadInput: the name is not a valid Secrets Manager name, or the secret holds another
            kind of secret.
    """
    name = secret_name or f"iam-runbooks/mfa/{device_name}"
    sinks.check(seed_sink("secretsmanager", name), ctx=ctx)
    return name


def check_seed_file(path: Path) -> None:
    """Check, before any write, that the seed file can be created.

    Raises:
        BadInput: it exists or its folder is not writable.
    """
    sinks.check(seed_sink("file", str(path)))


def unusable_seed_file(path: Path) -> bool:
    """Whether the seed file exists but holds no usable seed (empty, cut short by a full disk)."""
    return sinks.unusable_file(seed_sink("file", str(path)))


def stored_seed_in_file(path: Path, serial: str, user_name: str) -> Secret | None:
    """Read the seed of ``serial`` back from a seed file this runbook wrote.

    Args:
        path: the seed file.
        serial: the device the seed must belong to.
        user_name: whose device it is (the secret's label).

    Returns:
        The seed, or ``None`` when the file is missing, unreadable, belongs to another device
        or holds no seed.
    """
    dest = seed_sink("file", str(path))
    return sinks.read_back(None, dest, {"serial_number": serial}, label=user_name)


def stored_seed_in_secrets_manager(ctx: RunContext, name: str, serial: str) -> Secret | None:
    """Read the seed of ``serial`` back from the Secrets Manager secret this runbook wrote.

    Args:
        ctx: the run context.
        name: the secret's name.
        serial: the device the seed must belong to.

    Returns:
        The seed, or ``None`` when the secret is missing or belongs to another device.

    Raises:
        AwsError: Secrets Manager refused the read.
    """
    dest = seed_sink("secretsmanager", name)
    return sinks.read_back(ctx, dest, {"serial_number": serial})


def store_seed(
    ctx: RunContext,
    destination: str,
    location: str,
    *,
    serial: str,
    user_name: str,
    seed: Secret,
    uri: Secret,
) -> str:
    """Deliver a new device's seed and otpauth URI to the destination the user chose.

    Args:
        ctx: the run context.
        destination: ``file`` or ``secretsmanager``.
        location: the file path or the secret name.
        serial: the device's serial number (stored with the seed).
        user_name: the IAM user.
        seed: the base32 seed.
        uri: the otpauth URI.

    Returns:
        Where it went, in words (no secret).

    Raises:
        BadInput: the file exists or cannot be written.
        AwsError: Secrets Manager refused.
    """
    about = f"Virtual MFA seed of IAM user {user_name} ({serial}), from iam-runbooks S3"
    row: dict[str, str | Secret] = {
        "user_name": user_name,
        "serial_number": serial,
        "otpauth_uri": uri,
        "seed": seed,
    }
    stored = sinks.write(ctx, seed_sink(destination, location, about), row)
    where = (
        f"file {stored} (mode 0600)"
        if destination == "file"
        else f"Secrets Manager secret {stored}"
    )
    # recorded as every destination is: ``KIND: LOCATION`` (``file: PATH``, ``secretsmanager: ARN``)
    ctx.record.secret_delivered(SEED_KIND, f"{destination}: {stored}", seed.fingerprint)
    return where


def recent_two_codes(
    seed: Secret,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, str]:
    """Return the two codes a person would submit now: the previous window's, then the current.

    That is exactly what EnableMFADevice sees when a person types code 1, waits for code 2 and
    presses Assign at once, so no 30-second wait is needed. Only when fewer than
    ``totp.MIN_REMAINING`` seconds are left in the window does this wait (at most
    ``MIN_REMAINING + MARGIN`` s) so that code 2 is still current when AWS checks it.

    Args:
        seed: the device's seed.
        clock: returns the current Unix time (injectable for tests).
        sleep: sleeps for the given seconds (injectable for tests).

    Returns:
        ``(code1, code2)`` from two consecutive windows, code 2 the current one.

    Raises:
        BadInput: the seed is not base32, or was dropped.
    """
    now = clock()
    w = totp.window(now)
    if (w + 1) * totp.PERIOD - now < totp.MIN_REMAINING:
        w += 1
        while (left := w * totp.PERIOD + totp.MARGIN - clock()) > 0:
            sleep(left)
    return (  # the seed's text is never held in a local (a verbose traceback prints locals)
        totp.current_code(seed.text(), (w - 1) * totp.PERIOD),
        totp.current_code(seed.text(), w * totp.PERIOD),
    )
