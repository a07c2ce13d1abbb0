"""Fixtures for the unit tests: the session's sandbox, reset per test, and a run context."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from runbook_lib import RunContext, preflight
from runbook_lib.sandbox import Sandbox


def _session_sandbox(config: pytest.Config) -> Sandbox | None:
    # `import conftest` here would import this very file (pytest's prepend mode puts tests/
    # first on sys.path): find the root conftest's sandbox among the registered plugins
    for plugin in config.pluginmanager.get_plugins():
        found = getattr(plugin, "SANDBOX", None)
        if isinstance(found, Sandbox):
            return found
    return None


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """The session's sandbox, emptied and re-seeded for this test."""
    session_sandbox = _session_sandbox(request.config)
    assert session_sandbox is not None, "the root conftest starts the sandbox"
    session_sandbox.reset()
    yield session_sandbox


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
