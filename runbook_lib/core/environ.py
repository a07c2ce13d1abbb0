"""Every ``RUNBOOK_*`` environment variable the library reads, in one place.

The host side (runner, apps, tests) sets them for a kernel before it starts; the kernel side
(``core``) reads them. Nothing else in the package spells one of these names.
"""

from __future__ import annotations

#: set by headless executors (the runner, refresh): no person at a screen, no widgets
HEADLESS = "RUNBOOK_HEADLESS"
#: path of the run record the kernel writes (the runner reads it back)
RECORD = "RUNBOOK_RECORD"
#: Unix socket where the runner's leak guard hears of each secret the kernel holds
LEAK_SOCKET = "RUNBOOK_LEAK_SOCKET"
#: default folder for secret files (sign-in CSVs, key CSVs, seed files)
SECRETS_DIR = "RUNBOOK_SECRETS_DIR"
#: the folder ``runbook`` was started in: a relative ``secrets_dir`` resolves against it (a
#: kernel started by papermill/nbconvert directly resolves against its own working folder)
START_DIR = "RUNBOOK_START_DIR"
#: language of the messages (``en``, ``ko``) when a notebook declares no ``language``
#: parameter; ``runbook run --lang`` sets it for every kernel
LANG = "RUNBOOK_LANG"
#: URL of a running sandbox (a moto server on 127.0.0.1) the ``sandbox`` target uses
SANDBOX_URL = "RUNBOOK_SANDBOX_URL"
#: the sandbox member account a fan-out kernel acts in (its AssumeRole credentials are in the
#: standard ``AWS_*`` variables; only honoured together with ``SANDBOX_URL``)
SANDBOX_ACCOUNT = "RUNBOOK_SANDBOX_ACCOUNT"
#: the external ID of a fan-out's role (never on a command line); the runner's own, never a kernel's
EXTERNAL_ID = "RUNBOOK_EXTERNAL_ID"
#: set by ``runbook app`` on a sandbox private to it: the command that restarts the app with
#: its prerequisite runbooks run first (a missing user's message names it)
RESTART_SEEDED = "RUNBOOK_RESTART_SEEDED"
#: folder of the runbook notebooks (default: the package's own ``notebooks/``)
NOTEBOOKS = "RUNBOOK_NOTEBOOKS"
#: ``module:function`` called with (botocore event emitter, target) for every new session;
#: the tests point it at ``runbook_lib.testing.faults:install``
SESSION_HOOK = "RUNBOOK_SESSION_HOOK"
#: fault injection (read by ``runbook_lib.testing.faults`` only)
FAULT_AT_WRITE = "RUNBOOK_FAULT_AT_WRITE"
FAULT_THROTTLE = "RUNBOOK_FAULT_THROTTLE"
FAULT_ROOT_CALLER = "RUNBOOK_FAULT_ROOT_CALLER"

ALL = (
    HEADLESS,
    RECORD,
    LEAK_SOCKET,
    SECRETS_DIR,
    START_DIR,
    LANG,
    SANDBOX_URL,
    SANDBOX_ACCOUNT,
    RESTART_SEEDED,
    NOTEBOOKS,
    SESSION_HOOK,
    FAULT_AT_WRITE,
    FAULT_THROTTLE,
    FAULT_ROOT_CALLER,
)
