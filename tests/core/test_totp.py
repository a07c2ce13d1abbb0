"""Tests for runbook_lib.totp: the Key URI, the QR code, and the checks on two MFA codes."""

from __future__ import annotations

import shutil
import subprocess
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from support.aws import ACCOUNT
from support.clock import FakeClock

from runbook_lib.core.errors import BadInput
from runbook_lib.core.otpauth import key_uri, qr_png
from runbook_lib.core.totp import (
    MARGIN,
    CodeCheck,
    check_codes,
    current_code,
    next_two_codes,
    seed_fingerprint,
    window,
)

SEED = "JBSWY3DPEHPK3PXPMZXW6YTBOI4DKNZU"  # fixed 32-char base32 seed
W = 56_666_667  # a fixed window; NOW is 12 s into it
NOW = W * 30 + 12.0
# RFC 6238 appendix B: ASCII "12345678901234567890", SHA1; 8-digit codes truncated to 6
RFC_SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def code(w: int, seed: str = SEED) -> str:
    return current_code(seed, w * 30 + 1)


def refusal(code1: str, code2: str, **kw: int) -> str:
    with pytest.raises(BadInput) as exc:
        check_codes(SEED, code1, code2, now=NOW, **kw)
    return str(exc.value)


def need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.skip(f"{binary} is not installed (Debian package; `make system` installs it)")
    return path


def test_window_is_floor_of_time_over_30() -> None:
    assert [window(t) for t in (0, 29.999, 30, 59, 60, -1)] == [0, 0, 1, 1, 2, -1]


@pytest.mark.parametrize(
    ("at", "expected"),
    [(59, "287082"), (1111111109, "081804"), (1234567890, "005924"), (2000000000, "279037")],
)
def test_codes_match_rfc6238_vectors(at: int, expected: str) -> None:
    assert current_code(RFC_SEED, at) == expected


