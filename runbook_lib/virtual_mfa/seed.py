"""S3: where a virtual MFA device's seed may go, and the codes a seed-holder types.

A seed leaves the process only for a destination the user chose: a new 0600 file holding the
otpauth URI and the seed, or an AWS Secrets Manager secret (JSON). Both are for seeds that a
vault holds instead of a phone (a break-glass user). They are read back only to finish a device
an earlier run left unassigned, or to resynchronise one.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core import totp
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import BadInput, from_client_error
from runbook_lib.core.secrets import (
    Secret,
    default_secrets_dir,
    store_in_secrets_manager,
    write_secret_file,
)

SEED_DESTINATIONS = ("none", "file", "secretsmanager")
#: Secrets Manager names: 1-512 of ASCII letters, digits and / _ + = . @ -
_SM_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")


def seed_file_path(secrets_dir: str, device_name: str) -> Path:
    """Return where the seed file of a device goes (``SECRETS_DIR/DEVICE_virtual_mfa.txt``).

    Args:
        secrets_dir: the folder chosen by the user (empty: ``default_secrets_dir()``).
        device_name: the virtual MFA device's name.

    Returns:
        The file's path.
    """
    folder = Path(secrets_dir).expanduser() if secrets_dir else default_secrets_dir()
    return folder / f"{device_name}_virtual_mfa.txt"


def secret_name_for(secret_name: str, device_name: str) -> str:
    """Return the Secrets Manager name to use (default ``iam-runbooks/mfa/DEVICE``).

    Args:
        secret_name: the name chosen by the user (may be empty).
        device_name: the virtual MFA device's name.

    Returns:
        The secret name.

    Raises:
        BadInput: the name is not a valid Secrets Manager name.
    """
    name = secret_name or f"iam-runbooks/mfa/{device_name}"
    if not _SM_NAME.fullmatch(name):
        raise BadInput(
            f"secret_name {name!r} is not a valid Secrets Manager name: use 1-512 letters, "
            "digits and / _ + = . @ -."
        )
    return name


def _file_text(serial: str, user_name: str, uri: Secret, seed: Secret) -> str:
    return (
        f"# Virtual MFA seed of IAM user {user_name} (device {serial}).\n"
        "# Whoever holds this file can generate the user's MFA codes: keep it in a vault.\n"
        f"serial_number={serial}\n"
        f"otpauth_uri={uri.text()}\n"
        f"seed={seed.text()}\n"
    )


def _parse_file(path: Path) -> dict[str, str]:
    try:
        text = path.read_text("utf-8")
    except OSError as err:
        raise BadInput(
            f"Cannot read the seed file {path} ({err.strerror}): fix secrets_dir."
        ) from err
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#"):
            fields[key.strip()] = value.strip()
    return fields


def stored_seed_in_file(path: Path, serial: str, user_name: str) -> Secret | None:
    """Read the seed of ``serial`` back from a seed file this runbook wrote.

    Args:
        path: the seed file.
        serial: the device the seed must belong to.
        user_name: whose device it is (the secret's label).

    Returns:
        The seed, or ``None`` when the file is missing or belongs to another device.

    Raises:
        BadInput: the file cannot be read.
    """
    if not path.is_file():
        return None
    fields = _parse_file(path)
    if fields.get("serial_number") != serial or not fields.get("seed"):
        return None
    return Secret("mfa-seed", fields["seed"], user_name)


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
    sm = ctx.client("secretsmanager")
    try:
        body = sm.get_secret_value(SecretId=name)["SecretString"]
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise from_client_error(
            err,
            f"Reading the MFA seed from Secrets Manager secret '{name}'",
            "The caller needs secretsmanager:GetSecretValue on it.",
        ) from err
    try:
        payload: dict[str, Any] = json.loads(body)
    except ValueError:
        return None
    if not isinstance(payload, dict):  # not this runbook's secret
        return None
    if payload.get("serial_number") != serial or not payload.get("seed"):
        return None
    return Secret("mfa-seed", str(payload["seed"]), str(payload.get("user_name", "")))


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
    if destination == "file":
        path = write_secret_file(Path(location), lambda: _file_text(serial, user_name, uri, seed))
        where = f"file {path} (mode 0600)"
    else:
        arn = store_in_secrets_manager(
            ctx.client("secretsmanager"),
            location,
            lambda: {
                "user_name": user_name,
                "serial_number": serial,
                "otpauth_uri": uri.text(),
                "seed": seed.text(),
            },
            f"Virtual MFA seed of IAM user {user_name} ({serial}), from iam-runbooks S3",
        )
        where = f"Secrets Manager secret {arn}"
    ctx.record.secret_delivered("mfa-seed", where, seed.fingerprint)
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
    value = seed.text()
    return (
        totp.current_code(value, (w - 1) * totp.PERIOD),
        totp.current_code(value, w * totp.PERIOD),
    )
