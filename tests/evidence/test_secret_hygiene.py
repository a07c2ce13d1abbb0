"""Secrets where a user's settings or an executor could expose them:
IPython's ``%xmode Verbose`` tracebacks of failed deliveries, HTML-escaped forms for the leak
guard, keyed fingerprints of typed passwords, and credential calls that are reads.

Failures name the place and the kind, never a value.
"""

from __future__ import annotations

import base64
import errno
import html
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from IPython.core.ultratb import VerboseTB

from runbook_lib import RunContext
from runbook_lib.access_key.destination import Destination, deliver
from runbook_lib.admin_user.actions import set_console_password
from runbook_lib.admin_user.signin import write_signin_csv
from runbook_lib.core import secret_files
from runbook_lib.core import secrets as secrets_module
from runbook_lib.core.context import PlanModeWrite, _count_calls
from runbook_lib.core.record import RunRecord, is_write
from runbook_lib.core.secrets import Secret, fingerprint, secret_forms
from runbook_lib.run.leaks import LeakGuard
from runbook_lib.virtual_mfa.seed import store_seed

KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY"
PASSWORD = "Tr0ub&dor's<3>x"  # & ' < >: what html.escape changes
QUOTED = "Tr0ub&dor's\"<3>x"  # and " (a CSV would double it: kept out of the delivery tests)
SEED = "JBSWY3DPEHPK3PXPMZXW6YTBOI4DKNZU"
URI = f"otpauth://totp/x@123456789012?secret={SEED}&issuer=AWS"


# ---- %xmode Verbose: no secret in a failed delivery's traceback ---------------------------------


def verbose_traceback(call: Callable[[], Any]) -> str:
    """Run ``call``, which must fail, and report its exception as ``%xmode Verbose`` would
    (every chained exception, the variables of each executing line), even for project errors
    that IPython shows as one line, plus the repr of every local of every frame in the
    traceback (what ``%debug``, pdb's post-mortem or an error reporter can see)."""
    try:
        call()
    except Exception as err:  # noqa: BLE001 - any failure is what we report
        formatter = VerboseTB(theme_name="nocolor", include_vars=True)
        report = formatter.structured_traceback(type(err), err, err.__traceback__)
        return "\n".join([*report, *_every_local(err)])
    pytest.fail("the injected failure did not happen", pytrace=False)


def _every_local(err: BaseException | None) -> Iterator[str]:
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        tb = err.__traceback__
        while tb is not None:
            yield repr(tb.tb_frame.f_locals)
            tb = tb.tb_next
        err = err.__cause__ or (None if err.__suppress_context__ else err.__context__)


def assert_no_value(text: str, values: dict[str, str], where: str) -> None:
    """Fail naming the kind (never the value) if any form of a value is in ``text``."""
    found = sorted(kind for kind, v in values.items() if any(f in text for f in secret_forms(v)))
    if found:
        pytest.fail(f"{', '.join(found)} in {where}", pytrace=False)


