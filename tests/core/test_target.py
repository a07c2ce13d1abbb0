"""Target resolution and preflight: which AWS a run talks to, and what it refuses to touch."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from runbook_lib import BadInput, TargetRefused, preflight
from runbook_lib.core.sandbox import SANDBOX_ACCOUNT_ID, Sandbox
from runbook_lib.core.target import Connection, TargetSpec, connect

OTHER_ACCOUNT = "111122223333"


# Most tests here need the sandbox running, not empty: they use `session_sandbox` (a reset
# rebuilds moto's IAM backend, ≈1 s) and give the users they create unique names.


@pytest.fixture
def iam_user_keys(session_sandbox: Sandbox) -> Callable[[str], dict[str, str]]:
    """Create an IAM user (name + a unique suffix) with an access key; returns the key."""

    def make(name: str) -> dict[str, str]:
        iam = boto3.client("iam", endpoint_url=session_sandbox.url)
        name = f"{name}-{secrets.token_hex(3)}"
        iam.create_user(UserName=name)
        key: dict[str, str] = iam.create_access_key(UserName=name)["AccessKey"]
        return key

    return make


@pytest.fixture
def sts_answers(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """Make STS GetCallerIdentity answer with the given ARN and account (botocore Stubber)."""

    def install(arn: str, account: str = SANDBOX_ACCOUNT_ID) -> None:
        original = Connection.client
        stubbers: list[Stubber] = []

        def client(self: Connection, service: str) -> Any:
            made = original(self, service)
            if service == "sts":
                stub = Stubber(made)
                identity = {"UserId": "AIDAEXAMPLE", "Account": account, "Arn": arn}
                stub.add_response("get_caller_identity", identity)
                stub.activate()
                stubbers.append(stub)
            return made

        monkeypatch.setattr(Connection, "client", client)

    return install


# --- the sandbox (default) -------------------------------------------------------------------


def test_sandbox_target_uses_fake_credentials_and_the_sandbox_endpoint(
    session_sandbox: Sandbox,
) -> None:
    ctx = preflight("test")

    creds = ctx.connection.session.get_credentials()
    assert creds is not None and creds.access_key == "testing"
    assert ctx.connection.endpoint_url == session_sandbox.url
    assert ctx.iam.meta.endpoint_url == session_sandbox.url
    assert ctx.account_id == SANDBOX_ACCOUNT_ID
    assert ctx.caller_arn == f"arn:aws:sts::{SANDBOX_ACCOUNT_ID}:user/moto"
    assert ctx.sandbox and not ctx.is_root


def test_sandbox_target_ignores_an_aws_profile_in_the_environment(
    session_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production-admin")  # exists nowhere: must not matter

    ctx = preflight("test")

    assert ctx.connection.endpoint_url == session_sandbox.url
    assert ctx.caller_arn == f"arn:aws:sts::{SANDBOX_ACCOUNT_ID}:user/moto"


def test_test_environment_has_no_real_credentials(no_real_aws: None) -> None:
    import os

    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
    assert os.environ["AWS_CONFIG_FILE"] == os.devnull
    assert os.environ["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull


def test_context_repr_shows_target_account_caller_and_mode(session_sandbox: Sandbox) -> None:
    shown = repr(preflight("test"))

    assert "Target: sandbox (embedded moto server on 127.0.0.1)" in shown
    assert f"Account: {SANDBOX_ACCOUNT_ID}" in shown
    assert "Mode: apply, headless" in shown
    assert "127.0.0.1:" not in shown  # no port: outputs stay stable


# --- a named profile ------------------------------------------------------------------------


def test_profile_target_uses_the_profiles_credentials(
    iam_user_keys: Callable[[str], dict[str, str]],
    session_sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = iam_user_keys("profile-user")
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text(f"[profile ops]\nregion = us-east-1\nendpoint_url = {session_sandbox.url}\n")
    credentials.write_text(
        f"[ops]\naws_access_key_id = {key['AccessKeyId']}\n"
        f"aws_secret_access_key = {key['SecretAccessKey']}\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.delenv("AWS_ENDPOINT_URL")  # the profile's own endpoint_url must be what counts
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    ctx = preflight("test", target="profile", profile="ops")

    assert ctx.caller_arn == f"arn:aws:iam::{SANDBOX_ACCOUNT_ID}:user/{key['UserName']}"
    assert not ctx.sandbox
    assert "profile 'ops'" in repr(ctx)


def test_unknown_profile_is_refused_with_exit_code_2(session_sandbox: Sandbox) -> None:
    with pytest.raises(TargetRefused, match="AWS profile 'no-such-profile' was not found") as err:
        preflight("test", target="profile", profile="no-such-profile")

    assert err.value.exit_code == 2


def test_missing_credentials_are_refused_in_one_line(
    session_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance metadata look-up

    with pytest.raises(TargetRefused) as err:
        preflight("test", target="profile")

    message = str(err.value)
    assert message.startswith("No AWS credentials found")
    assert "aws sso login" in message
    assert "\n" not in message
    assert err.value.exit_code == 2


def test_profile_target_with_an_endpoint_url_is_bad_input(session_sandbox: Sandbox) -> None:
    # a "profile" run is trusted as real AWS (S0 believes its account summary): no detours
    with pytest.raises(BadInput, match="use target 'endpoint'"):
        preflight("test", target="profile", profile="ops", endpoint_url=session_sandbox.url)


# --- an AWS-compatible endpoint -------------------------------------------------------------


def test_endpoint_target_talks_to_the_given_url_with_credentials_from_the_environment(
    iam_user_keys: Callable[[str], dict[str, str]],
    session_sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = iam_user_keys("endpoint-user")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.delenv("AWS_ENDPOINT_URL")

    ctx = preflight("test", target="endpoint", endpoint_url=session_sandbox.url)

    assert ctx.iam.meta.endpoint_url == session_sandbox.url
    assert ctx.caller_arn == f"arn:aws:iam::{SANDBOX_ACCOUNT_ID}:user/{key['UserName']}"
    assert not ctx.sandbox
    assert f"endpoint {session_sandbox.url}" in repr(ctx)


# --- bad target parameters ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"target": "production"}, "target 'production' is not known"),
        ({"target": "endpoint"}, "needs endpoint_url"),
        ({"target": "endpoint", "endpoint_url": "localhost:5000"}, "needs endpoint_url"),
        ({"target": "sandbox", "profile": "ops"}, "target is 'sandbox'"),
        ({"expected_account_id": "12345"}, "not a 12-digit AWS account ID"),
        ({"expected_account_id": "12345678901a"}, "not a 12-digit AWS account ID"),
        ({"retry_mode": "legacy"}, "retry_mode 'legacy' is not known"),
    ],
)
def test_bad_target_parameters_are_bad_input(
    session_sandbox: Sandbox, params: dict[str, str], says: str
) -> None:
    with pytest.raises(BadInput, match=says) as err:
        preflight("test", **params)  # type: ignore[arg-type]

    assert err.value.exit_code == 2
    assert "\n" not in str(err.value)


# --- which account, and who ----------------------------------------------------------------


def test_wrong_expected_account_is_refused(session_sandbox: Sandbox) -> None:
    with pytest.raises(TargetRefused) as err:
        preflight("test", expected_account_id=OTHER_ACCOUNT)

    assert f"reach account {SANDBOX_ACCOUNT_ID}, not expected_account_id {OTHER_ACCOUNT}" in str(
        err.value
    )
    assert err.value.exit_code == 2


def test_matching_expected_account_is_accepted(session_sandbox: Sandbox) -> None:
    assert preflight("test", expected_account_id=SANDBOX_ACCOUNT_ID).account_id == (
        SANDBOX_ACCOUNT_ID
    )


def test_root_caller_is_refused_citing_s0(
    session_sandbox: Sandbox, sts_answers: Callable[[str, str], None]
) -> None:
    sts_answers(f"arn:aws:iam::{OTHER_ACCOUNT}:root", OTHER_ACCOUNT)

    with pytest.raises(TargetRefused) as err:
        preflight("test")

    message = str(err.value)
    assert f"root user of account {OTHER_ACCOUNT}" in message
    assert "S0" in message and "Administrator IAM user" in message
    assert err.value.exit_code == 2


def test_root_caller_is_allowed_where_the_runbook_needs_root(
    session_sandbox: Sandbox, sts_answers: Callable[[str, str], None]
) -> None:
    sts_answers(f"arn:aws:iam::{OTHER_ACCOUNT}:root", OTHER_ACCOUNT)

    ctx = preflight("test", allow_root=True, root_reason="bootstrap the first administrator")

    assert ctx.is_root
    assert "Caller: root user" in repr(ctx)
    assert ctx.record.warnings == ["Running as the root user: bootstrap the first administrator."]


def test_wrong_account_is_refused_before_root(
    session_sandbox: Sandbox, sts_answers: Callable[[str, str], None]
) -> None:
    sts_answers(f"arn:aws:iam::{OTHER_ACCOUNT}:root", OTHER_ACCOUNT)

    with pytest.raises(TargetRefused, match="not expected_account_id"):
        preflight("test", expected_account_id=SANDBOX_ACCOUNT_ID, allow_root=True)


# --- retries ---------------------------------------------------------------------------------


def test_clients_retry_in_standard_mode_by_default(session_sandbox: Sandbox) -> None:
    assert preflight("test").iam.meta.config.retries["mode"] == "standard"


@pytest.mark.parametrize(
    ("spec", "mode"),
    [
        (TargetSpec(retry_mode="adaptive"), "adaptive"),
        (TargetSpec("profile", retry_mode="standard"), "standard"),
        (
            TargetSpec("endpoint", endpoint_url="http://127.0.0.1:1", retry_mode="adaptive"),
            "adaptive",
        ),
    ],
)
def test_clients_retry_throttled_calls_in_the_chosen_mode(
    session_sandbox: Sandbox, spec: TargetSpec, mode: str
) -> None:
    retries = connect(spec).client("iam").meta.config.retries

    assert retries["mode"] == mode
    assert retries["total_max_attempts"] > 1
