"""The Key URI of a virtual MFA device and its QR code (what an authenticator app scans).

Local only: no AWS call, no widget. The seed is normalised and checked first; an error never
echoes it.
"""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import segno

from runbook_lib.core.errors import BadInput

#: a seed as boto3 returns it (``Base32StringSeed`` is bytes) or as a user types it
Seed = str | bytes

_B32 = re.compile(r"[A-Z2-7]+")


def base32_secret(seed: Seed) -> str:
    """Normalise and validate a base32 seed; the error never echoes it."""
    if isinstance(seed, bytes):
        try:
            seed = seed.decode("ascii")
        except UnicodeDecodeError:
            seed = "?"  # not ASCII, so not base32: refused below
    secret = "".join(seed.split()).upper().rstrip("=")
    # base32 of whole bytes has a length % 8 in {0, 2, 4, 5, 7}; 16 chars = 80 bits, the least
    # authenticator apps take (AWS's seeds are longer)
    ok = bool(_B32.fullmatch(secret)) and len(secret) >= 16 and len(secret) % 8 not in (1, 3, 6)
    if not ok:
        raise BadInput(
            f"The MFA seed is not a valid base32 secret ({len(secret)} characters; it must be "
            "at least 16 of A-Z and 2-7): pass the Base32StringSeed that "
            "CreateVirtualMFADevice returned, unchanged."
        )
    return secret


def key_uri(seed_b32: Seed, user_name: str, account: str, issuer: str = "AWS") -> str:
    """Build the Key URI an authenticator app reads from the QR code.

    The form is ``otpauth://totp/ISSUER:USER@ACCOUNT?secret=SEED&issuer=ISSUER`` (Google's Key
    Uri Format). Issuer and label are percent-encoded (space as ``%20``, ``+`` as ``%2B``); the
    ``:`` separator and ``@`` stay literal. SHA1, 6 digits and 30 s are the defaults, so they
    are left out, as in AWS's own QR codes.

    Args:
        seed_b32: the base32 seed, as str or as the bytes boto3 returns.
        user_name: the IAM user name.
        account: the account ID (or alias) shown in the app next to the user.
        issuer: the name the app shows above the entry.

    Returns:
        The ``otpauth://`` URI.

    Raises:
        BadInput: the seed is not base32, or a name is empty or contains ``:``.
    """
    secret = base32_secret(seed_b32)
    for what, value in (("user name", user_name), ("account", account), ("issuer", issuer)):
        if not value or ":" in value:
            raise BadInput(
                f"The MFA {what} {value!r} cannot be used in a QR code: it must be non-empty "
                "and contain no ':'."
            )
    label = quote(issuer, safe="") + ":" + quote(f"{user_name}@{account}", safe="@")
    return f"otpauth://totp/{label}?secret={secret}&issuer={quote(issuer, safe='')}"


def qr_png(uri: str, scale: int = 5) -> bytes:
    """Render a URI as a QR code PNG (error correction M, 4-module quiet zone).

    Args:
        uri: the text to encode, normally from ``key_uri``.
        scale: pixels per module.

    Returns:
        The PNG file's bytes.

    Raises:
        BadInput: ``scale`` is less than 1.
    """
    if scale < 1:
        raise BadInput(f"The QR code scale must be at least 1 (got {scale}).")
    buf = io.BytesIO()
    segno.make(uri, error="m", micro=False, boost_error=False).save(
        buf, kind="png", scale=scale, border=4
    )
    return buf.getvalue()
