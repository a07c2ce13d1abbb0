"""S3 as a Voilà app in chromium: the QR code, Reveal, wrong codes, then Assign with good codes."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from browser.browser_pages import assert_absent, oathtool, page_text, wait_text
from support.aws import ACCOUNT

from runbook_lib.core import totp
from runbook_lib.core.sandbox import Sandbox

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "03_enable_virtual_mfa.ipynb"
USER = "Administrator"  # the notebook's default user_name
SERIAL = f"arn:aws:iam::{ACCOUNT}:mfa/{USER}"
KEY_URI = re.compile(
    rf"otpauth://totp/AWS:{USER}@{ACCOUNT}\?secret=(?P<secret>[A-Z2-7]{{16,}})&issuer=AWS"
)
QR, FORM, PHONE = ".runbook-qr-panel", ".runbook-code-form", ".runbook-virtual-authenticator"
#: the <img> of the QR panel holds a blob: URL; fetch it in the page and hand back base64
QR_BYTES_JS = """async () => {
  const img = document.querySelector('.runbook-qr-panel img');
  const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}"""


@pytest.fixture
def iam(sandbox: Sandbox) -> Any:
    """IAM on the (reset) sandbox, with S1's user in it: S3's prerequisite."""
    client = boto3.client("iam", endpoint_url=sandbox.url, region_name="us-east-1")
    client.create_user(UserName=USER)
    return client


def _decode_qr(png: Path) -> str:
    out = subprocess.run(
        ["zbarimg", "--raw", "-q", str(png)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, f"zbarimg found no QR code in {png}"
    return out.stdout.strip()


def _wrong_codes(seed: str) -> tuple[str, str]:
    """Two 6-digit codes that match no window of this seed in the last or next 10 minutes."""
    now = time.time()
    valid = {totp.current_code(seed, now + 30 * k) for k in range(-21, 22)}
    wrong = [c for c in (f"{d}" * 6 for d in "0123456789") if c not in valid]
    return wrong[0], wrong[1]


def _devices(iam: Any) -> list[str]:
    return [d["SerialNumber"] for d in iam.list_mfa_devices(UserName=USER)["MFADevices"]]


def test_voila_qr_decodes_to_the_key_uri_and_good_codes_assign_the_device(
    voila_app: Any, iam: Any, page: Any, screenshot: Any, tmp_path: Path
) -> None:
    app = voila_app(NOTEBOOK, RUNBOOK_SECRETS_DIR=str(tmp_path / "secrets"))
    page.goto(app.page_url(), timeout=60_000)
    panel, form = page.locator(QR), page.locator(FORM)
    form.wait_for(timeout=60_000)
    # nothing secret before a person asks: no QR image, no code
    panel.get_by_role("button", name="Show QR code").wait_for()
    assert not panel.locator("img").is_visible(), "the QR code is on the page before a click"
    assert "Press Show codes" in page.locator(PHONE).inner_text(), "a code before a click"
    panel.get_by_role("button", name="Show QR code").click()
    panel.locator("img").wait_for(state="visible")
    box = panel.locator("img").bounding_box()
    assert box and box["width"] <= 400, f"the QR code is stretched to {box} (285 px drawn)"
    assert "import " not in page_text(page), "Voilà shows code"
    assert "••••" in panel.inner_text(), "the secret key is not masked before Reveal"
    panel.evaluate("el => el.scrollIntoView({block: 'start'})")  # Voilà scrolls inside a div
    screenshot(page, "voila-s3-mfa-qr", mask=[panel.locator("img")])

    # the QR code is an image that decodes to the Key URI
    png = tmp_path / "qr.png"
    png.write_bytes(base64.b64decode(page.evaluate(QR_BYTES_JS)))
    uri = _decode_qr(png)
    shape = KEY_URI.fullmatch(uri)
    assert shape, "the QR code does not hold otpauth://totp/AWS:USER@ACCOUNT?secret=…&issuer=AWS"
    seed = shape["secret"]

    # Reveal shows the same secret key (grouped by four for typing)
    panel.get_by_role("button", name="Reveal secret key").click()
    page.wait_for_function("!document.querySelector('.runbook-qr-panel').innerText.includes('•')")
    revealed = "".join(panel.locator("code").inner_text().split())
    same = revealed == seed
    assert same, "the revealed secret key differs from the secret in the QR code"
    assert iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]

    # the virtual authenticator shows this device's codes once asked
    page.locator(PHONE).get_by_role("button", name="Show codes").click()
    wait_text(page, PHONE, "s left")
    now = int(time.time())
    shown = "".join(page.locator(f"{PHONE} code").inner_text().split())
    nearby = {oathtool(seed, now + 30 * k) for k in (-1, 0, 1)}
    assert shown in nearby, "the virtual authenticator's code is not this device's"

    # wrong codes: the plain-words error, and nothing is assigned
    bad1, bad2 = _wrong_codes(seed)
    form.locator("input").nth(0).fill(bad1)
    form.locator("input").nth(1).fill(bad2)
    form.get_by_role("button", name="Assign MFA").click()
    wait_text(page, FORM, "Not done:")
    status = form.inner_text()
    assert "Neither code matches this device's secret" in status, status
    assert "Traceback" not in page_text(page)
    form.evaluate("el => el.scrollIntoView({block: 'center'})")
    screenshot(page, "voila-s3-mfa-wrong-codes", readme=False)
    assert _devices(iam) == [], "wrong codes assigned a device"

    # the previous and the current window's codes (as a person types them 30 s apart)
    now = int(time.time())
    window = now - now % 30
    form.locator("input").nth(0).fill(oathtool(seed, window - 30))
    form.locator("input").nth(1).fill(oathtool(seed, window))
    form.get_by_role("button", name="Assign MFA").click()
    wait_text(page, FORM, "Done:")
    assert f"assigned {SERIAL} to '{USER}'" in form.inner_text()
    assert _devices(iam) == [SERIAL], "the device is not assigned in the sandbox"
    wait_text(page, QR, "(removed)")
    form.evaluate("el => el.scrollIntoView({block: 'center'})")
    screenshot(page, "voila-s3-mfa-assigned", readme=False)
    assert_absent(seed, page.content(), "the page after Assign")
    record_text = Path(app.env["RUNBOOK_RECORD"]).read_text()
    assert_absent(seed, record_text, "the run record")
    record = json.loads(record_text)
    assert record["calls"].get("iam:EnableMFADevice") == 1, "the wrong codes reached AWS"
    assert [(m["step"], m["status"]) for m in record["manual_steps"]] == [
        ("S3.7", "done"),
        ("S3.8", "done"),
    ]
    assert not page.blocked, page.blocked[:3]  # the offline template requests nothing remote
