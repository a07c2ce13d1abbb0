"""Fixtures every test module can use (registered by the root ``conftest.py``)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runbook_lib import RunContext, preflight
from runbook_lib.core import environ
from runbook_lib.core.sandbox import Sandbox
from support.aws import client, reset_sandbox
from support.clock import FakeClock
from support.scenarios import ScenarioCache

_NAMES = itertools.count(1)


def new_name(prefix: str) -> str:
    """A name no other test of this session uses (``prefix-N``)."""
    return f"{prefix}-{next(_NAMES)}"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """The session's sandbox, emptied and re-seeded for this test (≈1 s: prefer ``iam`` and a
    ``user`` of this test's own)."""
    yield reset_sandbox()


@pytest.fixture
def ctx(sandbox: Sandbox) -> RunContext:
    """A run context on a clean sandbox (apply mode, headless)."""
    return preflight("test", target="sandbox")


@pytest.fixture
def iam() -> Any:
    """An IAM client on the session's sandbox (not reset: use names of this test's own)."""
    return client("iam")


@pytest.fixture
def user_name(request: pytest.FixtureRequest) -> str:
    """A user name unique to this test (not created)."""
    return new_name(request.node.originalname.removeprefix("test_")[:40].replace("_", "-"))


@pytest.fixture
def user(iam: Any, user_name: str) -> str:
    """A new IAM user of this test, in the sandbox."""
    iam.create_user(UserName=user_name)
    return user_name


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock 12 s into a TOTP window; ``clock.sleep`` advances it."""
    return FakeClock()


@pytest.fixture
def secrets_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private folder for secret files of this test."""
    folder = tmp_path / "secrets"
    monkeypatch.setenv(environ.SECRETS_DIR, str(folder))
    return folder


@pytest.fixture
def no_real_aws() -> None:
    """Asserts the environment cannot reach a real account."""
    assert "AWS_PROFILE" not in os.environ


@pytest.fixture(scope="session")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> ScenarioCache:
    """The session's cached notebook runs (``support.catalog`` lists them)."""
    return ScenarioCache(tmp_path_factory.mktemp("scenarios"))
