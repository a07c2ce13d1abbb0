"""The embedded sandbox: loopback only, managed policies, seeded IDs, no way to a real account."""

from __future__ import annotations

import os
import socket

import boto3
import pytest

from runbook_lib.core.sandbox import (
    REAL_CREDENTIAL_VARS,
    SANDBOX_URL_VAR,
    Sandbox,
    apply_sandbox_environ,
    sandbox_environ,
    strip_real_credentials,
)

ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"


def _non_loopback_addresses() -> list[str]:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    return sorted({str(info[4][0]) for info in infos if not str(info[4][0]).startswith("127.")})


def test_server_listens_on_the_loopback_address_only(session_sandbox: Sandbox) -> None:
    host, port = session_sandbox.url.removeprefix("http://").split(":")

    assert host == "127.0.0.1"
    for address in _non_loopback_addresses():
        with pytest.raises(OSError), socket.create_connection((address, int(port)), timeout=2):
            pass


def test_administrator_access_policy_exists(session_sandbox: Sandbox) -> None:
    iam = boto3.client("iam", endpoint_url=session_sandbox.url)

    policy = iam.get_policy(PolicyArn=ADMIN_POLICY_ARN)["Policy"]

    assert policy["PolicyName"] == "AdministratorAccess"


def test_reset_empties_the_sandbox_and_repeats_the_first_ids(session_sandbox: Sandbox) -> None:
    # a reset rebuilds moto's IAM backend (≈1 s idle): this test resets twice, no more
    iam = boto3.client("iam", endpoint_url=session_sandbox.url)

    def first_ids() -> tuple[str, str]:
        user = iam.create_user(UserName="Administrator")["User"]
        key = iam.create_access_key(UserName="Administrator")["AccessKey"]
        return user["UserId"], key["AccessKeyId"]

    session_sandbox.reset()
    before = first_ids()
    iam.create_user(UserName="left-over")
    session_sandbox.reset()
    after = first_ids()

    assert after == before
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["Administrator"]


@pytest.mark.parametrize("extra_reads", [1, 7])
def test_generated_ids_do_not_depend_on_how_many_requests_came_before(
    session_sandbox: Sandbox, extra_reads: int
) -> None:
    """Reads draw nothing from the seed: a probe, a retry or another client before a
    ``CreateAccessKey`` leaves the key (and every later ID) as it would have been."""
    iam = boto3.client("iam", endpoint_url=session_sandbox.url)

    def first_ids(reads: int) -> tuple[str, str, str]:
        session_sandbox.reset()
        for _ in range(reads):
            iam.list_users()
        user = iam.create_user(UserName="Administrator")["User"]
        boto3.client("sts", endpoint_url=session_sandbox.url).get_caller_identity()
        key = iam.create_access_key(UserName="Administrator")["AccessKey"]
        return user["UserId"], key["AccessKeyId"], key["SecretAccessKey"]

    assert first_ids(extra_reads) == first_ids(0)


def test_strip_real_credentials_removes_every_way_to_a_real_account() -> None:
    env = {name: "real" for name in REAL_CREDENTIAL_VARS}
    env.update(AWS_PROFILE="prod-admin", HOME="/users/me", PATH="/usr/bin")

    strip_real_credentials(env)

    assert env == {"HOME": "/users/me", "PATH": "/usr/bin"}
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_ENDPOINT_URL"):
        assert name in REAL_CREDENTIAL_VARS


def test_sandbox_environment_points_everything_at_the_sandbox() -> None:
    env = {"AWS_PROFILE": "prod-admin", "AWS_SESSION_TOKEN": "real-token"}

    apply_sandbox_environ("http://127.0.0.1:5000", env)

    assert env == sandbox_environ("http://127.0.0.1:5000")
    assert env[SANDBOX_URL_VAR] == env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert env["AWS_CONFIG_FILE"] == env["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
    assert env["AWS_ACCESS_KEY_ID"] == "testing"


def test_the_test_session_runs_on_the_sandbox(session_sandbox: Sandbox) -> None:
    assert "AWS_PROFILE" not in os.environ
    assert os.environ[SANDBOX_URL_VAR] == os.environ["AWS_ENDPOINT_URL"] == session_sandbox.url
