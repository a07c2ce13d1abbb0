"""``runbook app 06 --sandbox --member-accounts 3 -p assign_to org`` as a person starts it:
the page loads on an Organization sandbox, the group is assigned in the 4 accounts before anyone
presses anything, and the two confirmation buttons (the user's first password, the user's MFA
registration) each turn their pending line into the done line in place. After every click the
WHOLE page is read: no sentence speaks of a confirmed step as still to come, no result is shown
twice, and the run record ends done with both steps and Verify.

The server gets a fresh sandbox of its own (as a person does): pointed at an already running
sandbox (``RUNBOOK_SANDBOX_URL``), ``runbook app`` ignores ``--member-accounts``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser.browser_pages import cli_server, page_text, wait_dom_text

from runbook_lib.core import environ

CONFIRM = ".runbook-confirm-step"
RECORD = "06_identity_center_admin.run.json"
STEPS = {
    "S6.8": "Set up the user's first password (console or e-mail)",
    "S6.9": "The user registers MFA in the AWS access portal",
}
PRESS = "press this step's 'I have done this' button once done"


def pending_line(step: str) -> str:
    return f"Manual step {step} — {STEPS[step]}: pending until confirmed ({PRESS})"


def done_line(step: str) -> str:
    return f"Manual step {step} — {STEPS[step]}: done (confirmed in the notebook by a person)"


@pytest.fixture
def app_06(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The CLI's app on 06 over an Organization of 3 members, assigning in all 4 accounts;
    (page URL, session folder)."""
    args = ("app", "06", "--sandbox", "--member-accounts", "3", "-p", "assign_to", "org")
    drop = (environ.SANDBOX_URL,)  # a fresh sandbox of its own, as a person gets
    with cli_server(tmp_path, *args, ready="Voilà is running", env_drop=drop) as started:
        yield started


def record_of(session: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((session / RECORD).read_text("utf-8"))
    return data


def manual_status(session: Path) -> dict[str, str]:
    return {m["step"]: m["status"] for m in record_of(session)["manual_steps"]}


def assert_once(text: str, line: str) -> None:
    count = text.count(line)
    assert count == 1, f"{line!r} is on the page {count} times"


def assert_page_matches(text: str, done: set[str]) -> None:
    """The whole page, with ``done`` confirmed: one line per step in its current state, no
    sentence that treats a confirmed step as still to come, Verify's next step once."""
    for step in STEPS:
        if step in done:
            assert_once(text, done_line(step))
            assert pending_line(step) not in text, f"{step} still reads as pending"
            assert f"Manual step {step} — {STEPS[step]}: pending" not in text
        else:
            assert_once(text, pending_line(step))
            assert done_line(step) not in text, f"{step} reads as done before its click"
    waiting = sorted(set(STEPS) - done)
    assert text.count(PRESS) == len(waiting), "a confirmed step still asks for its button"
    assert_once(text, "✓ alice is in group Administrators (IsMemberInGroups)")
    assert text.count("Next:") == 1, "Verify's next step is shown twice (or not at all)"
    if waiting:
        assert_once(text, f"Next: finish manual step(s) {', '.join(waiting)};")
        for step in done:
            assert step not in text.split("Next:")[1].splitlines()[0], f"Next still names {step}"
    else:
        assert "finish manual step" not in text
        assert_once(text, "Next: alice signs in at https://")


def test_app_06_confirms_both_manual_steps_in_place_and_the_record_ends_done(
    app_06: tuple[str, Path], page: Any
) -> None:
    url, session = app_06
    page.goto(url, timeout=90_000)
    boxes = page.locator(CONFIRM)
    try:
        boxes.nth(1).wait_for(timeout=90_000)
        wait_dom_text(page, "Next: finish manual step(s)")  # Verify, the last cell, ran
    except Exception:
        pytest.fail(f"no confirmation buttons; the page says: {page_text(page)[-1500:]}")
    text = page_text(page)
    assert "There was an error" not in text and "Traceback" not in text, text[-800:]
    assert "import " not in text, "Voilà shows code"
    assert "Group Administrators with permission set AdministratorAccess in 4 account(s)" in text
    assert text.count(": group Administrators has AdministratorAccess") == 4
    assert_page_matches(text, done=set())
    assert manual_status(session) == {"S6.8": "pending", "S6.9": "pending"}

    clicked: set[str] = set()
    for step, needle in (("S6.8", "first password"), ("S6.9", "registers MFA")):
        box = boxes.filter(has_text=needle)
        box.get_by_role("button", name="I have done this").click()
        box.get_by_text("Done: recorded in the run record.").wait_for()
        clicked.add(step)
        wait_dom_text(page, done_line(step))
        waiting = sorted(set(STEPS) - clicked)  # Verify's live line follows the same click
        wait_dom_text(
            page, f"Next: finish manual step(s) {', '.join(waiting)};" if waiting else "Next: alice"
        )
        page.wait_for_timeout(300)  # let every live area of the same refresh land
        assert_page_matches(page_text(page), done=clicked)
        assert manual_status(session)[step] == "done"

    record = record_of(session)
    assert record["status"] == "done"
    assert record["steps_done"] == [f"{s} {t}" for s, t in STEPS.items()] + ["Verify"]
    assert {m["how"] for m in record["manual_steps"]} == {"confirmed in the notebook by a person"}
    assert record["writes"] > 0 and not record.get("error")
    assert all("cdn" in u for u in page.blocked), page.blocked[:3]  # Voilà's CDN stylesheet only
