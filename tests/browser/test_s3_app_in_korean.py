"""``runbook app 03 --sandbox --seed-prerequisites --lang ko``: the Korean S3 page in chromium.

The page's buttons and lines are Korean (QR 코드 표시, 보안 키 표시, MFA 할당, the Verify line),
a wrong pair of codes gives the Korean one-line error and assigns nothing, two oathtool codes
assign the device, and the page's Verify shows it. The run record keeps codes and step IDs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser.browser_pages import assert_absent, cli_server, oathtool, page_text, wait_text

from runbook_lib.core import totp

FORM, QR, PHONE = ".runbook-code-form", ".runbook-qr-panel", ".runbook-virtual-authenticator"
SERIAL = "arn:aws:iam::123456789012:mfa/Administrator"
NONE_YET = "'Administrator'의 MFA 디바이스: 없음"


@pytest.fixture
def app_03_ko(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The CLI's Korean app on 03 with its prerequisites seeded; (page URL, session folder)."""
    with cli_server(
        tmp_path,
        "app",
        "03",
        "--sandbox",
        "--seed-prerequisites",
        "--lang",
        "ko",
        ready="Voilà is running",
        env_drop=("RUNBOOK_LANG",),
    ) as started:
        yield started


def _wrong_codes(seed: str) -> tuple[str, str]:
    """Two 6-digit codes that match no window of this seed in the last or next 10 minutes."""
    now = time.time()
    valid = {totp.current_code(seed, now + 30 * k) for k in range(-21, 22)}
    wrong = [c for c in (f"{d}" * 6 for d in "0123456789") if c not in valid]
    return wrong[0], wrong[1]


def test_korean_app_03_labels_errors_and_assign(
    app_03_ko: tuple[str, Path], page: Any, screenshot: Any
) -> None:
    url, session = app_03_ko
    page.goto(url, timeout=90_000)
    form, panel = page.locator(FORM), page.locator(QR)
    try:
        form.wait_for(timeout=90_000)
    except Exception:
        pytest.fail(f"no code form; the page says: {page_text(page)[-1500:]}")
    text = page_text(page)
    assert "There was an error" not in text and "Error" not in text, text[-500:]
    assert NONE_YET in text, "the page's Verify line is not Korean"
    for english in ("Show QR code", "Reveal secret key", "Assign MFA", "MFA code 1", "Show codes"):
        assert english not in text, f"an English label on the Korean page: {english}"
    assert "8단계" in text, "the notebook's headings are not Korean"

    panel.get_by_role("button", name="QR 코드 표시").wait_for()
    assert "코드 표시를 누르십시오" in page.locator(PHONE).inner_text()
    panel.get_by_role("button", name="보안 키 표시").click()
    page.wait_for_function("!document.querySelector('.runbook-qr-panel').innerText.includes('•')")
    panel.get_by_role("button", name="보안 키 숨기기").wait_for()
    seed = "".join(panel.locator("code").inner_text().split())

    # wrong codes: the Korean one-line error, and nothing reaches AWS
    bad1, bad2 = _wrong_codes(seed)
    form.locator("input").nth(0).fill(bad1)
    form.locator("input").nth(1).fill(bad2)
    form.get_by_role("button", name="MFA 할당").click()
    wait_text(page, FORM, "완료되지 않음:")
    status = form.inner_text()
    assert "두 코드 모두 이 디바이스의 보안 키와 일치하지 않습니다" in status, status
    error_line = next(line for line in status.splitlines() if "완료되지 않음:" in line)
    assert "Neither code" not in error_line and "Traceback" not in page_text(page)
    form.evaluate("el => el.scrollIntoView({block: 'center'})")
    screenshot(page, "voila-s3-ko-wrong-codes", readme=False)

    # the previous and the current window's codes, as a person types them
    now = int(time.time())
    window = now - now % 30
    form.locator("input").nth(0).fill(oathtool(seed, window - 30))
    form.locator("input").nth(1).fill(oathtool(seed, window))
    form.get_by_role("button", name="MFA 할당").click()
    wait_text(page, FORM, "완료:")
    assert f"{SERIAL}를 'Administrator'에 할당함" in form.inner_text()
    wait_text(page, QR, "(제거됨)")
    page.wait_for_function(
        f"!document.body.innerText.includes({json.dumps(NONE_YET)})", timeout=30_000
    )
    assert SERIAL in page_text(page), "the page's Verify does not show the device"
    assert_absent(seed, page.content(), "the page after MFA 할당")
    record_text = (session / "03_enable_virtual_mfa.run.json").read_text("utf-8")
    assert_absent(seed, record_text, "the run record")
    record = json.loads(record_text)
    assert record["calls"].get("iam:EnableMFADevice") == 1, "the wrong codes reached AWS"
    assert [(m["step"], m["status"]) for m in record["manual_steps"]] == [
        ("S3.7", "done"),
        ("S3.8", "done"),
    ]
    assert not page.blocked, page.blocked[:3]  # nothing remote requested
