"""S2 library: access keys created once, delivered once, rotated safely, repaired after a crash."""

from __future__ import annotations

import configparser
import csv
import io
import itertools
import json
import os
import shutil
import stat
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from support.aws import ACCOUNT, reset_sandbox

from runbook_lib import (
    BadInput,
    RunContext,
    Secret,
    TargetRefused,
    VerifyFailed,
    preflight,
    widgets,
)
from runbook_lib.access_key import proof as key_checks
from runbook_lib.access_key.apply import ensure_access_key
from runbook_lib.access_key.handover import deliver_key, show_key
from runbook_lib.access_key.marker import MARKER_TAG, key_marker, write_marker
from runbook_lib.access_key.request import check_request
from runbook_lib.access_key.rotation import retire_old_key
from runbook_lib.access_key.state import KeyPlan, NewKey
from runbook_lib.access_key.verify import verify_access_key
from runbook_lib.core.errors import AwsError
from runbook_lib.core.markers import PENDING, utc_now
from runbook_lib.core.sandbox import Sandbox

USER = "Administrator"


def no_sleep(_: float) -> None:
    """Tests never wait for IAM's eventual consistency."""


def fresh_ctx(**kwargs: Any) -> RunContext:
    """A new run (its own record), as a re-run would have."""
    return preflight("test", target="sandbox", **kwargs)


def run_all(ctx: RunContext, user: str, **params: Any) -> tuple[KeyPlan, NewKey]:
    """Every step of the notebook, in order (as the headless runner would run them)."""
    plan = check_request(ctx, user, **params)
    key = ensure_access_key(ctx, plan)
    show_key(ctx, plan, key)
    deliver_key(ctx, plan, key)
    retire_old_key(ctx, plan, key, sleep=no_sleep)
    verify_access_key(ctx, plan, key, sleep=no_sleep)
    return plan, key


def keys_of(ctx: RunContext, user: str) -> dict[str, str]:
    """Access key ID -> status, read back from the sandbox."""
    meta = ctx.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    return {m["AccessKeyId"]: m["Status"] for m in meta}


def marker_of(ctx: RunContext, user: str) -> str:
    tags = ctx.iam.list_user_tags(UserName=user)["Tags"]
    return next((t["Value"] for t in tags if t["Key"] == MARKER_TAG), "")


def csv_row(path: Path) -> dict[str, str]:
    rows = list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))))
    assert len(rows) == 1
    return rows[0]


_NAMES = itertools.count(1)


@pytest.fixture(scope="module")
def module_sandbox() -> Sandbox:
    """One reset for this module: each test gets its own user instead (resets cost seconds)."""
    return reset_sandbox()


@pytest.fixture
def ctx(module_sandbox: Sandbox) -> RunContext:
    """A run context on the module's sandbox (apply mode, headless)."""
    return fresh_ctx()


@pytest.fixture
def user(ctx: RunContext) -> str:
    """A new IAM user of this test (``Administrator`` plus a number)."""
    name = f"{USER}{next(_NAMES)}"
    ctx.iam.create_user(UserName=name)
    return name


def aws_cli_v2() -> str | None:
    """An AWS CLI that has ``configure import`` (v2: Debian's awscli package), if any."""
    # not the venv's: PyPI's awscli is v1 (and its script's shebang breaks in a path with a space)
    for cand in (shutil.which("aws"), "/usr/bin/aws"):
        if cand and os.path.exists(cand):
            try:
                out = subprocess.run([cand, "--version"], capture_output=True, text=True)
            except OSError:  # a script whose interpreter cannot be found
                continue
            if (out.stdout + out.stderr).startswith("aws-cli/2"):
                return cand
    return None


