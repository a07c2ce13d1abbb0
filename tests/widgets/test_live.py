"""Live notebooks: a button's result replaces every line that depended on it, the
wording points at where things are, and the run record of an interactive run says whether
Verify ran.

Each test drives a section's verbs in this process as JupyterLab's Run All would, then presses
the buttons: ``Page`` stands in for the frontend (what each cell's result shows, updated in
place by ``refresh_live``). The browser test (tests/browser/test_lab_live_session.py) does the
same in a real JupyterLab once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.aws import reset_sandbox
from support.s1_flow import new_ctx, params

from runbook_lib import preflight, widgets
from runbook_lib.access_key import live as key_live
from runbook_lib.access_key import request as key_request
from runbook_lib.access_key.apply import ensure_access_key
from runbook_lib.access_key.handover import deliver_key, show_key
from runbook_lib.access_key.rotation import retire_old_key
from runbook_lib.access_key.verify import verify_access_key
from runbook_lib.admin_user.billing import BILLING_STEP, BILLING_TITLE
from runbook_lib.core import environ
from runbook_lib.core.context import RunContext
from runbook_lib.core.record import DONE, INCOMPLETE, RunRecord
from runbook_lib.core.totp import current_code
from runbook_lib.manual import manual_step
from runbook_lib.virtual_mfa.apply import ensure_assigned
from runbook_lib.virtual_mfa.live import show_device
from runbook_lib.virtual_mfa.request import check_request
from runbook_lib.widgets import live

#: words of a line that waits for a button (stale once the button did its work)
STALE = ("press Create", "pending until confirmed", "Waiting for", "waiting", "Not verified yet")


class _Cell:
    """A ``LiveCell`` as the page shows it: the text of its current view."""

    def __init__(self, view: object) -> None:
        self.out = self
        self.update(view)

    def update(self, view: object) -> None:
        self.text = str(getattr(view, "data", "") or repr(view))  # an error line is HTML


class Page:
    """What a live frontend shows: each cell's result (live ones updated in place)."""

    def __init__(self) -> None:
        self.cells: list[Any] = []
        self.widgets: list[Any] = []

    def show(self, result: object) -> None:
        """Display a cell's result as IPython does (``_ipython_display_`` first)."""
        hook = getattr(result, "_ipython_display_", None)
        if callable(hook):
            hook()
        elif result is not None:
            self.cells.append(repr(result))

    def text(self) -> str:
        return "\n".join(c if isinstance(c, str) else c.text for c in self.cells)


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Page]:
    shown = Page()
    monkeypatch.delenv(environ.HEADLESS, raising=False)
    monkeypatch.setattr(live, "_interactive", lambda: True)
    monkeypatch.setattr(live, "LiveCell", _Cell)
    monkeypatch.setattr("IPython.display.display", shown.cells.append)
    monkeypatch.setattr(widgets, "show", shown.widgets.append)
    live.forget_live()
    yield shown
    live.forget_live()


def _live(ctx: RunContext) -> RunContext:
    ctx.interactive = True
    ctx.record.begin_interactive()
    return ctx


def _no_stale_line(text: str) -> None:
    stale = [w for w in (*STALE, "below") if w in text]
    assert not stale, f"stale or misplaced wording {stale} on the page:\n{text}"


# ---- manual steps ------------------------------------------------------------------------
def test_confirming_a_manual_step_turns_its_pending_line_into_the_confirmed_one(
    page: Page, tmp_path: Path
) -> None:
    ctx = _live(preflight("test_manual", target="sandbox"))
    page.show(manual_step(ctx, "S9.1", "Do a thing", "<p>do it</p>", confirm_param="done_it"))
    (confirm,) = page.widgets
    before = page.text()
    assert "pending until confirmed" in before and "'I have done this'" in before
    assert "below" not in before  # the button is in the same cell, above the line
    confirm._confirm()
    assert (
        page.text() == "Manual step S9.1 — Do a thing: done (confirmed in the notebook by a person)"
    )
    assert ctx.record.pending == []


