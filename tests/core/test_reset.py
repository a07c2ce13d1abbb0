"""``core.reset.reset_kernel_state`` in this process (no kernel): what one reset forgets.

The kernel-level proof (two accounts, one kernel) is ``tests/run/test_pool.py``; these check the
pieces cheaply. Each test puts ``os.environ``, the working folder and the garbage collector
back as they were (the reset changes them for the whole process).
"""

from __future__ import annotations

import gc
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from runbook_lib.core import reset
from runbook_lib.core.secrets import Secret, fingerprint


@pytest.fixture(autouse=True)
def restore_process() -> Iterator[None]:
    saved, cwd = dict(os.environ), os.getcwd()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        os.chdir(cwd)
        gc.unfreeze()


def send_through_fifo(folder: Path, message: dict[str, object]) -> tuple[Path, threading.Thread]:
    fifo = folder / "environ"
    os.mkfifo(fifo, 0o600)
    writer = threading.Thread(target=fifo.write_text, args=(json.dumps(message), "utf-8"))
    writer.start()
    return fifo, writer


def test_run_variables_are_replaced_by_the_next_runs(tmp_path: Path) -> None:
    os.environ["AWS_SECRET_ACCESS_KEY"] = "account-a-secret"
    os.environ["RUNBOOK_RECORD"] = "/a/run.json"
    os.environ["UNRELATED_SETTING"] = "kept"
    fifo, writer = send_through_fifo(
        tmp_path,
        {"environ": {"AWS_ACCESS_KEY_ID": "key-b", "RUNBOOK_RECORD": "/b/run.json"}, "cwd": "/"},
    )
    reset.reset_kernel_state(str(fifo), check=False)
    writer.join(5)
    assert "AWS_SECRET_ACCESS_KEY" not in os.environ
    assert os.environ["RUNBOOK_RECORD"] == "/b/run.json"
    assert os.environ["AWS_ACCESS_KEY_ID"] == "key-b"
    assert os.environ["UNRELATED_SETTING"] == "kept"
    assert os.getcwd() == "/"


def test_without_a_next_run_every_run_variable_is_gone() -> None:
    os.environ["AWS_SESSION_TOKEN"] = "token-a"
    os.environ["RUNBOOK_SECRETS_DIR"] = "/a/secrets"
    reset.reset_kernel_state("", check=False)
    assert not [k for k in os.environ if k.startswith(reset.RUN_PREFIXES)]


def test_boto3_default_session_is_dropped() -> None:
    boto3.setup_default_session(region_name="us-east-1")
    reset.reset_kernel_state("", check=False)
    assert boto3.DEFAULT_SESSION is None


def test_keyed_fingerprints_change_from_one_run_to_the_next() -> None:
    before = fingerprint("typed-password", keyed=True)
    reset.reset_kernel_state("", check=False)
    assert fingerprint("typed-password", keyed=True) != before


def test_a_live_secret_is_reported_by_fingerprint_only() -> None:
    secret = Secret("password", "pool-reset-" + os.urandom(6).hex())
    mark = secret.fingerprint
    report = reset.reset_kernel_state("")  # other tests of this process may hold secrets too
    assert report["counts"]["Secret"] >= 1
    assert mark in report["secrets"]
    assert str(secret.reveal()) not in reset.last_report()
    del secret
    assert mark not in reset.reset_kernel_state("")["secrets"]


def test_a_run_context_left_alive_is_reported(ctx: object) -> None:
    report = reset.reset_kernel_state("")
    assert report["counts"].get("RunContext", 0) >= 1
    assert report["counts"].get("boto3.Session", 0) >= 1