# ---- create ---------------------------------------------------------------------------------
def test_create_writes_a_0600_csv_that_aws_configure_import_accepts(
    ctx: RunContext, user: str, secrets_dir: Path, tmp_path: Path
) -> None:
    _, key = run_all(ctx, user)
    path = secrets_dir / f"{ACCOUNT}-{user}_accessKeys.csv"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text("utf-8").splitlines()[0] == "User name,Access key ID,Secret access key"
    row = csv_row(path)
    assert row["Access key ID"] == key.key_id and row["User name"] == user
    assert keys_of(ctx, user) == {key.key_id: "Active"}
    assert marker_of(ctx, user).startswith("delivered:") and key.key_id in marker_of(ctx, user)
    assert key.secret is not None and key.secret.dropped  # gone from the kernel after delivery

    cli = aws_cli_v2()
    if cli is None:
        pytest.skip("no AWS CLI v2 (Debian package awscli) for 'aws configure import'")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
    }
    done = subprocess.run(
        [cli, "configure", "import", "--csv", f"file://{path}"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, "aws configure import refused the CSV"
    creds = configparser.ConfigParser()
    creds.read(home / "credentials")
    assert creds[user]["aws_access_key_id"] == key.key_id
    if creds[user]["aws_secret_access_key"] != row["Secret access key"]:
        pytest.fail("the imported secret differs from the delivered one", pytrace=False)


def test_second_create_run_makes_no_writes(ctx: RunContext, user: str, secrets_dir: Path) -> None:
    _, first = run_all(ctx, user)
    again = fresh_ctx()
    plan, key = run_all(again, user)
    assert plan.action == "none"
    assert again.record.writes == 0
    assert key.key_id == first.key_id and not key.created
    assert "already has an active key" in repr(key) and first.key_id in repr(key)
    assert "0 days old, never used" in repr(key) or "last used" in repr(key)
    assert list(keys_of(ctx, user)) == [first.key_id]


def test_plan_mode_makes_no_writes_and_says_what_it_would_do(user: str, secrets_dir: Path) -> None:
    ctx = fresh_ctx(plan=True)
    plan = check_request(ctx, user)
    key = ensure_access_key(ctx, plan)
    assert "would create an access key" in repr(key)
    assert "would deliver" in repr(deliver_key(ctx, plan, key))
    verify_access_key(ctx, plan, key)
    assert ctx.record.writes == 0 and keys_of(ctx, user) == {}


def test_secrets_manager_destination_holds_the_key_as_json(ctx: RunContext, user: str) -> None:
    _, key = run_all(ctx, user, destination="secretsmanager")
    sm = ctx.client("secretsmanager")
    body = json.loads(
        sm.get_secret_value(SecretId=f"iam-runbooks/{user}/access-key")["SecretString"]
    )
    assert body["AccessKeyId"] == key.key_id and body["UserName"] == user
    assert body["SecretAccessKey"]
    assert ctx.record.secrets[0]["destination"].startswith("secretsmanager: arn:aws:secretsmanager")


def test_console_user_gets_a_one_line_warning_not_a_refusal(
    ctx: RunContext, user: str, secrets_dir: Path
) -> None:
    ctx.iam.create_login_profile(UserName=user, Password="Ab1!" * 4)
    plan, key = run_all(ctx, user)
    assert key.created
    assert any("CIS 1.11" in w and "\n" not in w for w in ctx.record.warnings)
    assert "iam_user_no_setup_initial_access_key" in repr(plan)


# ---- bad input: exit 2, nothing changed ------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"user_name": "nobody"}, "does not exist"),
        ({"mode": "replace"}, "mode 'replace' is not one of"),
        ({"destination": "email"}, "destination 'email'"),
        ({"destination": "widget"}, "headless"),
        ({"delete_old": True}, "delete_old applies to modes rotate"),
        ({"destination": "secretsmanager", "secret_name": "bad name!"}, "secret_name"),
    ],
)
def test_bad_input_changes_nothing(
    ctx: RunContext, user: str, secrets_dir: Path, params: dict[str, Any], words: str
) -> None:
    run = fresh_ctx()
    with pytest.raises(BadInput, match=words) as err:
        check_request(run, params.pop("user_name", user), **params)
    assert err.value.exit_code == 2 and "\n" not in str(err.value)
    assert run.record.writes == 0 and keys_of(ctx, user) == {}


@pytest.mark.parametrize("name", ["root", "<root_account>", "ROOT", f"arn:aws:iam::{ACCOUNT}:root"])
def test_root_user_name_is_refused_with_the_s0_advice(ctx: RunContext, name: str) -> None:
    with pytest.raises(TargetRefused, match="S0: do not use the root user"):
        check_request(ctx, name)
    assert ctx.record.writes == 0


def test_existing_csv_is_refused_before_create_access_key(
    ctx: RunContext, user: str, secrets_dir: Path
) -> None:
    secrets_dir.mkdir()
    (secrets_dir / f"{ACCOUNT}-{user}_accessKeys.csv").write_text("keep me")
    run = fresh_ctx()
    with pytest.raises(BadInput, match="already exists"):
        check_request(run, user)
    assert run.record.writes == 0 and keys_of(ctx, user) == {}
    assert (secrets_dir / f"{ACCOUNT}-{user}_accessKeys.csv").read_text() == "keep me"