class _FullDiskOs:
    """``os`` as ``core.secret_files`` sees it on a full disk: every ``write`` fails ENOSPC."""

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    @staticmethod
    def write(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture
def disk_full(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every secret file write fails with ENOSPC when its data is written (as on a full disk)."""
    monkeypatch.setattr(secret_files, "os", _FullDiskOs())
    yield


def _enospc(_: str) -> int:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def unreachable_client(service: str) -> Any:
    """A client whose every call fails in botocore's transport (not a ClientError)."""
    return boto3.Session(
        aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="x", region_name="us-east-1"
    ).client(
        service,
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1),
    )


class OfflineContext:
    """Just enough of a run context for a delivery that fails before AWS answers."""

    def __init__(self) -> None:
        self.record = RunRecord(notebook="offline")

    def client(self, service: str) -> Any:
        return unreachable_client(service)


@pytest.fixture
def offline() -> Any:
    return OfflineContext()


def test_s2_key_csv_write_failing_on_a_full_disk_shows_no_key(
    offline: Any, tmp_path: Path, disk_full: None
) -> None:
    dest = Destination("file", "u", path=tmp_path / "u_accessKeys.csv")
    key = Secret("secret-access-key", KEY)  # the failing frames see only the Secret
    report = verbose_traceback(lambda: deliver(offline, dest, "AKIAEXAMPLE", key))
    assert "No space left" in report, "the failure happened at the write"
    assert_no_value(report, {"secret-access-key": KEY}, "the verbose traceback")


def test_s2_secrets_manager_failure_shows_no_key(offline: Any) -> None:
    dest = Destination("secretsmanager", "u", secret_name="iam-runbooks/u/access-key")
    key = Secret("secret-access-key", KEY)
    report = verbose_traceback(lambda: deliver(offline, dest, "AKIAEXAMPLE", key))
    assert "EndpointConnectionError" in report or "Could not connect" in report
    assert_no_value(report, {"secret-access-key": KEY}, "the verbose traceback")


def test_s1_sign_in_csv_write_failing_on_a_full_disk_shows_no_password(
    tmp_path: Path, disk_full: None
) -> None:
    path = tmp_path / "123456789012-u_credentials.csv"
    url = "https://123456789012.signin.aws.amazon.com/console"
    password = Secret("password", PASSWORD)
    report = verbose_traceback(lambda: write_signin_csv(path, "u", password, url))
    assert "No space left" in report
    assert_no_value(report, {"password": PASSWORD}, "the verbose traceback")


def test_s1_console_password_call_failing_shows_no_password() -> None:
    iam = unreachable_client("iam")
    secret = Secret("password", PASSWORD)
    report = verbose_traceback(lambda: set_console_password(iam, "u", secret, True, create=True))
    assert "EndpointConnectionError" in report or "Could not connect" in report
    assert_no_value(report, {"password": PASSWORD}, "the verbose traceback")


@pytest.mark.parametrize("destination", ["file", "secretsmanager"])
def test_s3_seed_delivery_failing_shows_no_seed(
    offline: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, destination: str
) -> None:
    if destination == "file":
        monkeypatch.setattr(secret_files, "os", _FullDiskOs())
        location = str(tmp_path / "u_virtual_mfa.txt")
    else:
        location = "iam-runbooks/mfa/u"
    seed, uri = Secret("mfa-seed", SEED), Secret("otpauth-uri", URI)
    serial = "arn:aws:iam::123456789012:mfa/u"
    report = verbose_traceback(
        lambda: store_seed(
            offline, destination, location, serial=serial, user_name="u", seed=seed, uri=uri
        )
    )
    assert "Traceback" in report or "Error" in report
    assert_no_value(report, {"mfa-seed": SEED, "otpauth-uri": URI}, "the verbose traceback")


# ---- the leak guard's forms ------------------------------------------------------------------


@pytest.mark.parametrize("quote", [True, False])
def test_guard_finds_a_password_in_an_html_export(quote: bool) -> None:
    guard = LeakGuard()
    guard.add("password", secret_forms(QUOTED))
    page = f"<pre>{html.escape(QUOTED, quote=quote)}</pre>"
    assert [h.kind for h in guard.scan_text(page, "out.html")] == ["password"]


def test_guard_finds_markupsafe_url_and_base64_forms() -> None:
    guard = LeakGuard()
    guard.add("password", secret_forms(QUOTED))
    from urllib.parse import quote_plus

    markup = html.escape(QUOTED).replace("&#x27;", "&#39;").replace("&quot;", "&#34;")
    for shift in range(3):
        blob = base64.b64encode(b"x" * shift + QUOTED.encode() + b"tail").decode()
        assert guard.scan_text(json.dumps({"data": blob}), "state"), f"base64 at offset {shift}"
    assert guard.scan_text(markup, "page") and guard.scan_text(quote_plus(QUOTED), "url")


def test_guard_finds_a_qr_png_inside_a_longer_base64_blob() -> None:
    png = os.urandom(300)
    guard = LeakGuard()
    guard.add("qr-png", secret_forms(png))
    for shift in range(3):
        blob = base64.b64encode(os.urandom(shift + 3) + png + os.urandom(5)).decode()
        assert guard.scan_text(blob, "widget state"), f"offset {shift}"


# ---- keyed fingerprints of typed passwords -----------------------------------------------------


def test_typed_password_fingerprint_is_keyed_per_process() -> None:
    typed = Secret("password", "Summer2024!", keyed=True)
    assert typed.fingerprint == fingerprint("Summer2024!", keyed=True), "equal within one run"
    assert typed.fingerprint.startswith("hmac:")
    guesses = {fingerprint(g) for g in ("Summer2024!", "Winter2024!")}
    assert typed.fingerprint.split(":")[1] not in {g.split(":")[1] for g in guesses}


def test_typed_password_fingerprint_differs_in_another_process() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from runbook_lib.core.secrets import fingerprint; "
        "print(fingerprint(sys.stdin.read(), keyed=True))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], input="Summer2024!", capture_output=True, text=True
    )
    assert other.returncode == 0 and other.stdout.startswith("hmac:")
    assert other.stdout.strip() != fingerprint("Summer2024!", keyed=True)


def test_generated_secrets_keep_a_plain_fingerprint() -> None:
    assert Secret("secret-access-key", KEY).fingerprint == fingerprint(KEY)


# ---- credential calls are reads ----------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        "AssumeRole",
        "AssumeRoleWithSAML",
        "AssumeRoleWithWebIdentity",
        "AssumeRoot",
        "GetSessionToken",
        "GetFederationToken",
        "GetRoleCredentials",
    ],
)
def test_credential_calls_are_reads(operation: str) -> None:
    assert not is_write(operation)


