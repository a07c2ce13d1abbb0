"""Assertions shared by the tests (import as `from helpers import ...`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook_lib.core.sandbox import Sandbox, running_sandbox_url


def assert_no_secret(paths: list[Path], values: list[str]) -> None:
    """Fail (without printing any value) if a secret value occurs in any of the files."""
    for path in paths:
        if not path.is_file():
            continue
        text = path.read_text("utf-8", errors="replace")
        for i, value in enumerate(values):
            if value and value in text:
                pytest.fail(f"secret #{i} (length {len(value)}) found in {path}", pytrace=False)


def reset_sandbox() -> Sandbox:
    """A handle on the session's sandbox (started by the root conftest), emptied and re-seeded.

    ``import conftest`` cannot reach the root conftest's server (pytest imports every
    ``conftest.py`` under that one name), so the handle is built from its URL.
    """
    url = running_sandbox_url()
    assert url, "the root conftest starts the sandbox"
    box = Sandbox(url=url)
    box.reset()
    return box
