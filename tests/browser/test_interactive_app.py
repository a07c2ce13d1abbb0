"""``runbook app 03 --sandbox --seed-prerequisites`` as a person starts it: the page loads on a
fresh sandbox without an error, two oathtool codes assign the device, and the page's Verify
shows it (refreshed in place by Assign MFA; Voilà cannot re-run a cell)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_pages import page_text, wait_text

from runbook_lib.interfaces import apps

FORM, QR = ".runbook-code-form", ".runbook-qr-panel"
SERIAL = "arn:aws:iam::123456789012:mfa/Administrator"


@pytest.fixture
def app_03(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The CLI's app on 03 with its prerequisites seeded; (page URL, session folder)."""
    env = dict(os.environ)
    for name in ("HOME", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        (tmp_path / name.lower()).mkdir()
        env[name] = str(tmp_path / name.lower())
    env.pop("JUPYTER_PATH", None)
    # its own secrets folder: another browser test may have seeded the same user already
    env["RUNBOOK_SECRETS_DIR"] = str(tmp_path / "secrets")
    port = apps.free_port()
    runs = tmp_path / "runs"
    log = tmp_path / "app.log"
    cmd = [sys.executable, "-m", "runbook_lib.interfaces.cli", "app", "03", "--sandbox"]
    cmd += ["--seed-prerequisites", "--no-browser", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*cmd, "--output-dir", str(runs)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + 120
        url = None
        while time.monotonic() < deadline and url is None:
            assert proc.poll() is None, log.read_text()[-3000:]
            url = re.search(r"open: (\S+)", log.read_text())
            time.sleep(0.3)
        assert url, "no 'open:' line in time"
        while "Voilà is running" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.3)
        (session,) = runs.iterdir()
        yield url[1], session
    finally:
        apps.stop_server(proc)  # type: ignore[arg-type]


def _oathtool(seed: str, at: int) -> str:
    out = subprocess.run(
        ["oathtool", "--totp", "-b", seed, "-N", f"@{at}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, "oathtool refused the revealed secret key"
    return out.stdout.strip()


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
    form.locator("input").nth(0).fill(_oathtool(seed, window - 30))
    form.locator("input").nth(1).fill(_oathtool(seed, window))
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