def test_writes_stay_writes() -> None:
    assert all(is_write(op) for op in ("CreateUser", "PutSecretValue", "EnableMFADevice"))


def test_plan_mode_allows_assume_role_and_session_tokens() -> None:
    session = boto3.Session(
        aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="x", region_name="us-east-1"
    )
    record = RunRecord(notebook="plan")
    session.events.register("before-call", _count_calls(record, plan=True))
    sts = session.client("sts")
    stub = Stubber(sts)
    stub.activate()  # the stub answers "before-call.*.*"; the plan-mode check goes first
    sts.meta.events.register_first("before-call.*.*", _count_calls(record, plan=True))
    creds = {
        "AccessKeyId": "ASIAEXAMPLEEXAMPLE",
        "SecretAccessKey": "y",
        "SessionToken": "z",
        "Expiration": "2030-01-01T00:00:00Z",
    }
    role = "arn:aws:iam::210987654321:role/OrganizationAccountAccessRole"
    with stub:
        stub.add_response(
            "assume_role",
            {
                "Credentials": creds,
                "AssumedRoleUser": {"AssumedRoleId": "AROAEXAMPLE:s", "Arn": f"{role}/s"},
            },
            {"RoleArn": role, "RoleSessionName": "plan"},
        )
        stub.add_response("get_session_token", {"Credentials": creds}, {})
        sts.assume_role(RoleArn=role, RoleSessionName="plan")
        sts.get_session_token()
    assert (record.reads, record.writes) == (2, 0)
    with pytest.raises(PlanModeWrite):
        session.client("iam").create_user(UserName="never")


def test_plan_mode_assumes_a_role_on_the_sandbox(ctx: RunContext) -> None:
    ctx.iam.create_role(
        RoleName="member-admin",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )
    session = boto3.Session(region_name="us-east-1")
    record = RunRecord(notebook="plan")
    session.events.register("before-call", _count_calls(record, plan=True))
    sts = session.client("sts", endpoint_url=ctx.connection.endpoint_url)
    role = ctx.arn("role", "member-admin")
    answer = sts.assume_role(RoleArn=role, RoleSessionName="plan-run")
    assert answer["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{ctx.account_id}:")
    assert (record.reads, record.writes) == (1, 0)


# ---- a typed password is not echoed by the kernel ------------------------------------------


def test_typed_password_is_not_echoed_to_the_frontends() -> None:
    from runbook_lib import widgets

    typed: list[str] = []
    form = widgets.ApplyForm("Step 7", "plan", lambda value: typed.append(value) or "done", "pw")
    sent: list[Any] = []
    form.field._send = lambda msg, buffers=None: sent.append(msg)
    form.field.set_state({"value": PASSWORD})  # what the browser sends when the person types
    form.submit()
    assert typed == [PASSWORD], "the library received the typed password"
    assert form.field.value == "", "the field was emptied before the library saw the value"
    assert_no_value(json.dumps(sent), {"password": PASSWORD}, "the kernel's widget messages")
    assert_no_value(json.dumps(form.get_state()), {"password": PASSWORD}, "the form's state")


def test_s2_new_key_with_a_failing_record_write_shows_no_key(
    ctx: RunContext, secrets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runbook_lib import access_key

    ctx.iam.create_user(UserName="hygiene02")
    plan = access_key.check_request(ctx, "hygiene02")

    real = ctx.record.change

    def change(action: str, resource: str) -> None:
        if action == "create-access-key":  # the run record's disk fills up right then
            _enospc("")
        real(action, resource)

    monkeypatch.setattr(ctx.record, "change", change)
    report = verbose_traceback(lambda: access_key.ensure_access_key(ctx, plan))
    assert "No space left" in report
    keys = ctx.iam.list_access_keys(UserName="hygiene02")["AccessKeyMetadata"]
    assert len(keys) == 1, "the key was created before the record write failed"
    assert_no_value(report, dict(announced_values()), "the verbose traceback")


def announced_values() -> list[tuple[str, str]]:
    """The secrets created in this process since the last call (kind, value)."""
    return [(f"secret {n}", v) for n, v in enumerate(_ANNOUNCED) if isinstance(v, str)]


_ANNOUNCED: list[str | bytes] = []


@pytest.fixture(autouse=True)
def _remember_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep each value a ``Secret`` is made with (as the runner's leak guard would)."""
    _ANNOUNCED.clear()
    real = secrets_module.announce

    def announce(secret: Secret) -> None:
        _ANNOUNCED.append(secret.reveal())
        real(secret)

    monkeypatch.setattr(secrets_module, "announce", announce)