@pytest.mark.parametrize("at", [59, 1_111_111_109, NOW, 2_000_000_000, 20_000_000_000])
@pytest.mark.parametrize("seed", [SEED, RFC_SEED])
def test_codes_agree_with_oathtool(seed: str, at: float) -> None:
    oathtool = need("oathtool")
    out = subprocess.run(
        [oathtool, "--totp", "-b", seed, "-N", f"@{int(at)}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert current_code(seed, at) == out


@pytest.mark.parametrize(
    ("user", "account", "issuer", "label", "issuer_q"),
    [
        ("Administrator", ACCOUNT, "AWS", f"AWS:Administrator@{ACCOUNT}", "AWS"),
        ("ann+ops", ACCOUNT, "AWS", f"AWS:ann%2Bops@{ACCOUNT}", "AWS"),
        (
            "a=b,c.d-e_f",
            "111122223333",
            "Acme Co",
            "Acme%20Co:a%3Db%2Cc.d-e_f@111122223333",
            "Acme%20Co",
        ),
        ("ann@example.com", "my-alias", "A&B", "A%26B:ann@example.com@my-alias", "A%26B"),
    ],
)
def test_key_uri_encodes_label_and_issuer(
    user: str, account: str, issuer: str, label: str, issuer_q: str
) -> None:
    uri = key_uri(SEED, user, account, issuer)
    assert uri == f"otpauth://totp/{label}?secret={SEED}&issuer={issuer_q}"
    parts = urlsplit(uri)
    assert unquote(parts.path) == f"/{issuer}:{user}@{account}"
    assert parse_qs(parts.query) == {"secret": [SEED], "issuer": [issuer]}


@pytest.mark.parametrize("bad", [("", "1", "AWS"), ("a:b", "1", "AWS"), ("a", "1", "")])
def test_key_uri_refuses_names_an_app_cannot_read(bad: tuple[str, str, str]) -> None:
    with pytest.raises(BadInput):
        key_uri(SEED, *bad)


def test_qr_png_is_a_png() -> None:
    png = qr_png(key_uri(SEED, "Administrator", ACCOUNT))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(qr_png("x", scale=2)) < len(qr_png("x", scale=10))


@pytest.mark.parametrize("user", ["Administrator", "ann+ops", "ann@example.com"])
def test_key_uri_decodes_from_qr_png(tmp_path, user: str) -> None:
    zbarimg = need("zbarimg")
    uri = key_uri(SEED.encode(), user, ACCOUNT, issuer="Amazon Web Services")
    png = tmp_path / "qr.png"
    png.write_bytes(qr_png(uri))
    out = subprocess.run(
        [zbarimg, "--raw", "-q", str(png)], capture_output=True, text=True, check=True
    ).stdout
    assert out.rstrip("\n") == uri


@pytest.mark.parametrize(
    ("w1", "drift"),
    [(W - 1, 0), (W, 1), (W - 2, -1)],
)
def test_one_window_drift_accepted(w1: int, drift: int) -> None:
    result = check_codes(SEED, code(w1), code(w1 + 1), now=NOW)
    assert result == CodeCheck(
        first_window=w1, drift_windows=drift, code1=code(w1), code2=code(w1 + 1)
    )


def test_codes_with_spaces_are_accepted_and_normalised() -> None:
    c1, c2 = code(W - 1), code(W)
    result = check_codes(SEED, f" {c1[:3]} {c1[3:]} ", f"{c2[:3]} {c2[3:]}", now=NOW)
    assert (result.code1, result.code2) == (c1, c2)


def test_bytes_seed_from_boto3_is_accepted() -> None:
    raw = SEED.encode("ascii")
    assert current_code(raw, NOW) == current_code(SEED, NOW)
    assert current_code(SEED.lower(), NOW) == current_code(SEED, NOW)
    assert check_codes(raw, code(W - 1), code(W), now=NOW).drift_windows == 0
    assert seed_fingerprint(raw) == seed_fingerprint(SEED)
    assert key_uri(raw, "u", "1") == key_uri(SEED, "u", "1")


@pytest.mark.parametrize(
    "seed",
    [
        "",
        "JBSWY3DP",
        "JBSWY3DPEHPK3PX1",
        "JBSWY3DPEHPK3PX!",
        "JBSWY3DPEHPK3PXPA",
        b"\xff" * 32,
        "JBSWY3DP-EHPK3PXP",
    ],
)
def test_invalid_seed_refused(seed: str | bytes) -> None:
    for call in (
        lambda: current_code(seed, NOW),
        lambda: key_uri(seed, "u", "1"),
        lambda: seed_fingerprint(seed),
        lambda: check_codes(seed, "123456", "654321", now=NOW),
        lambda: next_two_codes(seed, clock=lambda: NOW, sleep=lambda s: None),
    ):
        with pytest.raises(BadInput, match="not a valid base32 secret"):
            call()


@pytest.mark.parametrize(
    ("c1", "c2", "expected"),
    [
        ("12345", "123456", "MFA code 1 must be 6 digits (got 5 characters)"),
        ("123456", "1234567", "MFA code 2 must be 6 digits (got 7 characters)"),
        ("12345a", "123456", "MFA code 1 must be 6 digits (got something other than digits)"),
        ("123456", "", "MFA code 2 must be 6 digits (got 0 characters)"),
        ("１２３４５６", "123456", "MFA code 1 must be 6 digits"),  # full-width digits
    ],
)
def test_non_digit_code_refused(c1: str, c2: str, expected: str) -> None:
    assert refusal(c1, c2).startswith(expected)


def test_repeated_code_refused() -> None:
    c = code(W)
    assert refusal(c, f"{c[:3]} {c[3:]}").startswith("You typed the same code twice")


@pytest.mark.parametrize("w1", [W - 1, W, W - 5])
def test_swapped_codes_are_refused_with_reason(w1: int) -> None:
    msg = refusal(code(w1 + 1), code(w1))
    assert msg.startswith("The codes look swapped: MFA code 1 is the earlier code")


@pytest.mark.parametrize(
    ("w1", "minutes"), [(W - 3, "about 1 minute ago"), (W - 11, "about 5 minutes ago")]
)
def test_stale_codes_refused(w1: int, minutes: str) -> None:
    msg = refusal(code(w1), code(w1 + 1))
    assert msg.startswith(f"These codes are from {minutes}: AWS would accept them")
    assert "out of sync" in msg


@pytest.mark.parametrize(("w1", "minutes"), [(W + 1, "about 1 minute"), (W + 9, "about 5 minutes")])
def test_clock_ahead_refused(w1: int, minutes: str) -> None:
    msg = refusal(code(w1), code(w1 + 1))
    assert msg.startswith(f"The phone's clock is ahead by {minutes}: set it to automatic time")


def test_wider_drift_allowed_when_asked() -> None:
    assert check_codes(SEED, code(W + 1), code(W + 2), now=NOW, max_drift=2).drift_windows == 2


@pytest.mark.parametrize(
    ("c1", "c2", "expected"),
    [
        (code(W - 2), code(W), "MFA code 2 is not the code that came right after MFA code 1"),
        (code(W - 1), "000000", "MFA code 1 matches this device but MFA code 2 does not"),
        ("000000", code(W), "MFA code 2 matches this device but MFA code 1 does not"),
        (code(W - 1, RFC_SEED), code(W, RFC_SEED), "Neither code matches this device's secret"),
        (code(W - 30), code(W - 29), "Neither code matches this device's secret"),
    ],
)
def test_mismatched_codes_refused_with_reason(c1: str, c2: str, expected: str) -> None:
    assert refusal(c1, c2).startswith(expected)


def test_messages_never_contain_the_seed() -> None:
    cases = [
        ("12345", "123456"),
        (code(W), code(W)),
        (code(W), code(W - 1)),
        (code(W - 5), code(W - 4)),
        (code(W + 5), code(W + 6)),
        (code(W - 2), code(W)),
        (code(W - 1), "000000"),
        ("000000", "999999"),
    ]
    messages = [refusal(c1, c2) for c1, c2 in cases]
    for bad_seed in (SEED + "1", SEED[:-1] + "!", SEED[:9]):
        with pytest.raises(BadInput) as exc:
            check_codes(bad_seed, code(W - 1), code(W), now=NOW)
        messages.append(str(exc.value))
    ok = check_codes(SEED, code(W - 1), code(W), now=NOW)
    messages += [repr(ok), str(ok), seed_fingerprint(SEED)]
    for text in messages:
        assert "\n" not in text
        for secret in (SEED, SEED.lower(), SEED[:16], SEED[16:], SEED[:9]):
            assert secret not in text
    assert code(W - 1) not in repr(ok) and code(W) not in repr(ok)


def test_code_check_repr_is_short_and_stable() -> None:
    assert repr(check_codes(SEED, code(W - 1), code(W), now=NOW)) == "CodeCheck(drift_windows=+0)"


def test_seed_fingerprint_is_short_and_stable() -> None:
    fp = seed_fingerprint(SEED)
    assert fp.startswith("sha256:") and len(fp) == len("sha256:") + 8
    assert seed_fingerprint(f" {SEED.lower()}== ") == fp
    assert seed_fingerprint(RFC_SEED) != fp


@pytest.mark.parametrize(
    ("start", "w1", "slept"),
    [
        (W * 30 + 0.0, W, 30 + MARGIN),
        (W * 30 + 5.0, W, 25 + MARGIN),
        (W * 30 + 27.5, W, 2.5 + MARGIN),
        (W * 30 + 28.5, W + 1, 1.5 + MARGIN + 30),  # < 2 s left: wait for a fresh window first
        (W * 30 + 29.9, W + 1, 0.1 + MARGIN + 30),
    ],
)
def test_next_two_codes_waits_for_next_window_without_real_sleep(
    start: float, w1: int, slept: float
) -> None:
    clock = FakeClock(start)
    c1, c2 = next_two_codes(SEED, clock=clock, sleep=clock.sleep)
    assert (c1, c2) == (code(w1), code(w1 + 1))
    assert sum(clock.slept) == pytest.approx(slept)
    assert clock.t == pytest.approx((w1 + 1) * 30 + MARGIN)
    assert check_codes(SEED, c1, c2, now=clock.t).drift_windows == 0


def test_next_two_codes_keeps_waiting_if_sleep_returns_early() -> None:
    clock = FakeClock(W * 30 + 10.0)

    def short_sleep(seconds: float) -> None:
        clock.sleep(min(seconds, 4.0))

    assert next_two_codes(SEED, clock=clock, sleep=short_sleep) == (code(W), code(W + 1))
    assert clock.t >= (W + 1) * 30
