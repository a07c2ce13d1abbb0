"""S1 as a Voilà app in chromium: the billing manual step is confirmed by a person, and recorded."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import boto3
from browser_pages import assert_absent, page_text, wait_dom_text, wait_text

from runbook_lib.sandbox import Sandbox

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "01_create_admin_user.ipynb"
CONFIRM = ".runbook-confirm-step"
BILLING = "S1.2"


def _billing(record_path: Path) -> dict[str, str]:
    steps = json.loads(record_path.read_text())["manual_steps"]
    (step,) = [s for s in steps if s["step"] == BILLING]
    return dict(step)


def test_voila_billing_confirmation_is_recorded_as_done_by_a_person(
    voila_app: Any, sandbox: Sandbox, page: Any, screenshot: Any, tmp_path: Path
) -> None:
    secrets_dir = tmp_path / "secrets"
    app = voila_app(NOTEBOOK, RUNBOOK_SECRETS_DIR=str(secrets_dir))
    page.goto(app.page_url(), timeout=60_000)
    step = page.locator(CONFIRM)
    step.wait_for(timeout=60_000)
    wait_dom_text(page, "✓ user 'Administrator'")  # Verify, the last cell, passed
    record_path = Path(app.env["RUNBOOK_RECORD"])
    assert _billing(record_path)["status"] == "pending"
    assert "Activate IAM Access" in step.inner_text(), "the step's instructions are missing"
    assert "import " not in page_text(page), "Voilà shows code"

    step.get_by_role("button", name="I have done this").click()
    wait_text(page, CONFIRM, "recorded")
    step.evaluate("el => el.scrollIntoView({block: 'center'})")  # Voilà scrolls inside a div
    screenshot(page, "voila-s1-billing-confirmed")
    assert _billing(record_path) == {
        "step": BILLING,
        "title": "Activate IAM access to billing information (root, console only)",
        "status": "done",
        "how": "confirmed in the notebook by a person",
    }

    iam = boto3.client("iam", endpoint_url=sandbox.url, region_name="us-east-1")
    groups = iam.list_groups_for_user(UserName="Administrator")["Groups"]
    assert [g["GroupName"] for g in groups] == ["Administrators"]
    (sign_in_csv,) = secrets_dir.glob("**/*.csv")
    with sign_in_csv.open(newline="", encoding="utf-8-sig") as f:
        (row,) = csv.DictReader(f)
    password = row["Password"]
    assert password, "the sign-in CSV has no password"
    assert_absent(password, page.content(), "the Voilà page")
    assert_absent(password, record_path.read_text(), "the run record")
    assert all("cdn" in url for url in page.blocked), page.blocked[:3]  # Voilà's CDN stylesheet
