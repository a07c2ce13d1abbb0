"""Page helpers shared by the browser tests (import as ``from browser_pages import ...``).

Failure messages name where a secret was found, never the secret: pytest's assertion
introspection would print both strings of a plain ``assert secret not in text``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


def assert_absent(secret: str, text: str, where: str) -> None:
    """Fail naming ``where`` only if ``secret`` occurs in ``text``."""
    found = bool(secret) and secret in text
    assert not found, f"the secret is in {where}"


def page_text(page: Any) -> str:
    """The text a person sees on the page."""
    text: str = page.evaluate("document.body.innerText")
    return text


def wait_kernel_idle(page: Any) -> None:
    """Wait until JupyterLab's status bar reads ``| Idle`` (Run All is dropped before that)."""
    page.wait_for_function(
        "document.querySelector('#jp-main-statusbar')?.innerText.includes('| Idle')",
        timeout=60_000,
    )


def run_all(page: Any) -> None:
    """JupyterLab: Run → Run All Cells (once the kernel is idle)."""
    wait_kernel_idle(page)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator("[data-command='runmenu:run-all']").click()


def save_and_wait(page: Any, notebook: Path) -> None:
    """JupyterLab: Ctrl+S, then wait until the file on disk changed."""
    before = notebook.stat().st_mtime_ns
    page.locator(".jp-Notebook .jp-InputPrompt").first.click()  # focus the notebook
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 15
    while notebook.stat().st_mtime_ns == before:
        assert time.monotonic() < deadline, "Ctrl+S did not save the notebook"
        page.wait_for_timeout(100)  # not time.sleep: the request router must keep running


def wait_text(page: Any, selector: str, text: str, timeout: float = 30_000) -> None:
    """Wait until the first element matching ``selector`` shows ``text``."""
    page.wait_for_function(
        "([sel, t]) => document.querySelector(sel)?.innerText.includes(t)",
        arg=[selector, text],
        timeout=timeout,
    )


def wait_dom_text(page: Any, text: str, timeout: float = 60_000) -> None:
    """Wait until ``text`` is in the DOM (``textContent``: off-screen cells count too)."""
    page.wait_for_function("t => document.body.textContent.includes(t)", arg=text, timeout=timeout)