def test_headless_a_manual_step_names_the_parameter_instead_of_a_button() -> None:
    ctx = new_ctx()
    result = manual_step(ctx, "S9.1", "Do a thing", "<p>do it</p>", confirm_param="done_it")
    assert "re-run with done_it: true once done" in repr(result)
    assert getattr(result, "_ipython_display_", None) is None  # IPython shows the repr


# ---- S1: billing confirmation and Create ---------------------------------------------------
@pytest.fixture
def s1_clean() -> None:
    from support.aws import empty_iam

    empty_iam(new_ctx().iam)


def test_s1_create_and_billing_leave_no_stale_line(
    s1_clean: None, page: Page, tmp_path: Path
) -> None:
    from runbook_lib import admin_user

    ctx = _live(new_ctx())
    page.show(admin_user.billing_access(ctx, confirmed=False))
    request = admin_user.check_request(ctx, **params(tmp_path / "secrets"))
    users = admin_user.find_users(ctx, request)
    created = admin_user.review_and_create(ctx, users, admin_user.find_groups(ctx, request))
    page.show(created)
    page.show(admin_user.deliver_sign_in(ctx, created))
    page.show(admin_user.verify(ctx, created))
    before = page.text()
    assert "press Create" in before and "Not verified yet" in before and "Waiting for" in before
    assert ctx.record.to_dict()["status"] == INCOMPLETE
    billing, form = page.widgets
    billing._confirm()
    form.submit()
    after = page.text()
    _no_stale_line(after)
    assert "✓ user 'Administrator'" in after  # Verify, refreshed in its own cell
    # Step 7's changes take the plan's place in the form; its waiting line goes (once on the page)
    assert "Review — made these changes:" in form.status.value
    assert "Review —" not in after and "Step 7 waits" not in after
    assert "Sign-in CSV of 'Administrator'" in after  # Step 8's line
    record = ctx.record.to_dict()
    assert record["status"] == DONE
    assert record["steps_done"] == [
        f"{BILLING_STEP} {BILLING_TITLE}",
        "S1.7 Review the plan and press Create",
        "Verify",
    ]


# ---- S3: Assign MFA ----------------------------------------------------------------------
def test_s3_assign_replaces_the_scan_assign_and_verify_lines(page: Page) -> None:
    from runbook_lib import virtual_mfa

    box = reset_sandbox()
    ctx = _live(preflight("test_s3_live", target="sandbox"))
    ctx.iam.create_user(UserName="live-mfa")
    setup = check_request(ctx, user_name="live-mfa")
    device = virtual_mfa.ensure_virtual_device(ctx, setup)
    page.show(show_device(ctx, device))
    page.show(ensure_assigned(ctx, device))
    page.show(virtual_mfa.verify(ctx, device))
    before = page.text()
    assert "scan the QR code above" in before and "in the form above" in before
    assert "Not verified yet" in before and "below" not in before
    form = page.widgets[-1]
    assert isinstance(form, widgets.CodeForm) and device.seed is not None
    seed, now = device.seed.text(), time.time()
    form.code1.value, form.code2.value = current_code(seed, now - 30), current_code(seed, now)
    form.submit()
    after = page.text()
    _no_stale_line(after)
    # the result is the form's, once: the waiting line under it goes, not repeated
    assert f"assigned {device.serial} to &#x27;live-mfa&#x27;" in form.status.value
    assert f"assigned {device.serial}" not in after
    assert "MFA devices of 'live-mfa': none" not in after and device.serial in after
    assert ctx.record.to_dict()["status"] == DONE
    assert box.url


# ---- S2: I have stored it ----------------------------------------------------------------
def _no_sleep(_: float) -> None:
    """No waiting for IAM's eventual consistency."""


