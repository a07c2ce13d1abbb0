"""Loads the test support plugins for every pytest session of the project (unit tests, nbval,
browser tests): see ``tests/support/``. ``tests`` is on ``sys.path`` (pyproject's pytest
``pythonpath``)."""

pytest_plugins = ["support.plugin", "support.fixtures"]
