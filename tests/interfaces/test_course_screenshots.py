"""The course's committed screenshots (``make screenshots``) and the secret check they pass:
readable (at least 1000 px wide), no code ``zbarimg`` can read, the Korean ones the Korean app's
own; and the values the capture is checked against are every secret the sandbox holds."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from runbook_lib.authoring.course import load_course
from runbook_lib.authoring.screenshots import SHOTS, _sandbox_secrets, image_path


def _width(png: Path) -> int:
    """The width of a PNG, from its IHDR header."""
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{png.name} is not a PNG"
    width: int = struct.unpack(">I", head[16:20])[0]
    return width


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_committed_screenshot_is_readable_and_holds_no_code(lang: str) -> None:
    for shot in SHOTS:
        png = image_path(shot.name, lang)
        assert png.is_file(), f"{png} is missing: run 'make screenshots'"
        assert _width(png) >= 1000, f"{png.name} ({lang}) is {_width(png)} px wide"
        found = subprocess.run(["zbarimg", "--quiet", str(png)], capture_output=True, check=False)
        assert found.returncode == 4 and not found.stdout, f"{png.name} holds a readable code"


def test_the_korean_course_shows_the_korean_pictures() -> None:
    english, korean = load_course("en"), load_course("ko")
    assert [s.image.name for s in english.screenshots] == [s.image.name for s in korean.screenshots]
    for en, ko in zip(english.screenshots, korean.screenshots, strict=True):
        assert ko.image.parent.name == "ko", f"the Korean course shows {ko.image}"
        assert ko.image.read_bytes() != en.image.read_bytes(), f"{ko.image.name} is the English one"


def test_the_capture_check_knows_every_password_key_and_seed_of_the_sandbox(
    iam: Any, user: str
) -> None:
    iam.create_login_profile(UserName=user, Password="Course-Check-Pw1!x")
    key = iam.create_access_key(UserName=user)["AccessKey"]
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=user)["VirtualMFADevice"]
    seed = device["Base32StringSeed"]
    seed = seed.decode() if isinstance(seed, bytes) else seed
    known = set(_sandbox_secrets())
    assert "Course-Check-Pw1!x" in known, "a console password is not checked"
    assert key["SecretAccessKey"] in known, "a secret access key is not checked"
    assert seed in known, "an MFA seed is not checked"
