"""What every test module shares: the sandbox plugin, fixtures, and the cached scenario runner.

- ``plugin``: the session's sandbox and environment (loaded by the root ``conftest.py``, before
  any kernel starts: nbval's cells get no fixtures), and the kernel counter.
- ``fixtures``: ``sandbox``, ``ctx``, ``iam``, ``user`` (a unique name per test), ``clock``,
  ``secrets_dir``, ``scenarios``.
- ``aws``: the sandbox's account ID (the one place it is spelled), clients, ``snapshot`` of
  everything a runbook could change, ``empty_iam``.
- ``inprocess``: a notebook's own cells executed in this process (no kernel).
- ``scenarios``/``catalog``: every notebook run that needs a real kernel, run once per session.
- ``leak_scan``: a run's secrets in every form they could take, and the scan for them.
"""
