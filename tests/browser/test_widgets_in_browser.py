"""The runbook widgets as a person uses them: in JupyterLab and in a Voilà app, in chromium."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from browser.browser_pages import assert_absent, page_text, run_all, save_and_wait, wait_kernel_idle

SHOWN_ONCE = ".runbook-shown-once"
CONFIRM = ".runbook-confirm-step"


def _fixture_secret() -> str:
    return "Fx-" + secrets.token_urlsafe(18)


def test_lab_secret_is_masked_revealed_then_gone_and_never_saved(
    jupyter_lab: Any, fixture_notebook: Path, page: Any, screenshot: Any
) -> None:
    secret = _fixture_secret()
    original = fixture_notebook.read_bytes()
    lab = jupyter_lab(fixture_notebook.parent, FIXTURE_SECRET=secret)
    page.goto(lab.page_url(f"lab/tree/{fixture_notebook.name}"))
    run_all(page)
    widget = page.locator(SHOWN_ONCE)
    widget.wait_for(timeout=60_000)
    page.locator(CONFIRM).wait_for()
    wait_kernel_idle(page)

    assert "••••" in widget.inner_text()
    assert_absent(secret, page_text(page), "the page before Reveal")
    screenshot(page, "lab-shown-once-masked")

    widget.get_by_role("button", name="Reveal").click()
    page.wait_for_function(
        "s => document.querySelector('.runbook-shown-once').innerText.includes(s)", arg=secret
    )
    screenshot(page, "lab-shown-once-revealed")
    unchanged = fixture_notebook.read_bytes() == original
    assert unchanged, "Lab wrote the notebook without a save (autosave is on)"
    save_and_wait(page, fixture_notebook)  # saved while revealed: still no value on disk
    assert_absent(secret, fixture_notebook.read_text(), "the notebook saved while revealed")

    widget.get_by_role("button", name="I have stored it").click()
    page.wait_for_function(
        "document.querySelector('.runbook-shown-once').innerText.includes('(removed)')"
    )
    assert_absent(secret, page_text(page), "the page after 'I have stored it'")
    assert_absent(secret, page.content(), "the page's DOM after 'I have stored it'")
    save_and_wait(page, fixture_notebook)
    saved = fixture_notebook.read_text()
    assert_absent(secret, saved, "the notebook saved after 'I have stored it'")
    widget_state = "widgets" in json.loads(saved)["metadata"]
    assert not widget_state, "Lab saved widget state in the notebook"
    assert not page.blocked, f"the page tried to leave 127.0.0.1: {page.blocked[:3]}"


def test_voila_confirmation_is_recorded_in_the_run_record(
    voila_app: Any, fixture_notebook: Path, page: Any, screenshot: Any
) -> None:
    secret = _fixture_secret()
    app = voila_app(fixture_notebook, FIXTURE_SECRET=secret)
    page.goto(app.page_url(), timeout=60_000)
    step = page.locator(CONFIRM)
    step.wait_for(timeout=60_000)
    record_path = Path(app.env["RUNBOOK_RECORD"])
    pending = json.loads(record_path.read_text())["manual_steps"]
    assert [(m["step"], m["status"]) for m in pending] == [("F.2", "pending")]
    assert_absent(secret, page_text(page), "the Voilà page before Reveal")
    assert "import os" not in page_text(page), "Voilà shows code"

    step.get_by_role("button", name="I have done this").click()
    page.wait_for_function(
        "document.querySelector('.runbook-confirm-step').innerText.includes('recorded')"
    )
    screenshot(page, "voila-confirm-step")
    record = json.loads(record_path.read_text())
    assert record["manual_steps"] == [
        {
            "step": "F.2",
            "title": "Confirm the fixture step",
            "status": "done",
            "how": "confirmed in the notebook by a person",
        }
    ]
    assert_absent(secret, record_path.read_text(), "the run record")
    assert all("cdn" in url for url in page.blocked), page.blocked[:3]  # Voilà's CDN stylesheet
