"""Fixtures for the unit tests: the session's sandbox, reset per test, and a run context."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import reset_sandbox

from runbook_lib import RunContext, preflight
from runbook_lib.core.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """The session's sandbox, emptied and re-seeded for this test."""
    # a handle on the server the root conftest started (``import conftest`` would find this
    # file, not the root one: pytest imports every conftest.py under the same module name)
    yield reset_sandbox()


@pytest.fixture
def ctx(sandbox: Sandbox) -> RunContext:
    """A run context on a clean sandbox (apply mode, headless)."""
    return preflight("test", target="sandbox")


@pytest.fixture
def secrets_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private folder for secret files of this test."""
    folder = tmp_path / "secrets"
    monkeypatch.setenv("RUNBOOK_SECRETS_DIR", str(folder))
    return folder


@pytest.fixture
def no_real_aws() -> None:
    """Asserts the environment cannot reach a real account."""
    assert "AWS_PROFILE" not in os.environ
