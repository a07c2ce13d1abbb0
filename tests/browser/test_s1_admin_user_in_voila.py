"""S1 as a Voilà app in chromium: the billing manual step is confirmed by a person, and Step 7
waits for Create: a weak typed password is refused, a good one is set and is only in the CSV."""

from __future__ import annotations

import csv
import json
import secrets
from pathlib import Path
from typing import Any

import boto3
from browser.browser_pages import assert_absent, page_text, wait_dom_text, wait_text

from runbook_lib.core.sandbox import Sandbox

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "01_create_admin_user.ipynb"
CONFIRM, CREATE = ".runbook-confirm-step", ".runbook-apply-form"
BILLING = "S1.2"


def _manual(record_path: Path, step_id: str = BILLING) -> dict[str, str]:
    steps = json.loads(record_path.read_text())["manual_steps"]
    (step,) = [s for s in steps if s["step"] == step_id]
    return dict(step)


def test_voila_billing_confirmation_and_a_typed_password_on_create(
    voila_app: Any, sandbox: Sandbox, page: Any, screenshot: Any, tmp_path: Path
) -> None:
    secrets_dir = tmp_path / "secrets"
    app = voila_app(NOTEBOOK, RUNBOOK_SECRETS_DIR=str(secrets_dir))
    page.goto(app.page_url(), timeout=60_000)
    step, form = page.locator(CONFIRM), page.locator(CREATE)
    step.wait_for(timeout=60_000)
    form.wait_for(timeout=60_000)
    wait_dom_text(page, "Not verified yet: waiting for Step 7")  # Verify, the last cell, ran
    record_path = Path(app.env["RUNBOOK_RECORD"])
    assert _manual(record_path)["status"] == "pending"
    assert _manual(record_path, "S1.7")["status"] == "pending"
    assert "Activate IAM Access" in step.inner_text(), "the step's instructions are missing"
    assert "import " not in page_text(page), "Voilà shows code"
    iam = boto3.client("iam", endpoint_url=sandbox.url, region_name="us-east-1")
    assert iam.list_users()["Users"] == [], "the page load made writes before Create"

    step.get_by_role("button", name="I have done this").click()
    wait_text(page, CONFIRM, "recorded")
    step.evaluate("el => el.scrollIntoView({block: 'center'})")  # Voilà scrolls inside a div
    screenshot(page, "voila-s1-billing-confirmed")
    assert _manual(record_path) == {
        "step": BILLING,
        "title": "Activate IAM access to billing information (root, console only)",
        "status": "done",
        "how": "confirmed in the notebook by a person",
    }

    # a password below the account's policy: refused in the form, nothing written
    field = form.locator("input[type=password]")
    field.fill("qwertzuiop")
    form.get_by_role("button", name="Create").click()
    wait_text(page, CREATE, "Not done:")
    assert "does not meet" in form.inner_text()
    assert field.input_value() == "", "the refused password stayed in the field"
    assert iam.list_users()["Users"] == [], "a refused password made writes"

    # a good one: Create makes the changes, writes the CSV (Step 8) and verifies
    typed = f"Typed-{secrets.token_hex(6)}-Pw1!"
    field.fill(typed)
    form.get_by_role("button", name="Create").click()
    wait_text(page, CREATE, "✓ create user 'Administrator'", timeout=60_000)  # the changes made
    page.wait_for_function(  # and Verify's result in its own cell, once
        "() => document.body.innerText.split(\"✓ user 'Administrator' (path /)\").length === 2",
        timeout=60_000,
    )
    assert field.input_value() == "", "the password stayed in the field"
    form.evaluate("el => el.scrollIntoView({block: 'start'})")
    screenshot(page, "voila-s1-created", readme=False)
    groups = iam.list_groups_for_user(UserName="Administrator")["Groups"]
    assert [g["GroupName"] for g in groups] == ["Administrators"]
    assert _manual(record_path, "S1.7")["status"] == "done"
    (sign_in_csv,) = secrets_dir.glob("**/*.csv")
    with sign_in_csv.open(newline="", encoding="utf-8-sig") as f:
        (row,) = csv.DictReader(f)
    same = row["Password"] == typed
    assert same, "the sign-in CSV does not hold the typed password"
    assert_absent(typed, page.content(), "the Voilà page")
    assert_absent(typed, page_text(page), "the Voilà page's text")
    assert_absent(typed, record_path.read_text(), "the run record")
    assert all("cdn" in url for url in page.blocked), page.blocked[:3]  # Voilà's CDN stylesheet
