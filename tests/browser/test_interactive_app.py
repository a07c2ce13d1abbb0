"""``runbook app 03 --sandbox --seed-prerequisites`` as a person starts it: the page loads on a
fresh sandbox without an error, two oathtool codes assign the device, and the page's Verify
shows it (refreshed in place by Assign MFA; Voilà cannot re-run a cell)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser.browser_pages import cli_server, oathtool, page_text, wait_text

FORM, QR = ".runbook-code-form", ".runbook-qr-panel"
SERIAL = "arn:aws:iam::123456789012:mfa/Administrator"


@pytest.fixture
def app_03(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The CLI's app on 03 with its prerequisites seeded; (page URL, session folder)."""
    with cli_server(
        tmp_path, "app", "03", "--sandbox", "--seed-prerequisites", ready="Voilà is running"
    ) as started:
        yield started


def test_app_03_with_seeded_prerequisites_assigns_and_verify_shows_the_device(
    app_03: tuple[str, Path], page: Any
) -> None:
    url, session = app_03
    page.goto(url, timeout=90_000)
    form = page.locator(FORM)
    try:
        form.wait_for(timeout=90_000)
    except Exception:
        pytest.fail(f"no code form; the page says: {page_text(page)[-1500:]}")
    text = page_text(page)
    assert "There was an error" not in text and "Error" not in text, text[-500:]
    assert "MFA devices of 'Administrator': none" in text

    panel = page.locator(QR)
    panel.get_by_role("button", name="Reveal secret key").click()
    page.wait_for_function("!document.querySelector('.runbook-qr-panel').innerText.includes('•')")
    seed = "".join(panel.locator("code").inner_text().split())
    now = int(time.time())
    window = now - now % 30
    form.locator("input").nth(0).fill(oathtool(seed, window - 30))
    form.locator("input").nth(1).fill(oathtool(seed, window))
    form.get_by_role("button", name="Assign MFA").click()
    wait_text(page, FORM, "Done:")
    page.wait_for_function(
        "!document.body.innerText.includes(\"MFA devices of 'Administrator': none\")",
        timeout=30_000,
    )
    assert SERIAL in page_text(page), "the page's Verify does not show the device"
    assert seed not in page.content()
    record = json.loads((session / "03_enable_virtual_mfa.run.json").read_text("utf-8"))
    assert record["calls"].get("iam:EnableMFADevice") == 1
    assert seed not in json.dumps(record)
    assert not page.blocked, page.blocked[:3]  # nothing remote requested
