"""Make a used kernel as good as new for the next run (the warm-kernel pool's kernel side).

A pooled kernel runs one notebook after another, each for its own account. Between two runs
``reset_kernel_state`` is the ONE function that forgets everything a run left behind:

- the user namespace and the output cache (IPython's ``%reset -f``), the input history and the
  last traceback;
- the state of every library module that keeps some (each registers a hook with ``on_reset``:
  live cells, widgets, the keyed-fingerprint key, extra secret destinations);
- boto3's default session (botocore keeps its credential caches on sessions, so dropping the
  sessions drops the caches);
- every ``AWS_*`` and ``RUNBOOK_*`` variable of ``os.environ``; the next run's environment is
  then read from a FIFO the host writes (never from the reset code itself, which could be
  logged), together with the folder the next notebook runs in.

It then collects garbage and reports, by kind and count (and fingerprint for secrets), every
object that could still hold a secret or a credential: ``Secret``, ``RunContext``, boto3
sessions, botocore credentials. The host discards a kernel whose report is not empty.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

#: environment variables that belong to one run: cleared by every reset
RUN_PREFIXES = ("AWS_", "RUNBOOK_")
#: what a kernel's last reset reported (JSON; kinds, counts, fingerprints: never a value)
_LAST_REPORT = ""

_HOOKS: dict[str, Callable[[], None]] = {}
#: kinds of object that may hold a secret or a credential: none may outlive a reset
_WATCHED: dict[str, type] = {}


def on_reset(name: str, hook: Callable[[], None]) -> None:
    """Register ``hook`` to run on every ``reset_kernel_state`` (one per ``name``: re-importing a
    module replaces its hook instead of adding a second one)."""
    _HOOKS[name] = hook


def watch(name: str, kind: type) -> None:
    """Report every live instance of ``kind`` after a reset (it may hold a secret)."""
    _WATCHED[name] = kind


@contextlib.contextmanager
def _collections_deferred() -> Iterator[None]:
    """Make ``gc.collect()`` a no-op for the block (IPython's reset collects twice: in the
    output cache's flush and at the end of ``%reset``); ``survivors()`` collects once after."""
    collect = gc.collect
    gc.collect = lambda generation=2: 0
    try:
        yield
    finally:
        gc.collect = collect


def _reset_namespace() -> None:
    """What IPython's ``%reset -f`` does (the user namespace, the output cache) when running in
    a kernel, and its input history (``In``, ``_ih``, ``%history``: the last run's injected
    parameters name its account, users and folders) in a new history session."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        return
    shell = get_ipython()
    if shell is not None:
        with _collections_deferred():
            shell.reset(new_session=False)  # %reset -f, without its garbage collections
        shell.history_manager.reset(new_session=True)


def _reset_aws() -> None:
    """Forget boto3's default session (and with it botocore's credential caches)."""
    boto3: Any = sys.modules.get("boto3")
    if boto3 is not None:
        boto3.DEFAULT_SESSION = None


def _reset_environ(environ_file: str) -> None:
    """Clear the run variables; load the next run's environment (and folder) from the FIFO."""
    for key in [k for k in os.environ if k.startswith(RUN_PREFIXES)]:
        del os.environ[key]
    if not environ_file:
        return
    message = json.loads(Path(environ_file).read_text("utf-8"))
    os.environ.update({str(k): str(v) for k, v in message["environ"].items()})
    if message.get("cwd"):
        os.chdir(message["cwd"])


def survivors() -> dict[str, Any]:
    """What could still hold a secret or a credential after a reset (kinds and counts only).

    Returns:
        ``{"counts": {kind: n}, "secrets": [fingerprint, ...]}``; empty counts when clean.
    """
    kinds = list(_WATCHED.items())
    if "boto3" in sys.modules:
        kinds.append(("boto3.Session", sys.modules["boto3"].session.Session))
    if "botocore.credentials" in sys.modules:
        kinds.append(("botocore.Credentials", sys.modules["botocore.credentials"].Credentials))
    gc.collect()
    counts: dict[str, int] = {}
    fingerprints: list[str] = []
    for obj in gc.get_objects():
        for name, kind in kinds:
            if issubclass(type(obj), kind):
                counts[name] = counts.get(name, 0) + 1
                if isinstance(getattr(obj, "fingerprint", None), str):
                    fingerprints.append(obj.fingerprint)
    return {"counts": counts, "secrets": fingerprints}


def last_report() -> str:
    """The last reset's ``survivors()`` report as JSON (the host reads it back)."""
    return _LAST_REPORT


def reset_kernel_state(environ_file: str = "", *, check: bool = True) -> dict[str, Any]:
    """Forget the last run; take the next run's environment from ``environ_file``.

    Args:
        environ_file: a FIFO (or file) holding ``{"environ": {...}, "cwd": "..."}`` for the
            next run; empty: only clear.
        check: look for survivors (``survivors()``); when there are none, the objects left are
            frozen out of later collections (``gc.freeze``), so that each check scans only what
            the runs after it made.

    Returns:
        ``survivors()`` after the reset (empty when ``check`` is false); ``last_report()``
        returns it as JSON.
    """
    global _LAST_REPORT
    _reset_namespace()
    for hook in list(_HOOKS.values()):
        hook()
    _reset_aws()
    sys.last_type = sys.last_value = sys.last_traceback = None
    if hasattr(sys, "last_exc"):
        sys.last_exc = None
    _reset_environ(environ_file)
    report = survivors() if check else {"counts": {}, "secrets": []}
    if check and not report["counts"]:
        gc.freeze()
    _LAST_REPORT = json.dumps(report)
    return report
