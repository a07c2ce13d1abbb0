"""S2 in JupyterLab in chromium: Run All, the secret masked until Reveal, gone after "stored"."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import boto3
import nbformat
import pytest
from browser.browser_pages import (
    assert_absent,
    page_text,
    run_all,
    save_and_wait,
    wait_dom_text,
    wait_kernel_idle,
    wait_text,
)

from runbook_lib.core.sandbox import Sandbox

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "02_create_access_key.ipynb"
USER = "Administrator"  # the notebook's default user_name
SHOWN_ONCE = ".runbook-shown-once"


@pytest.fixture
def iam(sandbox: Sandbox) -> Any:
    """IAM on the (reset) sandbox, with S1's user in it: S2's prerequisite."""
    client = boto3.client("iam", endpoint_url=sandbox.url, region_name="us-east-1")
    client.create_user(UserName=USER)
    return client


@pytest.fixture
def widget_notebook(tmp_path: Path) -> Path:
    """A copy of S2 whose parameters hand the secret over in the shown-once widget only."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    copy = Path(shutil.copy(NOTEBOOK, folder))
    nb = nbformat.read(copy, as_version=4)
    (params,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    params.source, n = re.subn(
        r'^destination: str = "file"', 'destination: str = "widget"', params.source, flags=re.M
    )
    assert n == 1, "the parameters cell has no destination line"
    nbformat.write(nb, copy)
    return copy


def test_lab_run_all_shows_the_key_masked_then_once_and_never_saves_it(
    jupyter_lab: Any, iam: Any, widget_notebook: Path, page: Any, screenshot: Any, tmp_path: Path
) -> None:
    lab = jupyter_lab(widget_notebook.parent, RUNBOOK_SECRETS_DIR=str(tmp_path / "secrets"))
    page.goto(lab.page_url(f"lab/tree/{widget_notebook.name}"))
    run_all(page)
    widget = page.locator(SHOWN_ONCE)
    widget.wait_for(timeout=60_000)
    wait_dom_text(page, "Not verified yet: waiting for 'I have stored it'")  # Verify ran
    wait_kernel_idle(page)
    (key,) = iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]
    assert key["Status"] == "Active"
    assert f"access key ID {key['AccessKeyId']}" in widget.inner_text()
    assert "••••" in widget.inner_text(), "the secret is not masked before Reveal"
    widget.evaluate("el => el.scrollIntoView({block: 'center'})")
    screenshot(page, "lab-s2-access-key-masked")
    before_reveal = page.content() + page_text(page)

    widget.get_by_role("button", name="Reveal").click()
    wait_text(page, SHOWN_ONCE, "Hide")
    secret = widget.locator("code").first.inner_text().strip()
    assert len(secret) == 40 and "•" not in secret, "Reveal did not show a secret access key"
    screenshot(page, "lab-s2-access-key-revealed", readme=False)
    assert_absent(secret, before_reveal, "the page before Reveal")
    save_and_wait(page, widget_notebook)  # saved while revealed: still no value on disk
    assert_absent(secret, widget_notebook.read_text(), "the notebook saved while revealed")

    widget.get_by_role("button", name="I have stored it").click()
    wait_text(page, SHOWN_ONCE, "(removed)")
    # the button proved the key before dropping it, and refreshed Verify in place
    wait_dom_text(page, "The secret you stored authenticates: STS GetCallerIdentity")
    assert_absent(secret, page_text(page), "the page after 'I have stored it'")
    assert_absent(secret, page.content(), "the page's DOM after 'I have stored it'")
    screenshot(page, "lab-s2-access-key-stored", readme=False)
    save_and_wait(page, widget_notebook)
    saved = widget_notebook.read_text()
    assert_absent(secret, saved, "the saved notebook")
    assert "widgets" not in json.loads(saved)["metadata"], "Lab saved widget state"

    record_text = Path(lab.env["RUNBOOK_RECORD"]).read_text()
    assert_absent(secret, record_text, "the run record")
    record = json.loads(record_text)
    assert [s["destination"] for s in record["secrets"]] == ["widget: stored by a person"]
    assert ("S2.6", "done") in [(m["step"], m["status"]) for m in record["manual_steps"]]
    assert record["status"] == "done" and record["steps_done"][-1] == "Verify"
    assert not list((tmp_path / "secrets").glob("**/*")), "the widget run wrote a secret file"
    assert not page.blocked, f"the page tried to leave 127.0.0.1: {page.blocked[:3]}"
