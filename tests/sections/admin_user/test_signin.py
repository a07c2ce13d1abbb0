"""S1 step 8: the sign-in URL, the console CSV (0600, never overwritten) and the instructions."""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import pytest
from support.aws import ACCOUNT, empty_iam
from support.s1_flow import PASSWORD_HEADER, new_ctx, params, run_steps

from runbook_lib import BadInput, admin_user
from runbook_lib.admin_user import signin
from runbook_lib.admin_user.outcome import SignInInstructions
from runbook_lib.admin_user.signin import (
    csv_path,
    signin_url,
    write_signin_csv,
)
from runbook_lib.core.secrets import Secret

URL = f"https://{ACCOUNT}.signin.aws.amazon.com/console"


@pytest.fixture
def clean_iam() -> None:
    """Start from an empty IAM (cleaned by API, not by a slow reset)."""
    empty_iam(new_ctx().iam)


def test_sign_in_url_uses_the_alias_when_there_is_one() -> None:
    assert signin_url(ACCOUNT) == URL
    assert signin_url(ACCOUNT, "acme") == "https://acme.signin.aws.amazon.com/console"


def test_csv_has_the_consoles_format_and_mode_0600(tmp_path: Path) -> None:
    password = Secret("password", 'Pa,ss"w0rd!', label="Administrator")
    path = write_signin_csv(tmp_path / "s" / "a.csv", "Administrator", password, URL)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_bytes()
    assert raw.startswith(PASSWORD_HEADER.encode() + b"\r\n")
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows == [PASSWORD_HEADER.split(","), ["Administrator", password.text(), URL]]


def test_csv_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("keep me")
    with pytest.raises(BadInput, match="never overwritten"):
        write_signin_csv(path, "Administrator", Secret("password", "Xx1!xxxxxx"), URL)
    assert path.read_text() == "keep me"


def test_csv_name_holds_account_and_user(tmp_path: Path) -> None:
    assert csv_path(tmp_path, ACCOUNT, "alice").name == f"{ACCOUNT}-alice_credentials.csv"


def test_instructions_name_url_and_user_but_never_the_password() -> None:
    text = SignInInstructions(
        "Administrator", URL, True, "/x/123-Administrator_credentials.csv"
    ).text
    assert URL in text and "Administrator" in text
    assert "new password at first sign-in" in text
    assert "123-Administrator_credentials.csv" in text and "/x/" not in text


def test_deliver_writes_one_csv_per_new_password_and_no_password_in_its_output(
    clean_iam: None, secrets_dir: Path
) -> None:
    ctx = new_ctx()
    request = admin_user.check_request(ctx, **params(secrets_dir, users=[{"name": "alice"}]))
    users = admin_user.find_users(ctx, request)
    created = admin_user.review_and_create(ctx, users, admin_user.find_groups(ctx, request))
    values = [s.text() for s in created.passwords.values()]
    result = signin.deliver_sign_in(ctx, created)
    shown = repr(result) + repr(created) + repr(ctx.record.to_dict())
    assert all(v not in shown for v in values)
    assert all(s.dropped for s in created.passwords.values())
    assert sorted(p.name for p in secrets_dir.iterdir()) == [
        f"{ACCOUNT}-Administrator_credentials.csv",
        f"{ACCOUNT}-alice_credentials.csv",
    ]
    assert [s["kind"] for s in ctx.record.secrets] == ["console-password", "console-password"]
    tags = ctx.iam.list_user_tags(UserName="alice")["Tags"]
    assert tags == []


def test_deliver_in_plan_mode_writes_nothing(clean_iam: None, secrets_dir: Path) -> None:
    ctx = new_ctx(plan=True)
    request = admin_user.check_request(ctx, **params(secrets_dir))
    users = admin_user.find_users(ctx, request)
    created = admin_user.review_and_create(ctx, users, admin_user.find_groups(ctx, request))
    result = signin.deliver_sign_in(ctx, created)
    assert "Plan mode: would write the sign-in CSV for Administrator" in repr(result)
    assert not secrets_dir.exists()
    assert ctx.record.writes == 0


def test_rerun_tells_the_user_to_use_the_password_given_earlier(
    clean_iam: None, secrets_dir: Path
) -> None:
    run_steps(new_ctx(), secrets_dir)
    ctx = new_ctx()
    request = admin_user.check_request(ctx, **params(secrets_dir))
    users = admin_user.find_users(ctx, request)
    created = admin_user.review_and_create(ctx, users, admin_user.find_groups(ctx, request))
    result = signin.deliver_sign_in(ctx, created)
    assert "password your administrator gave you earlier" in repr(result)
    assert "No new password" in repr(result)
