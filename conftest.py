"""Session set-up shared by the unit tests and nbval: one sandbox, no way to a real account.

This runs before any test or kernel starts (nbval's cells get no fixtures, so everything they
need is in the environment that the kernels inherit).
"""

from __future__ import annotations

import os
import tempfile

import pytest

from runbook_lib.core import environ
from runbook_lib.core.sandbox import Sandbox, apply_sandbox_environ, strip_real_credentials
from runbook_lib.testing import faults

# at import: nothing collected below may see a real profile or key, even before sessionstart
strip_real_credentials(os.environ)

SANDBOX: Sandbox | None = None


def pytest_sessionstart(session: pytest.Session) -> None:
    global SANDBOX
    scratch = tempfile.mkdtemp(prefix="runbook-tests-")
    os.environ["RUNBOOK_SECRETS_DIR"] = os.path.join(scratch, "secrets")
    os.environ[environ.HEADLESS] = "1"
    # kernels (and CLI processes) of this session honour RUNBOOK_FAULT_* variables
    os.environ[environ.SESSION_HOOK] = faults.HOOK
    os.environ["HOME_FOR_TESTS"] = scratch
    SANDBOX = Sandbox().start()
    apply_sandbox_environ(SANDBOX.url)


@pytest.fixture(scope="session")
def session_sandbox() -> Sandbox:
    """The sandbox started for this session (a fixture: test modules cannot import a conftest
    by name, both conftest files are module ``conftest``)."""
    assert SANDBOX is not None, "pytest_sessionstart starts the sandbox"
    return SANDBOX


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if SANDBOX is not None:
        SANDBOX.stop()
