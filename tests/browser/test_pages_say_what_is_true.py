"""S1, S2 and S3 in JupyterLab and in Voilà: after every button the page says only what is true
now, and each result is on it once.

Each test runs one runbook as a person does (Lab: Run All; Voilà: the app), presses every button
in order and, after each one, reads the whole page (markdown and outputs) and fails on

- a phrase that describes, in the future or as waiting, a step that is done by now (the lists
  below, per button: they add up, so a line that comes back later fails too);
- a result line that is on the page twice (under a button and again in its own cell);
- a secret on the page once it is hidden or stored;
- a widget button whose label is cut.

Every wait is for a line on the page, never a sleep.
"""

from __future__ import annotations

import contextlib
import csv
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import nbformat
import pytest
from browser.browser_pages import assert_absent, oathtool, run_all, wait_kernel_idle
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from runbook_lib.core.sandbox import Sandbox

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"
USER = "Administrator"  # the notebooks' default user_name
#: the whole page as a person reads it: Voilà's body; Lab's markdown and outputs (not the code)
PAGE_TEXT_JS = """() => {
  const nb = document.querySelector('.jp-Notebook');
  if (!nb) return document.body.innerText;
  const sel = '.jp-RenderedMarkdown, .jp-OutputArea-output';  // outermost only: widgets nest
  return Array.from(nb.querySelectorAll(sel)).filter(e => !e.parentElement.closest(sel))
    .map(e => e.innerText).join('\\n');
}"""
#: widget buttons whose label does not fit (visible ones only)
CUT_LABELS_JS = """() => Array.from(document.querySelectorAll('button.jupyter-button'))
  .filter(b => b.offsetParent !== null && b.scrollWidth > b.clientWidth + 1)
  .map(b => b.innerText.trim())"""
#: shorter lines are labels ("MFA code 1", "Done:") that may repeat
MIN_RESULT_LINE = 30

#: per notebook, per button: phrases about that button's step that must be gone once pressed
S1_STALE = {
    "I have done this": [
        "pending until confirmed",
        "press this step's 'I have done this' button",
        "Waiting for you.",
    ],
    "Create": [
        "Create will make these changes",
        "will write the sign-in CSV",
        "Step 8 will",
        "Step 7 waits for you",
        "Waiting for Step 7",
        "Not verified yet",
        "Nothing is changed until you press",
        "what will be created",
        "shows their results under the button",
        "until then it says that it waits",
    ],
}
S2_STALE = {
    "Reveal": [],
    "Hide": [],
    "I have stored it": [
        "will be shown once",
        "It is shown once: after you confirm",
        "Shown once above",
        "cannot be shown again",
        "Copy it into your password manager now",
        "Waiting for you",
        "until then a re-run treats",
        "Not verified yet",
    ],
}
S3_STALE = {
    "Show QR code": [],
    "Hide QR code": [],
    "Reveal secret key": [],
    "Hide secret key": [],
    "Show codes": ["Press Show codes to see the current code"],
    "Assign MFA": [
        "scan the QR code above",
        "then type two codes in Step 8",
        "Then type two consecutive codes in Step 8",
        "waiting: type two consecutive codes",
        "Type the code the app shows now",
        "then press Assign MFA at once",
        "Not verified yet",
        f"MFA devices of '{USER}': none",
    ],
}


class Reader:
    """Reads the page after each button and keeps the phrases that must stay gone."""

    def __init__(self, page: Any, where: str) -> None:
        self.page, self.where = page, where
        self.gone: list[str] = []

    def text(self) -> str:
        text: str = self.page.evaluate(PAGE_TEXT_JS)
        return text

    def after(self, button: str, stale: list[str], expect: str = "") -> str:
        """Wait until the button's result ``expect`` is on the page and the live lines are
        replaced, then check the whole page (without ``expect``, a button whose stale phrases
        were never there would be read before its answer came)."""
        self.gone += stale
        with contextlib.suppress(PlaywrightTimeout):  # then say which phrases stayed
            self.page.wait_for_function(
                "([phrases, expect]) => { const t = (" + PAGE_TEXT_JS + ")();"
                " return t.includes(expect) && !phrases.some(p => t.includes(p)); }",
                arg=[self.gone, expect],
                timeout=60_000,
            )
        text = self.text()
        assert expect in text, f"{self.where}, after {button!r}: no {expect!r} on the page\n{text}"
        left = [p for p in self.gone if p in text]
        assert not left, f"{self.where}, after {button!r}: still on the page: {left}\n{text}"
        twice = [
            line
            for line, n in Counter(line.strip() for line in text.splitlines()).items()
            if n > 1 and len(line) >= MIN_RESULT_LINE
        ]
        assert not twice, f"{self.where}, after {button!r}: on the page twice: {twice}\n{text}"
        cut: list[str] = self.page.evaluate(CUT_LABELS_JS)
        assert not cut, f"{self.where}, after {button!r}: labels cut: {cut}"
        return text


