"""TOTP for virtual MFA devices (S3): codes, and checks on the two codes a person types.

Everything here is local: no AWS calls and no widgets (the Key URI and its QR code are in
``otpauth``). ``check_codes`` runs *before* ``EnableMFADevice`` so that a swapped, repeated,
stale or mistyped pair of codes is refused in plain words instead of as
``InvalidAuthenticationCode``, or worse, accepted by AWS and leaving the device out of sync.
TOTP here is what AWS uses: SHA1, 6 digits, 30-second windows.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import pyotp

from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import N_, _, ngettext
from runbook_lib.core.otpauth import Seed, base32_secret

#: seconds per TOTP window (AWS virtual MFA)
PERIOD = 30
#: ``next_two_codes`` waits for a fresh window when fewer seconds than this remain
MIN_REMAINING = 2.0
#: seconds past a window's start before ``next_two_codes`` reads its code
MARGIN = 0.5

_CODE = re.compile(r"[0-9]{6}")
_SWAPPED = N_(
    "The codes look swapped: MFA code 1 is the earlier code and MFA code 2 the one the app "
    "shows after it. Type them again in that order."
)
#: (code 1 matches some window, code 2 matches some window) -> why the pair was refused
_MISMATCH = {
    (True, True): N_(
        "MFA code 2 is not the code that came right after MFA code 1: type the code "
        "the app shows now as MFA code 1, wait for the next one, and type that as MFA code 2."
    ),
    (True, False): N_(
        "MFA code 1 matches this device but MFA code 2 does not: check code 2 for "
        "a typo; it must be the code the app shows right after code 1."
    ),
    (False, True): N_(
        "MFA code 2 matches this device but MFA code 1 does not: check code 1 for "
        "a typo; it must be the code the app showed right before code 2."
    ),
    (False, False): N_(
        "Neither code matches this device's secret: check you scanned the QR code "
        "of THIS device (an old entry in the app?) and that the phone's clock is set automatically."
    ),
}


def _code_at(secret: str, win: int) -> str:
    return str(pyotp.TOTP(secret, digits=6, interval=PERIOD).generate_otp(win))


def window(at: float) -> int:
    """Return the TOTP window number of a Unix time: ``floor(at / 30)``.

    Args:
        at: seconds since the epoch.

    Returns:
        The window (time step) number.
    """
    return math.floor(at / PERIOD)


def current_code(seed: Seed, at: float) -> str:
    """Return the 6-digit code an app with this seed shows at a given time.

    Args:
        seed: the base32 seed (str or bytes).
        at: seconds since the epoch.

    Returns:
        The code, zero-padded to 6 digits.

    Raises:
        BadInput: the seed is not base32.
    """
    return _code_at(base32_secret(seed), window(at))


@dataclass(frozen=True)
class CodeCheck:
    """Two MFA codes that passed ``check_codes``.

    Attributes:
        first_window: the window MFA code 1 belongs to (code 2 belongs to the next one).
        drift_windows: window of code 2 minus our current window: 0 in sync; -1 the phone
            is up to 30 s behind or code 2 was typed late; +1 the phone is ahead.
        code1: MFA code 1 with spaces removed, ready for ``EnableMFADevice``.
        code2: MFA code 2 likewise.
    """

    first_window: int
    drift_windows: int
    code1: str
    code2: str

    def __repr__(self) -> str:
        # no codes, no seed, and no window number (it changes every run)
        return f"CodeCheck(drift_windows={self.drift_windows:+d})"


def _code(raw: str, n: int) -> str:
    code = "".join(raw.split())
    if not _CODE.fullmatch(code):
        got = (
            _("{count} characters").format(count=len(code))
            if len(code) != 6
            else _("something other than digits")
        )
        raise BadInput(
            _(
                "MFA code {n} must be 6 digits (got {got}): type the code exactly as the app "
                "shows it."
            ).format(n=n, got=got)
        )
    return code


def _minutes(windows: int) -> str:
    n = max(1, round(windows * PERIOD / 60))
    return ngettext("about {n} minute", "about {n} minutes", n).format(n=n)


def check_codes(
    seed: Seed,
    code1: str,
    code2: str,
    *,
    now: float | None = None,
    max_drift: int = 1,
    max_age_windows: int = 20,
) -> CodeCheck:
    """Check two consecutive MFA codes against the seed before sending them to AWS.

    Args:
        seed: the device's base32 seed (str or bytes).
        code1: the code the app showed first.
        code2: the code it showed next.
        now: the time to check against (default: the current time).
        max_drift: how many windows code 2 may be off from the current window.
        max_age_windows: how far back and ahead (in windows) to look for the codes to
            explain a refusal (stale codes, a clock that is ahead); 20 = 10 minutes.

    Returns:
        The accepted codes, with the window drift found.

    Raises:
        BadInput: the seed is not base32, or the codes are malformed, repeated, swapped, not
            consecutive, stale, from a clock that is ahead, or do not match this seed.
    """
    secret = base32_secret(seed)
    c1, c2 = _code(code1, 1), _code(code2, 2)
    if max_drift < 0 or max_age_windows <= max_drift:
        raise BadInput("check_codes needs max_drift >= 0 and max_age_windows > max_drift.")
    if c1 == c2:
        raise BadInput(
            _(
                "You typed the same code twice: wait for the app to show the next code (up to 30 "
                "seconds) and type that as MFA code 2."
            )
        )
    w_now = window(time.time() if now is None else now)
    wins = range(w_now - max_age_windows, w_now + max_age_windows + 1)
    codes = {w: _code_at(secret, w) for w in wins}
    first = {w for w in wins if codes[w] == c1}
    second = {w for w in wins if codes[w] == c2}
    pairs = sorted((w for w in first if w + 1 in second), key=lambda w: abs(w + 1 - w_now))
    if pairs:
        w1 = pairs[0]
        drift = w1 + 1 - w_now
        if abs(drift) <= max_drift:
            return CodeCheck(first_window=w1, drift_windows=drift, code1=c1, code2=c2)
        if drift < 0:
            raise BadInput(
                _(
                    "These codes are from {ago} ago: AWS would accept them but the "
                    "device would be out of sync. Generate two fresh codes and submit right away "
                    "(if you did, the phone's clock is behind: set it to automatic time)."
                ).format(ago=_minutes(-drift))
            )
        raise BadInput(
            _(
                "The phone's clock is ahead by {ahead}: set it to automatic time "
                "(Settings, Date & time, Set automatically), then type two new codes."
            ).format(ahead=_minutes(drift))
        )
    if any(w + 1 in first for w in second):
        raise BadInput(_(_SWAPPED))
    raise BadInput(_(_MISMATCH[bool(first), bool(second)]))


def next_two_codes(
    seed: Seed,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, str]:
    """Produce two consecutive codes the way a user would, for headless runs.

    Returns the code of the current window and, after sleeping until the next window starts
    (plus ``MARGIN``), the code of that window; both are valid when this returns. If fewer than
    ``MIN_REMAINING`` seconds remain in the current window, it first waits for the next one.

    Args:
        seed: the device's base32 seed (str or bytes).
        clock: returns the current Unix time (injectable for tests).
        sleep: sleeps for the given seconds (injectable for tests).

    Returns:
        ``(code1, code2)``.

    Raises:
        BadInput: the seed is not base32.
    """
    secret = base32_secret(seed)

    def wait_until(t: float) -> None:
        while (left := t - clock()) > 0:
            sleep(left)

    w = window(clock())
    if (w + 1) * PERIOD - clock() < MIN_REMAINING:
        w += 1
        wait_until(w * PERIOD + MARGIN)
    code1 = _code_at(secret, w)
    wait_until((w + 1) * PERIOD + MARGIN)
    return code1, _code_at(secret, w + 1)


def seed_fingerprint(seed: Seed) -> str:
    """Return a short, non-reversible fingerprint of a seed for logs and reprs.

    Args:
        seed: the base32 seed (str or bytes); spacing, case and padding do not matter.

    Returns:
        ``"sha256:"`` followed by the first 8 hex digits of the SHA-256 of the seed.

    Raises:
        BadInput: the seed is not base32.
    """
    return "sha256:" + hashlib.sha256(base32_secret(seed).encode("ascii")).hexdigest()[:8]
