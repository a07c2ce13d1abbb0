"""Notebook 07 as a Voilà app: the plan as rows, one click runs one step, and the WHOLE page is
read afterwards: the step's row says done with its run folder (once), has no button and no
command left, the other rows are unchanged, and the account changed only as that step says
(read with a second client). Nothing is written before the click."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
from browser.browser_pages import page_text, wait_dom_text

from runbook_lib.core.sandbox import Sandbox

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "07_fix_findings.ipynb"
ROW = ".runbook-fix-step"
STEP1 = "Step 1 — 04_set_password_policy closes 2.8, 2.9"


def test_voila_07_runs_one_step_per_button_and_its_row_says_what_is_true(
    voila_app: Any, sandbox: Sandbox, page: Any, tmp_path: Path
) -> None:
    iam = boto3.client("iam", endpoint_url=sandbox.url, region_name="us-east-1")
    iam.create_user(UserName="bob")  # a seeded FAIL: a console user without MFA
    iam.create_login_profile(UserName="bob", Password="Bob-initial-Passw0rd!")
    app = voila_app(NOTEBOOK, RUNBOOK_SECRETS_DIR=str(tmp_path / "secrets"))
    page.goto(app.page_url(), timeout=90_000)
    rows = page.locator(ROW)
    rows.nth(4).wait_for(timeout=120_000)  # 04, 01, 03 Administrator, 03 bob, manual 2.15
    wait_dom_text(page, "Run the steps above, then audit again to compare.")  # Verify ran
    text = page_text(page)
    assert "Traceback" not in text and "There was an error" not in text, text[-800:]
    assert "import " not in text, "Voilà shows code"
    assert "Step 3 — 03_enable_virtual_mfa for bob closes 2.10" in text, text[-2500:]
    assert text.count("runbook run 04_set_password_policy") == 1
    assert "Sign in as root" not in text  # no manual step the audit did not ask for
    assert iam.list_users()["Users"][0]["UserName"] == "bob" and len(iam.list_users()["Users"]) == 1
    try:
        iam.get_account_password_policy()
        raise AssertionError("the page load set a password policy")
    except iam.exceptions.NoSuchEntityException:
        pass

    row = rows.filter(has_text=STEP1)
    row.get_by_role("button", name="Run this step").click()
    wait_dom_text(page, f"{STEP1}: done → ", timeout=180_000)
    page.wait_for_timeout(300)
    text = page_text(page)
    # the row says only what is true now: done, its run folder, nothing left to do
    (line,) = [x for x in text.splitlines() if x.startswith(STEP1)]
    assert ": done → " in line and "/runs/" in line, line
    assert "runbook run 04_set_password_policy" not in text, "a done step still shows its command"
    assert "not destructive" not in line and "running" not in text
    assert row.get_by_role("button", name="Run this step").is_hidden()
    run_dir = Path(line.split("→ ", 1)[1])  # next to the session's record
    assert run_dir.parent == Path(app.env["RUNBOOK_RECORD"]).parent / "runs"
    assert (run_dir / "run.json").is_file()  # the step's own run record
    # the other steps are still to do, each once, with their buttons
    assert text.count("runbook run 01_create_admin_user") == 1
    assert rows.filter(has_text="Step 2 — 01_create_admin_user").get_by_role("button").is_visible()
    # AWS: the policy the step set, and nothing of the other steps
    assert iam.get_account_password_policy()["PasswordPolicy"]["MinimumPasswordLength"] >= 14
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["bob"]