def test_s2_stored_proves_the_key_before_dropping_it_and_refreshes_verify(page: Page) -> None:
    reset_sandbox()
    ctx = _live(preflight("test_s2_live", target="sandbox"))
    ctx.iam.create_user(UserName="live-key")
    plan = key_request.check_request(ctx, "live-key", destination="widget")
    key = ensure_access_key(ctx, plan)
    page.show(show_key(ctx, plan, key))
    page.show(deliver_key(ctx, plan, key))
    page.show(retire_old_key(ctx, plan, key, sleep=_no_sleep))
    page.show(verify_access_key(ctx, plan, key, sleep=_no_sleep))
    before = page.text()
    assert "Not verified yet: waiting for 'I have stored it'" in before
    assert key.secret is not None and not key.secret.dropped  # kept for the proof
    assert ctx.record.to_dict()["status"] == INCOMPLETE
    (box,) = page.widgets
    fingerprint = key.secret.fingerprint
    box._stored()
    after = page.text()
    _no_stale_line(after)
    assert "The secret you stored authenticates: STS GetCallerIdentity" in after
    assert "Stored by you" in box.status.value and fingerprint in box.value_html.value
    assert "Shown once above" not in after, "Step 5's waiting line stayed under the widget"
    assert after.count(f"Delivered {key.key_id}") == 1, "Step 6's result is not there once"
    assert key.secret.dropped and box.secret.dropped
    assert ctx.record.to_dict()["status"] == DONE
    # Lab: running the Verify cell again gives the same answer from the proof
    assert "The secret you stored authenticates" in repr(
        verify_access_key(ctx, plan, key, sleep=_no_sleep)
    )


def test_s2_a_failed_proof_at_store_fails_the_refreshed_verify(
    page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runbook_lib.core.errors import VerifyFailed

    reset_sandbox()
    ctx = _live(preflight("test_s2_live", target="sandbox"))
    ctx.iam.create_user(UserName="live-key-2")
    plan = key_request.check_request(ctx, "live-key-2", destination="widget")
    key = ensure_access_key(ctx, plan)
    show_key(ctx, plan, key)

    def refused(*_: Any, **__: Any) -> str:
        raise VerifyFailed("Access key did not authenticate (test)")

    monkeypatch.setattr(key_live, "prove_key", refused)
    page.show(verify_access_key(ctx, plan, key, sleep=_no_sleep))
    (box,) = page.widgets
    box._stored()
    assert "VerifyFailed: Access key did not authenticate (test)" in page.text(), page.cells
    assert key.secret is not None and key.secret.dropped  # dropped all the same
    assert ctx.record.to_dict()["status"].startswith("incomplete: Verify failed: Access key")


# ---- the run record of an interactive run ------------------------------------------------
def test_an_interactive_record_is_incomplete_on_disk_until_verify(tmp_path: Path) -> None:
    record = RunRecord(notebook="01_create_admin_user", path=str(tmp_path / "r.json"))
    record.begin_interactive()
    record.manual("S1.7", "Review the plan and press Create", done=True, how="pressed Create")
    # the kernel is shut down here: the file already says what happened
    saved = json.loads((tmp_path / "r.json").read_text("utf-8"))
    assert saved["status"] == "incomplete: Verify not run"
    assert saved["steps_done"] == ["S1.7 Review the plan and press Create"]
    record.verified()
    saved = json.loads((tmp_path / "r.json").read_text("utf-8"))
    assert saved["status"] == "done" and saved["steps_done"][-1] == "Verify"


def test_a_headless_record_is_unchanged(tmp_path: Path) -> None:
    record = RunRecord(notebook="x", path=str(tmp_path / "r.json"))
    record.verified()
    record.verify_failed("no")
    record.save()
    saved = json.loads((tmp_path / "r.json").read_text("utf-8"))
    assert "status" not in saved and "steps_done" not in saved
    assert not new_ctx().record.status  # preflight in a headless process
