"""``runbook lab --sandbox`` as a person uses it: S1 (confirm billing, Create) and S3 (Assign
MFA with two oathtool codes) in JupyterLab leave no stale line on the page, each notebook's run
record in the session folder says "done" and names the steps done, no secret is on the page or
in a saved file, and the checkout's ``git status`` is what it was."""

from __future__ import annotations

import csv
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser.browser_pages import (
    assert_absent,
    cli_server,
    oathtool,
    run_all,
    wait_dom_text,
    wait_kernel_idle,
    wait_text,
)

from runbook_lib.core import environ

ROOT = Path(__file__).parents[2]
CONFIRM, FORM = ".runbook-confirm-step", ".runbook-apply-form"
CODES, QR = ".runbook-code-form", ".runbook-qr-panel"
SERIAL = "arn:aws:iam::123456789012:mfa/Administrator"
#: lines that wait for a button: none may stay once the buttons did their work
STALE = (
    "press Create",
    "pending until confirmed",
    "Waiting for",
    "waiting:",
    "Not verified yet",
    "scan the QR code",
    "MFA devices of 'Administrator': none",
    "below",
)


def _git_status() -> str:
    out = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True, text=True
    )
    return out.stdout


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """The CLI's ``runbook lab --sandbox``; (base URL with token, session folder, secrets)."""
    drop = (environ.SANDBOX_URL,)  # a fresh sandbox of its own, as a person gets
    with cli_server(tmp_path, "lab", "--sandbox", ready="is running at", env_drop=drop) as found:
        yield (*found, tmp_path / "secrets")


def _open(page: Any, url: str, notebook: str) -> None:
    base, token = url.split("?")
    page.goto(f"{base.rstrip('/')}/lab/workspaces/{notebook[:2]}/tree/{notebook}?{token}")
    run_all(page)


def _outputs(page: Any) -> str:
    """The text of every cell output (off-screen cells too); the outermost output areas only
    (a widget's Output sits inside its cell's output: read once, not twice)."""
    text: str = page.evaluate(
        "Array.from(document.querySelectorAll('.jp-OutputArea-output'))"
        ".filter(e => !e.parentElement.closest('.jp-OutputArea-output'))"
        ".map(e => e.textContent).join('\\n')"
    )
    return text


def _no_stale_line(page: Any, where: str) -> str:
    text = _outputs(page)
    stale = [w for w in STALE if w in text]
    assert not stale, f"{where}: stale or misplaced lines {stale}:\n{text[-3000:]}"
    return text


def _record(session: Path, notebook: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((session / f"{notebook}.run.json").read_text("utf-8"))
    return data


def test_lab_s1_create_and_s3_assign_leave_no_stale_line_and_a_done_record(
    lab: tuple[str, Path, Path], page: Any
) -> None:
    url, session, secrets_dir = lab
    git_before = _git_status()

    # S1: Run All, confirm billing, Create
    _open(page, url, "01_create_admin_user.ipynb")
    page.locator(FORM).wait_for(timeout=90_000)
    wait_dom_text(page, "Not verified yet: waiting for Step 7")  # Verify ran (live)
    wait_kernel_idle(page)
    assert "pending until confirmed" in _outputs(page)
    page.locator(CONFIRM).get_by_role("button", name="I have done this").click()
    wait_text(page, CONFIRM, "Done")
    page.locator(FORM).get_by_role("button", name="Create").click()
    wait_text(page, FORM, "Done:", timeout=60_000)
    page.wait_for_function(
        "!document.body.textContent.includes('Not verified yet')", timeout=30_000
    )
    s1_text = _no_stale_line(page, "S1")
    assert s1_text.count("✓ user 'Administrator'") == 1, "Verify is not shown once, in its cell"
    [csv_file] = secrets_dir.glob("**/*_credentials.csv")
    with csv_file.open(encoding="utf-8-sig") as fh:
        password = next(csv.DictReader(fh))["Password"]
    assert_absent(password, page.content(), "the S1 page")
    s1 = _record(session, "01_create_admin_user")
    assert s1["status"] == "done", s1["status"]
    assert "S1.7 Review the plan and press Create" in s1["steps_done"]
    assert s1["steps_done"][-1] == "Verify" and s1["writes"] > 0

    # S3: Run All, reveal the key, two oathtool codes, Assign MFA
    _open(page, url, "03_enable_virtual_mfa.ipynb")
    form = page.locator(CODES)
    form.wait_for(timeout=90_000)
    wait_dom_text(page, "MFA devices of 'Administrator': none")
    wait_kernel_idle(page)
    panel = page.locator(QR)
    panel.get_by_role("button", name="Reveal secret key").click()
    page.wait_for_function("!document.querySelector('.runbook-qr-panel').innerText.includes('•')")
    seed = "".join(panel.locator("code").inner_text().split())
    now = int(time.time())
    window = now - now % 30
    form.locator("input").nth(0).fill(oathtool(seed, window - 30))
    form.locator("input").nth(1).fill(oathtool(seed, window))
    form.get_by_role("button", name="Assign MFA").click()
    wait_text(page, CODES, "Done:", timeout=60_000)
    page.wait_for_function(
        "!document.body.textContent.includes(\"MFA devices of 'Administrator': none\")",
        timeout=30_000,
    )
    s3_text = _no_stale_line(page, "S3")
    assert SERIAL in s3_text and "assigned " + SERIAL in s3_text
    assert_absent(seed, page.content(), "the S3 page after Assign MFA")
    s3 = _record(session, "03_enable_virtual_mfa")
    assert s3["status"] == "done", s3["status"]
    assert s3["steps_done"][-1] == "Verify" and any(s.startswith("S3.8") for s in s3["steps_done"])

    # nothing secret in a saved file of the session; the checkout is as it was
    for saved in session.rglob("*"):
        if saved.is_file():
            text = saved.read_text(errors="replace")
            assert_absent(password, text, f"the session file {saved.name}")
            assert_absent(seed, text, f"the session file {saved.name}")
    assert _git_status() == git_before, "the Lab session changed the checkout"
    assert not page.blocked, f"the page tried to leave 127.0.0.1: {page.blocked[:3]}"