def _press(scope: Any, name: str) -> None:
    scope.get_by_role("button", name=name).first.click()  # the icon is in the name too


def _open(frontend: str, notebook: Path, page: Any, starters: dict[str, Any], **env: str) -> None:
    """Open ``notebook`` in ``frontend`` and wait until its last cell (Verify) has run."""
    page.set_viewport_size({"width": 1280, "height": 16_000})  # every cell drawn: all text read
    if frontend == "lab":
        server = starters["lab"](notebook.parent, **env)
        page.goto(server.page_url(f"lab/tree/{notebook.name}"), timeout=60_000)
        run_all(page)
    else:
        server = starters["voila"](notebook, **env)
        page.goto(server.page_url(), timeout=60_000)
    page.wait_for_function(
        "t => document.body.textContent.includes(t)", arg="Not verified yet", timeout=120_000
    )
    if frontend == "lab":
        wait_kernel_idle(page)


@pytest.fixture
def starters(jupyter_lab: Any, voila_app: Any) -> dict[str, Any]:
    return {"lab": jupyter_lab, "voila": voila_app}


@pytest.fixture
def copies(tmp_path: Path) -> Callable[[str, dict[str, str]], Path]:
    """``copy(name, {parameter: python literal})``: the notebook in a folder of its own."""

    def copy(name: str, params: dict[str, str]) -> Path:
        folder = tmp_path / "notebooks"
        folder.mkdir(exist_ok=True)
        path = Path(shutil.copy(NOTEBOOKS / name, folder))
        nb = nbformat.read(path, as_version=4)
        (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        for param, value in params.items():
            cell.source, n = re.subn(
                rf"^({param}: \w+ = ).*$", rf"\g<1>{value}", cell.source, flags=re.M
            )
            assert n == 1, f"no parameter {param}"
        nbformat.write(nb, path)
        return path

    return copy


@pytest.fixture
def iam(sandbox: Sandbox) -> Any:
    """IAM on the (reset) sandbox, read by a second client."""
    return boto3.client("iam", endpoint_url=sandbox.url, region_name="us-east-1")


@pytest.mark.parametrize("frontend", ["lab", "voila"])
def test_s1_page_after_each_button(
    frontend: str, starters: dict[str, Any], copies: Any, iam: Any, page: Any, tmp_path: Path
) -> None:
    secrets_dir = tmp_path / "secrets"
    notebook = copies("01_create_admin_user.ipynb", {})
    _open(frontend, notebook, page, starters, RUNBOOK_SECRETS_DIR=str(secrets_dir))
    read = Reader(page, f"S1 in {frontend}")
    read.after("(page load)", [])
    assert iam.list_users()["Users"] == [], "the page load made writes before Create"

    _press(page.locator(".runbook-confirm-step"), "I have done this")
    read.after(
        "I have done this", S1_STALE["I have done this"], "Done: recorded in the run record."
    )

    _press(page.locator(".runbook-apply-form"), "Create")
    text = read.after("Create", S1_STALE["Create"], "Review — made these changes:")
    assert f"✓ user '{USER}'" in text and f"Sign-in CSV of '{USER}'" in text, text
    assert "Review — made these changes:" in text, text
    groups = iam.list_groups_for_user(UserName=USER)["Groups"]
    assert [g["GroupName"] for g in groups] == ["Administrators"]
    (sign_in,) = secrets_dir.glob("**/*_credentials.csv")
    with sign_in.open(newline="", encoding="utf-8-sig") as f:
        (row,) = csv.DictReader(f)
    assert_absent(row["Password"], page.content(), f"the S1 page in {frontend}")


@pytest.mark.parametrize("frontend", ["lab", "voila"])
def test_s2_page_after_each_button(
    frontend: str, starters: dict[str, Any], copies: Any, iam: Any, page: Any, tmp_path: Path
) -> None:
    iam.create_user(UserName=USER)  # S1's user: S2's prerequisite
    notebook = copies("02_create_access_key.ipynb", {"destination": '"widget"'})
    _open(frontend, notebook, page, starters, RUNBOOK_SECRETS_DIR=str(tmp_path / "secrets"))
    read = Reader(page, f"S2 in {frontend}")
    read.after("(page load)", [])
    widget = page.locator(".runbook-shown-once")

    _press(widget, "Reveal")
    page.wait_for_function(
        "() => !document.querySelector('.runbook-shown-once').innerText.includes('•')"
    )
    secret = widget.locator("code").first.inner_text().strip()
    assert len(secret) == 40, "Reveal did not show a secret access key"
    read.after("Reveal", S2_STALE["Reveal"])

    _press(widget, "Hide")
    page.wait_for_function(  # the kernel's answer to Hide, not the page before it
        "() => document.querySelector('.runbook-shown-once').innerText.includes('•')"
    )
    read.after("Hide", S2_STALE["Hide"])
    assert_absent(secret, page.content(), f"the S2 page in {frontend} after Hide")

    _press(widget, "I have stored it")
    text = read.after(
        "I have stored it", S2_STALE["I have stored it"], "The secret you stored authenticates"
    )
    assert "The secret you stored authenticates" in text, text
    assert_absent(secret, page.content(), f"the S2 page in {frontend} after 'I have stored it'")
    (key,) = iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]
    assert key["Status"] == "Active"