def test_unwritable_secrets_folder_is_refused_before_any_write(
    ctx: RunContext, user: str, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    run = fresh_ctx()
    with pytest.raises(BadInput, match="not a writable folder"):
        check_request(run, user, secrets_dir=str(blocker / "secrets"))
    assert run.record.writes == 0 and keys_of(ctx, user) == {}


# ---- two keys, the limit ----------------------------------------------------------------------
def test_third_key_is_refused_naming_both_keys(
    ctx: RunContext, user: str, secrets_dir: Path
) -> None:
    first = ctx.iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    second = ctx.iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    ctx.iam.update_access_key(UserName=user, AccessKeyId=first, Status="Inactive")
    run = fresh_ctx()
    with pytest.raises(BadInput) as err:
        check_request(run, user, mode="rotate")
    text = str(err.value)
    assert first in text and second in text and "LimitExceeded" in text
    assert f"e.g. {first} (inactive)" in text and "delete-access-key" in text
    assert "Nothing was deleted" in text
    assert run.record.writes == 0 and keys_of(ctx, user) == {first: "Inactive", second: "Active"}


def test_limit_exceeded_in_a_race_is_translated_and_the_marker_undone(
    ctx: RunContext, user: str, secrets_dir: Path
) -> None:
    ctx.iam.create_access_key(UserName=user)
    plan = check_request(ctx, user, mode="rotate")
    ctx.iam.create_access_key(UserName=user)  # someone else, between plan and create
    with pytest.raises(AwsError, match="already has 2 access keys") as err:
        ensure_access_key(ctx, plan)
    assert err.value.aws_code == "LimitExceeded"
    assert marker_of(ctx, user) == ""  # no pending marker that could later condemn their key


# ---- rotation ---------------------------------------------------------------------------------
def test_rotate_deactivates_the_old_key_only_after_the_new_one_is_proven(
    ctx: RunContext, user: str, secrets_dir: Path
) -> None:
    _, old = run_all(ctx, user)
    run = fresh_ctx()
    _, new = run_all(run, user, mode="rotate")
    assert keys_of(ctx, user) == {old.key_id: "Inactive", new.key_id: "Active"}
    calls = list(run.record.calls)
    assert calls.index("sts:GetCallerIdentity") < calls.index("iam:UpdateAccessKey")
    assert len(list(secrets_dir.glob(f"{ACCOUNT}-{user}_accessKeys_*.csv"))) == 1


def test_rotate_with_delete_old_deletes_the_old_key(
    ctx: RunContext, user: str, secrets_dir: Path
) -> None:
    run_all(ctx, user, destination="secretsmanager")
    _, new = run_all(
        fresh_ctx(), user, mode="rotate", delete_old=True, destination="secretsmanager"
    )
    assert keys_of(ctx, user) == {new.key_id: "Active"}


def test_rotate_keeps_the_old_key_active_when_the_new_key_fails_sts(
    ctx: RunContext, user: str, secrets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, old = run_all(ctx, user)
    sts = boto3.client("sts", region_name="us-east-1")
    stub = Stubber(sts)
    for _ in range(key_checks.PROOF_ATTEMPTS):
        stub.add_client_error("get_caller_identity", "InvalidClientTokenId", http_status_code=403)
    stub.activate()
    monkeypatch.setattr(key_checks, "sts_client_for", lambda *_: sts)
    run = fresh_ctx()
    plan = check_request(run, user, mode="rotate")
    key = ensure_access_key(run, plan)
    deliver_key(run, plan, key)
    with pytest.raises(VerifyFailed, match="old key was left as it was"):
        retire_old_key(run, plan, key, sleep=no_sleep)
    assert keys_of(ctx, user) == {old.key_id: "Active", key.key_id: "Active"}
    assert "iam:UpdateAccessKey" not in run.record.calls


def test_proof_retries_while_the_new_key_propagates(ctx: RunContext, user: str) -> None:
    made = ctx.iam.create_access_key(UserName=user)["AccessKey"]
    sts = boto3.client("sts", region_name="us-east-1")
    stub = Stubber(sts)
    stub.add_client_error("get_caller_identity", "InvalidClientTokenId", http_status_code=403)
    arn = f"arn:aws:iam::{ACCOUNT}:user/{user}"
    stub.add_response("get_caller_identity", {"UserId": "AIDA", "Account": ACCOUNT, "Arn": arn})
    stub.activate()
    pauses: list[float] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(key_checks, "sts_client_for", lambda *_: sts)
        secret = Secret("secret-access-key", made["SecretAccessKey"])
        text = key_checks.prove_key(ctx, arn, made["AccessKeyId"], secret, sleep=pauses.append)
    assert arn in text and pauses == [0.5]


# ---- crash safety -----------------------------------------------------------------------------
def test_crash_after_create_access_key_is_repaired_on_rerun(
    ctx: RunContext, user: str, secrets_dir: Path
) -> None:
    dead = check_request(ctx, user)
    orphan = ensure_access_key(ctx, dead)  # the run dies here: secret never delivered
    assert marker_of(ctx, user).startswith("pending:")
    run = fresh_ctx()
    plan, key = run_all(run, user)
    assert [k.key_id for k in plan.orphans] == [orphan.key_id]
    assert keys_of(ctx, user) == {key.key_id: "Active"} and key.key_id != orphan.key_id
    assert csv_row(secrets_dir / f"{ACCOUNT}-{user}_accessKeys.csv")["Access key ID"] == key.key_id
    assert run.record.repairs[0]["action"] == "delete-access-key"
    assert orphan.key_id in run.record.repairs[0]["resource"]
    assert marker_of(ctx, user).startswith("delivered:")


def test_crash_after_delivery_keeps_the_delivered_key(
    ctx: RunContext, user: str, secrets_dir: Path
) -> None:
    from runbook_lib.access_key.destination import deliver

    dead = check_request(ctx, user)
    made = ensure_access_key(ctx, dead)
    assert made.secret is not None
    deliver(ctx, dead.destination, made.key_id, made.secret)  # dies before marking it delivered
    run = fresh_ctx()
    plan, key = run_all(run, user)
    assert plan.action == "none" and key.key_id == made.key_id
    assert keys_of(ctx, user) == {made.key_id: "Active"}
    assert [r["action"] for r in run.record.repairs] == ["finish-delivery"]
    assert marker_of(ctx, user).startswith("delivered:")
    assert fresh_ctx().record.writes == 0


def test_keys_made_elsewhere_are_never_taken_for_orphans(
    ctx: RunContext, user: str, secrets_dir: Path
) -> None:
    theirs = ctx.iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    old_marker = key_marker(PENDING, utc_now() - timedelta(days=2), (), "file")
    write_marker(ctx, user, "arn", old_marker)  # a run died two days ago before creating a key
    run = fresh_ctx()
    plan, key = run_all(run, user)
    assert plan.orphans == () and key.key_id == theirs
    assert keys_of(ctx, user) == {theirs: "Active"}
    assert "outside the unfinished run's window" in repr(plan)


def test_a_dead_run_for_another_destination_must_be_finished_there(
    ctx: RunContext, user: str, secrets_dir: Path
) -> None:
    dead = check_request(ctx, user, destination="secretsmanager")
    ensure_access_key(ctx, dead)
    run = fresh_ctx()
    with pytest.raises(BadInput, match="re-run with destination secretsmanager"):
        check_request(run, user)
    assert run.record.writes == 0


# ---- interactive ------------------------------------------------------------------------------
def test_widget_shows_the_key_once_and_marks_it_delivered_when_stored(
    ctx: RunContext, user: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[Any] = []
    monkeypatch.setattr(widgets, "show", shown.append)
    ctx.interactive = True
    plan = check_request(ctx, user, destination="widget")
    key = ensure_access_key(ctx, plan)
    result = show_key(ctx, plan, key)
    (box,) = shown
    assert isinstance(box, widgets.ShownOnce)
    assert key.secret is not None and key.secret.text() not in repr(box) + repr(result)
    deliver_key(ctx, plan, key)
    assert ctx.record.manual_steps[-1].status == "pending"
    assert marker_of(ctx, user).startswith("pending:")
    box._toggle()  # revealed, then stored
    box._stored()
    assert marker_of(ctx, user).startswith("delivered:") and box.secret.dropped
    assert (box.reveal_button.description, box.reveal_button.disabled) == ("Reveal", True), (
        "a stored secret's widget offers to hide a value that is gone"
    )
    assert ctx.record.manual_steps[-1].status == "done"
    verify_access_key(ctx, plan, key, sleep=no_sleep)
