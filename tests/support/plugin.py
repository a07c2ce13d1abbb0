"""The sandbox plugin: one sandbox per session, no way to a real account, kernels counted.

Loaded by the root ``conftest.py`` for every pytest session of the project (unit tests, nbval,
browser tests). ``pytest_sessionstart`` runs before any test or kernel starts, and nbval's cells
get no fixtures, so everything a kernel needs is put in the environment it inherits:

- the sandbox's URL and fake credentials (``apply_sandbox_environ``), real credentials stripped;
- ``RUNBOOK_HEADLESS=1``, a private ``RUNBOOK_SECRETS_DIR``;
- ``RUNBOOK_SESSION_HOOK`` = the fault-injection hook (kernels and CLI processes honour
  ``RUNBOOK_FAULT_*`` variables);
- ``IPYTHONDIR`` whose start-up script appends a line to a counter file in every IPython kernel
  that starts (papermill, nbclient, nbval, ``runbook`` subprocesses, Voilà and Lab all read
  ``IPYTHONDIR`` from the environment). The terminal summary prints the count.

Under pytest-xdist each worker is a session of its own (its own sandbox and scratch folder);
the workers inherit the controller's counter file, and the controller prints the total.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from runbook_lib.core import environ
from runbook_lib.core.sandbox import Sandbox, apply_sandbox_environ, strip_real_credentials
from runbook_lib.testing import faults

#: the counter file of this session (set at session start, inherited by subprocesses)
KERNEL_COUNTER_VAR = "RUNBOOK_TESTS_KERNEL_COUNTER"

# at import: nothing collected below may see a real profile or key, even before sessionstart
strip_real_credentials(os.environ)


def _share_botocore_loader() -> None:
    """One botocore data loader for every session this test process creates.

    Each ``preflight`` builds a new botocore session, and each session decodes botocore's
    endpoint and service JSON again (≈0.3-0.6 s); the library does that once per kernel, the
    test process hundreds of times. The loader only reads botocore's own data files, so sharing
    it changes no behaviour (kernels and subprocesses are not affected).
    """
    import functools

    import botocore.session

    botocore.session.create_loader = functools.lru_cache(maxsize=4)(botocore.session.create_loader)


_share_botocore_loader()

_SANDBOX: Sandbox | None = None
_SCRATCH: Path | None = None
_OWN_COUNTER = False

_STARTUP = """\
def _runbook_tests_count_kernel():  # tests only: one line per IPython kernel started
    import os, sys
    if "ipykernel" in sys.modules:
        with open({path!r}, "a", encoding="utf-8") as counter:
            counter.write(f"{{os.getpid()}} {{os.getppid()}} {{os.getcwd()}}\\n")
_runbook_tests_count_kernel()
del _runbook_tests_count_kernel
"""


def install_kernel_counter(ipython_dir: Path) -> Path:
    """Make every IPython kernel started with ``IPYTHONDIR=ipython_dir`` count itself in this
    session's counter file (prints nothing). Tests that give a kernel its own ``IPYTHONDIR``
    call this on it, so no kernel escapes the count."""
    counter = os.environ.get(KERNEL_COUNTER_VAR, "")
    assert counter, "support.plugin sets the kernel counter at session start"
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-count-kernels.py").write_text(_STARTUP.format(path=counter), "utf-8")
    return ipython_dir


def kernels_started(*, mine: bool = False) -> int:
    """The number of kernels this session (and its subprocesses) started so far; ``mine``:
    only those this process started itself (the session's other xdist workers share the file)."""
    counter = Path(os.environ.get(KERNEL_COUNTER_VAR, "") or os.devnull)
    lines = counter.read_text("utf-8").splitlines() if counter.is_file() else []
    if mine:
        me = str(os.getpid())
        lines = [line for line in lines if line.split(" ", 2)[1:2] == [me]]
    return len(lines)


def pytest_sessionstart(session: pytest.Session) -> None:
    global _SANDBOX, _SCRATCH, _OWN_COUNTER
    _SCRATCH = Path(tempfile.mkdtemp(prefix="runbook-tests-"))
    os.environ[environ.SECRETS_DIR] = str(_SCRATCH / "secrets")
    os.environ[environ.HEADLESS] = "1"
    os.environ[environ.SESSION_HOOK] = faults.HOOK
    if not os.environ.get(KERNEL_COUNTER_VAR):  # a pytest run inside a test keeps its parent's
        counter = _SCRATCH / "kernels.log"
        counter.touch()
        os.environ[KERNEL_COUNTER_VAR] = str(counter)
        _OWN_COUNTER = True
    os.environ["IPYTHONDIR"] = str(install_kernel_counter(_SCRATCH / "ipython"))
    if session.config.pluginmanager.has_plugin("dsession"):
        return  # pytest-xdist's controller runs no test: each worker starts its own sandbox
    _SANDBOX = Sandbox().start()
    apply_sandbox_environ(_SANDBOX.url)


#: the test files that read the session's cached kernel scenarios (``scenarios: ScenarioCache``)
_TESTS = Path(__file__).resolve().parent.parent
_SCENARIO_FILES = frozenset(
    str(path.relative_to(_TESTS.parent))
    for path in _TESTS.rglob("test_*.py")
    if "scenarios: ScenarioCache" in path.read_text("utf-8")
)


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: unused without it
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Under pytest-xdist (``-n 2``), send each test file to one worker whole (a module's sandbox
    reset happens once), and every file that reads the cached kernel scenarios to the same
    worker, so that each scenario's kernels still start once per session."""
    from xdist.scheduler import LoadFileScheduling

    class ScenarioFileScheduling(LoadFileScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "kernel-scenarios" if path in _SCENARIO_FILES else path

    return ScenarioFileScheduling(config, log)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _SANDBOX is not None:
        _SANDBOX.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _OWN_COUNTER:
        terminalreporter.write_line(f"notebook kernels started: {kernels_started()}")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _SCRATCH is not None:
        shutil.rmtree(_SCRATCH, ignore_errors=True)
    if _OWN_COUNTER:
        os.environ.pop(KERNEL_COUNTER_VAR, None)


@pytest.fixture(scope="session")
def session_sandbox() -> Sandbox:
    """The sandbox started for this session."""
    assert _SANDBOX is not None, "pytest_sessionstart starts the sandbox"
    return _SANDBOX
