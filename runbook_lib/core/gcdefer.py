"""Python's cyclic garbage collector held off while a headless run imports its libraries.

A ``runbook run`` process and its kernel each import tens of thousands of objects (papermill,
jupyter_client, IPython, boto3, the library) that live as long as the process. Python's
collector runs many full passes over them while they are being imported, ≈ 10-15 % of the
imports' CPU here, and finds nothing to free. ``defer()`` turns it off at the start of such a
process; ``resume()`` moves everything imported so far out of its reach (``gc.freeze``) and turns
it back on, before the run's own work: a fan-out's host and every long-lived server run with the
collector on as usual. Only a process that called ``defer()`` is resumed: a caller that turned
the collector off for reasons of its own keeps it off.
"""

from __future__ import annotations

import gc

_DEFERRED = False


def defer() -> None:
    """Turn the collector off until ``resume()`` (nothing when it is off already)."""
    global _DEFERRED
    if gc.isenabled():
        gc.disable()
        _DEFERRED = True


def resume() -> None:
    """Freeze what is alive (later collections skip it) and turn the collector back on, if
    ``defer()`` turned it off."""
    global _DEFERRED
    if _DEFERRED:
        _DEFERRED = False
        gc.freeze()
        gc.enable()