@pytest.mark.parametrize("frontend", ["lab", "voila"])
def test_s3_page_after_each_button(
    frontend: str, starters: dict[str, Any], copies: Any, iam: Any, page: Any, tmp_path: Path
) -> None:
    iam.create_user(UserName=USER)  # S1's user: S3's prerequisite
    notebook = copies("03_enable_virtual_mfa.ipynb", {})
    _open(frontend, notebook, page, starters, RUNBOOK_SECRETS_DIR=str(tmp_path / "secrets"))
    read = Reader(page, f"S3 in {frontend}")
    read.after("(page load)", [])
    panel, form = page.locator(".runbook-qr-panel"), page.locator(".runbook-code-form")

    _press(panel, "Show QR code")
    panel.locator("img").wait_for(state="visible")
    read.after("Show QR code", S3_STALE["Show QR code"])
    _press(panel, "Hide QR code")
    panel.locator("img").wait_for(state="hidden")
    read.after("Hide QR code", S3_STALE["Hide QR code"])

    _press(panel, "Reveal secret key")
    page.wait_for_function(
        "() => !document.querySelector('.runbook-qr-panel').innerText.includes('•')"
    )
    seed = "".join(panel.locator("code").inner_text().split())
    read.after("Reveal secret key", S3_STALE["Reveal secret key"])
    _press(panel, "Hide secret key")
    page.wait_for_function(
        "() => document.querySelector('.runbook-qr-panel').innerText.includes('•')"
    )
    read.after("Hide secret key", S3_STALE["Hide secret key"])
    assert_absent(seed, page.content(), f"the S3 page in {frontend} after Hide secret key")

    phone = page.locator(".runbook-virtual-authenticator")
    _press(phone, "Show codes")
    phone.get_by_text("s left").wait_for()
    read.after("Show codes", S3_STALE["Show codes"])

    now = int(time.time())
    window = now - now % 30
    form.locator("input").nth(0).fill(oathtool(seed, window - 30))
    form.locator("input").nth(1).fill(oathtool(seed, window))
    _press(form, "Assign MFA")
    text = read.after("Assign MFA", S3_STALE["Assign MFA"], "assigned arn:aws:iam::")
    serial = f"arn:aws:iam::{iam.get_user(UserName=USER)['User']['Arn'].split(':')[4]}:mfa/{USER}"
    assert f"assigned {serial} to '{USER}'" in text, text
    devices = iam.list_mfa_devices(UserName=USER)["MFADevices"]
    assert [d["SerialNumber"] for d in devices] == [serial]
    assert_absent(seed, page.content(), f"the S3 page in {frontend} after Assign MFA")
