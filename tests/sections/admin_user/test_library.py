"""S1 library: validation, first run, re-runs, crashes after each write, and the AWS path."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY, Stubber
from support.aws import ACCOUNT, empty_iam
from support.s1_flow import (
    PASSWORD_HEADER,
    Crash,
    crash_after_writes,
    new_ctx,
    params,
    run_steps,
    writes,
)

from runbook_lib import BadInput, RunContext, admin_user
from runbook_lib.admin_user import signin
from runbook_lib.admin_user.actions import set_console_password
from runbook_lib.admin_user.outcome import Created
from runbook_lib.admin_user.passwords import check_password
from runbook_lib.admin_user.request import check_request
from runbook_lib.admin_user.signin import csv_path
from runbook_lib.admin_user.state import MARKER_KEY
from runbook_lib.core.secrets import Secret
from runbook_lib.password_policy.state import PasswordPolicy

ADMIN_WRITES_ON_MOTO = {
    "CreateGroup": 1,
    "AttachGroupPolicy": 1,
    "CreateUser": 1,
    "AddUserToGroup": 1,
    "CreateLoginProfile": 1,
    "UpdateLoginProfile": 1,  # moto drops PasswordResetRequired on create; AWS does not
    "UntagUser": 1,
}


@pytest.fixture
def clean_iam() -> None:
    """This module's tests start from an empty IAM (cleaned by API, not by a slow reset)."""
    empty_iam(new_ctx().iam)


def _csv_rows(secrets_dir: Path) -> list[list[str]]:
    files = sorted(secrets_dir.glob("*_credentials.csv"))
    rows = []
    for f in files:
        with f.open(newline="", encoding="utf-8") as fh:
            rows += list(csv.reader(fh))[1:]
    return rows


def _user_state(iam: Any, name: str) -> dict[str, Any]:
    return {
        "groups": sorted(g["GroupName"] for g in iam.list_groups_for_user(UserName=name)["Groups"]),
        "tags": {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=name)["Tags"]},
        "reset": iam.get_login_profile(UserName=name)["LoginProfile"]["PasswordResetRequired"],
    }


# ---- validation: before any write ------------------------------------------------------------
@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"user_name": "Admin istrator"}, "user_name"),
        ({"user_name": "x" * 65}, "user_name"),
        ({"group_name": "Admins!"}, "group_name"),
        ({"path": "admins/"}, "path"),
        ({"tags": {"aws:team": "x"}}, "tags"),
        ({"tags": {"iam-runbooks:console-password": "x"}}, "iam-runbooks:"),
        ({"tags": {f"k{i}": "v" for i in range(50)}}, "at most 49"),
        ({"policy_arn": "AdministratorAccess"}, "policy_arn"),
        ({"password_reset_required": "yes"}, "password_reset_required"),
        ({"users": [{"name": "alice", "role": "x"}]}, "users[0]"),
        ({"users": [{"name": "administrator"}]}, "differ only in case"),
        ({"users": [{"name": "bob", "groups": ["administrators"]}]}, "differ only in case"),
        ({"users": "alice"}, "users"),
    ],
)
def test_bad_input_is_refused_before_any_call(
    tmp_path: Path, override: dict[str, Any], named: str
) -> None:
    with pytest.raises(BadInput, match=None) as err:
        check_request(new_ctx(), **params(tmp_path, **override))
    assert named in str(err.value)
    assert "\n" not in str(err.value)


def test_user_clashing_in_case_only_is_refused_with_zero_writes(
    clean_iam: None, secrets_dir: Path
) -> None:
    ctx = new_ctx()
    ctx.iam.create_user(UserName="administrator")
    ctx.record.writes = 0
    with pytest.raises(BadInput, match="clashes with existing user 'administrator'"):
        run_steps(ctx, secrets_dir)
    assert ctx.record.writes == 0
    assert [u["UserName"] for u in ctx.iam.list_users()["Users"]] == ["administrator"]


def test_group_clashing_in_case_only_is_refused_with_zero_writes(
    clean_iam: None, secrets_dir: Path
) -> None:
    ctx = new_ctx()
    ctx.iam.create_group(GroupName="ADMINISTRATORS")
    ctx.record.writes = 0
    with pytest.raises(BadInput, match="clashes with existing group"):
        run_steps(ctx, secrets_dir)
    assert ctx.record.writes == 0
    assert ctx.iam.list_users()["Users"] == []


def test_unknown_policy_is_bad_input_with_zero_writes(clean_iam: None, secrets_dir: Path) -> None:
    ctx = new_ctx()
    with pytest.raises(BadInput, match="NoSuchEntity"):
        run_steps(ctx, secrets_dir, policy_arn="arn:aws:iam::aws:policy/NoSuchPolicy")
    assert ctx.record.writes == 0


def test_existing_csv_stops_the_run_before_any_write(clean_iam: None, secrets_dir: Path) -> None:
    secrets_dir.mkdir()
    csv_path(secrets_dir, ACCOUNT, "Administrator").write_text("old")
    ctx = new_ctx()
    with pytest.raises(BadInput, match="already exists"):
        run_steps(ctx, secrets_dir)
    assert ctx.record.writes == 0
    assert ctx.iam.list_groups()["Groups"] == []


def test_user_under_another_path_is_refused(clean_iam: None, secrets_dir: Path) -> None:
    ctx = new_ctx()
    ctx.iam.create_user(UserName="Administrator", Path="/ops/")
    with pytest.raises(BadInput, match="path /ops/"):
        run_steps(ctx, secrets_dir)


# ---- first run, re-run ---------------------------------------------------------------------
def test_first_run_makes_only_the_needed_writes(clean_iam: None, secrets_dir: Path) -> None:
    ctx = new_ctx()
    run_steps(ctx, secrets_dir)
    assert writes(ctx) == ADMIN_WRITES_ON_MOTO
    state = _user_state(ctx.iam, "Administrator")
    assert state == {"groups": ["Administrators"], "tags": {}, "reset": True}
    attached = ctx.iam.list_attached_group_policies(GroupName="Administrators")
    assert [p["PolicyName"] for p in attached["AttachedPolicies"]] == ["AdministratorAccess"]
    assert [r[0] for r in _csv_rows(secrets_dir)] == ["Administrator"]


def test_second_run_makes_no_writes(clean_iam: None, secrets_dir: Path) -> None:
    run_steps(new_ctx(), secrets_dir, tags={"team": "platform"})
    again = new_ctx()
    created = run_steps(again, secrets_dir, tags={"team": "platform"})
    assert again.record.writes == 0
    assert created.actions == ()
    assert len(list(secrets_dir.iterdir())) == 1


def test_password_reset_flag_can_be_off(clean_iam: None, secrets_dir: Path) -> None:
    ctx = new_ctx()
    run_steps(ctx, secrets_dir, password_reset_required=False)
    assert _user_state(ctx.iam, "Administrator")["reset"] is False
    assert "UpdateLoginProfile" not in writes(ctx)


def test_further_users_get_the_same_guarantees(clean_iam: None, secrets_dir: Path) -> None:
    users = [
        {"name": "alice", "groups": ["Administrators", "Readers"], "tags": {"team": "ops"}},
        {"name": "bob"},
    ]
    ctx = new_ctx()
    run_steps(ctx, secrets_dir, users=users)
    assert _user_state(ctx.iam, "alice") == {
        "groups": ["Administrators", "Readers"],
        "tags": {"team": "ops"},
        "reset": True,
    }
    assert _user_state(ctx.iam, "bob")["groups"] == ["Administrators"]
    readers = ctx.iam.list_attached_group_policies(GroupName="Readers")["AttachedPolicies"]
    assert readers == []  # only group_name gets policy_arn
    assert sorted(r[0] for r in _csv_rows(secrets_dir)) == ["Administrator", "alice", "bob"]
    again = new_ctx()
    run_steps(again, secrets_dir, users=users)
    assert again.record.writes == 0


def test_without_console_access_no_password_and_no_csv(clean_iam: None, secrets_dir: Path) -> None:
    ctx = new_ctx()
    run_steps(ctx, secrets_dir, console_access=False, tags={"team": "x"})
    assert set(writes(ctx)) == {"CreateGroup", "AttachGroupPolicy", "CreateUser", "AddUserToGroup"}
    tags = ctx.iam.list_user_tags(UserName="Administrator")["Tags"]
    assert tags == [{"Key": "team", "Value": "x"}]
    assert not secrets_dir.exists() or not list(secrets_dir.iterdir())


def test_password_set_by_someone_else_is_never_reset(clean_iam: None, secrets_dir: Path) -> None:
    ctx = new_ctx()
    ctx.iam.create_user(UserName="Administrator")
    ctx.iam.create_login_profile(UserName="Administrator", Password="Their-own-Pw-1")
    ctx.record.calls.clear()
    run_steps(ctx, secrets_dir)
    assert "UpdateLoginProfile" not in writes(ctx)
    assert "CreateLoginProfile" not in writes(ctx)
    assert not secrets_dir.exists() or not list(secrets_dir.iterdir())


def test_existing_user_without_password_is_marked_before_the_password_is_set(
    clean_iam: None, secrets_dir: Path
) -> None:
    ctx = new_ctx()
    ctx.iam.create_user(UserName="Administrator")
    ctx.record.calls.clear()
    run_steps(ctx, secrets_dir)
    assert writes(ctx)["TagUser"] == 1
    assert _user_state(ctx.iam, "Administrator")["tags"] == {}
    assert len(_csv_rows(secrets_dir)) == 1


def test_generated_password_meets_a_strict_custom_policy(
    clean_iam: None, secrets_dir: Path
) -> None:
    ctx = new_ctx()
    ctx.iam.update_account_password_policy(
        MinimumPasswordLength=32,
        RequireSymbols=True,
        RequireNumbers=True,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
    )
    run_steps(ctx, secrets_dir)
    [[_, password, _]] = _csv_rows(secrets_dir)
    policy = PasswordPolicy.from_response(ctx.iam.get_account_password_policy()["PasswordPolicy"])
    check_password(password, policy, user_name="Administrator", account_id=ACCOUNT)
    assert len(password) >= 32


def test_sign_in_url_uses_the_account_alias(clean_iam: None, secrets_dir: Path) -> None:
    ctx = new_ctx()
    ctx.iam.create_account_alias(AccountAlias="example-corp")
    run_steps(ctx, secrets_dir)
    [[_, _, url]] = _csv_rows(secrets_dir)
    assert url == "https://example-corp.signin.aws.amazon.com/console"


def test_plan_mode_makes_no_writes_and_no_csv(clean_iam: None, secrets_dir: Path) -> None:
    ctx = new_ctx(plan=True)
    created = run_steps(ctx, secrets_dir)
    assert ctx.record.writes == 0
    assert not created.applied
    assert "would make" in repr(created) and "create user 'Administrator'" in repr(created)
    assert not secrets_dir.exists()


# ---- crashes: a run that dies after any one write is completed by the next run -------------
@pytest.mark.parametrize("completed", range(1, 7))
def test_run_that_died_after_a_write_is_completed_by_the_next(
    clean_iam: None, secrets_dir: Path, completed: int
) -> None:
    first = new_ctx()
    crash_after_writes(first, completed)
    with pytest.raises(Crash):
        run_steps(first, secrets_dir)
    second = new_ctx()
    run_steps(second, secrets_dir)
    assert _user_state(second.iam, "Administrator") == {
        "groups": ["Administrators"],
        "tags": {},
        "reset": True,
    }
    rows = _csv_rows(secrets_dir)
    assert [r[0] for r in rows] == ["Administrator"]
    third = new_ctx()
    run_steps(third, secrets_dir)
    assert third.record.writes == 0


def test_password_lost_in_a_crash_is_replaced_and_recorded(
    clean_iam: None, secrets_dir: Path
) -> None:
    first = new_ctx()
    crash_after_writes(first, 5)  # CreateLoginProfile done; died before the CSV
    with pytest.raises(Crash):
        run_steps(first, secrets_dir)
    tags = first.iam.list_user_tags(UserName="Administrator")["Tags"]
    assert any(t["Key"] == MARKER_KEY and t["Value"].startswith("pending:") for t in tags)
    assert not secrets_dir.exists()
    second = new_ctx()
    run_steps(second, secrets_dir)
    assert [r["action"] for r in second.record.repairs] == ["update-login-profile"]
    # the reset is claimed first (its own marker: of two runs at once only one resets)
    assert writes(second) == {"TagUser": 1, "UpdateLoginProfile": 1, "UntagUser": 1}
    assert len(_csv_rows(secrets_dir)) == 1


def test_crash_after_the_csv_only_removes_the_tag(clean_iam: None, secrets_dir: Path) -> None:
    first = new_ctx()
    crash_after_writes(first, 6)  # everything but UntagUser
    with pytest.raises(Crash):
        run_steps(first, secrets_dir)
    [[_, password, _]] = _csv_rows(secrets_dir)
    second = new_ctx()
    run_steps(second, secrets_dir)
    assert writes(second) == {"UntagUser": 1}
    assert [r["action"] for r in second.record.repairs] == ["untag-user"]
    assert _csv_rows(secrets_dir)[0][1] == password  # the delivered password still holds


# ---- the AWS path (botocore Stubber): the flag is honoured on create, no extra write ---------
def _stubbed_iam() -> Any:
    import boto3

    return boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url="https://iam.amazonaws.com",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


def _profile(reset: bool) -> dict[str, Any]:
    import datetime

    created = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    return {
        "LoginProfile": {
            "UserName": "Administrator",
            "CreateDate": created,
            "PasswordResetRequired": reset,
        }
    }


def test_aws_honours_the_reset_flag_on_create_so_no_update_is_sent() -> None:
    iam = _stubbed_iam()
    secret = Secret("password", "Aa1!" + "x" * 16, label="Administrator")
    with Stubber(iam) as stub:
        stub.add_response(
            "create_login_profile",
            _profile(True),
            {"UserName": "Administrator", "Password": ANY, "PasswordResetRequired": True},
        )
        stub.add_response("get_login_profile", _profile(True), {"UserName": "Administrator"})
        fixed = set_console_password(iam, "Administrator", secret, True, create=True)
        stub.assert_no_pending_responses()
    assert fixed is False


def test_a_dropped_flag_is_set_again_with_the_same_password() -> None:
    iam = _stubbed_iam()
    value = "Aa1!" + "y" * 16
    secret = Secret("password", value, label="Administrator")
    expected = {"UserName": "Administrator", "Password": value, "PasswordResetRequired": True}
    with Stubber(iam) as stub:
        stub.add_response("create_login_profile", _profile(False), expected)
        stub.add_response("get_login_profile", _profile(False), {"UserName": "Administrator"})
        stub.add_response("update_login_profile", {}, expected)
        assert set_console_password(iam, "Administrator", secret, True, create=True) is True
        stub.assert_no_pending_responses()


def test_login_profile_not_yet_visible_is_read_again() -> None:
    iam = _stubbed_iam()
    secret = Secret("password", "Aa1!" + "z" * 16, label="Administrator")
    with Stubber(iam) as stub:
        stub.add_response("create_login_profile", _profile(True))
        stub.add_client_error("get_login_profile", "NoSuchEntity", http_status_code=404)
        stub.add_response("get_login_profile", _profile(True))
        fixed = set_console_password(
            iam, "Administrator", secret, True, create=True, sleep=lambda _: None
        )
        stub.assert_no_pending_responses()
    assert fixed is False


def test_header_of_the_csv_is_the_consoles(clean_iam: None, secrets_dir: Path) -> None:
    run_steps(new_ctx(), secrets_dir)
    [path] = list(secrets_dir.iterdir())
    assert path.read_bytes().split(b"\r\n")[0].decode() == PASSWORD_HEADER
    assert signin.csv_path(secrets_dir, ACCOUNT, "Administrator") == path


# ---- interactive: Step 7 waits for a person to press Create --------------------------------
def _absent(secret: str, text: str, where: str) -> None:
    found = secret in text
    assert not found, f"the typed password is in {where}"


def _live_step7(
    secrets_dir: Path, monkeypatch: pytest.MonkeyPatch, **overrides: Any
) -> tuple[RunContext, Created, Any]:
    """Steps 3-7 as JupyterLab's Run All (or Voilà) runs them; returns Step 7's form."""
    from runbook_lib import widgets

    shown: list[Any] = []
    monkeypatch.setattr(widgets, "show", shown.append)
    ctx = new_ctx()
    ctx.interactive = True
    request = admin_user.check_request(ctx, **params(secrets_dir, **overrides))
    users = admin_user.find_users(ctx, request)
    created = admin_user.review_and_create(ctx, users, admin_user.find_groups(ctx, request))
    [form] = shown
    assert isinstance(form, widgets.ApplyForm)
    return ctx, created, form


def test_live_run_all_writes_nothing_until_create_is_pressed(
    clean_iam: None, secrets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, created, form = _live_step7(secrets_dir, monkeypatch)
    assert "press Create" in repr(created)
    assert "create user 'Administrator'" in form.children[1].value  # the plan, in the form
    assert "Waiting for Step 7" in repr(signin.deliver_sign_in(ctx, created))
    assert "Not verified yet: waiting for Step 7" in repr(admin_user.verify(ctx, created))
    assert [m.step for m in ctx.record.pending] == ["S1.7"]
    assert ctx.record.writes == 0
    assert ctx.iam.list_users()["Users"] == [] and not secrets_dir.exists()


def test_live_weak_password_is_refused_in_the_form_with_zero_writes(
    clean_iam: None, secrets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, _, form = _live_step7(secrets_dir, monkeypatch)
    weak = "qwertzuiop"
    form.field.value = weak
    form.submit()
    assert "Not done" in form.status.value and "does not meet" in form.status.value
    _absent(weak, form.status.value, "the form's status")
    assert form.field.value == "" and not form.button.disabled  # cleared; try again
    assert ctx.record.writes == 0
    assert ctx.iam.list_users()["Users"] == [] and not secrets_dir.exists()


def test_live_typed_password_is_set_and_is_only_in_the_csv(
    clean_iam: None, secrets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, created, form = _live_step7(secrets_dir, monkeypatch)
    chosen = "My-Own-Passw0rd!"
    form.field.value = chosen
    form.submit()
    assert form.status.value.startswith("Done"), form.status.value
    assert form.field.value == "" and form.button.disabled and form.field.disabled
    [[user, password, _]] = _csv_rows(secrets_dir)
    same = password == chosen
    assert user == "Administrator" and same, "the sign-in CSV does not hold the typed password"
    assert _user_state(ctx.iam, "Administrator") == {
        "groups": ["Administrators"],
        "tags": {},
        "reset": True,
    }
    assert writes(ctx) == ADMIN_WRITES_ON_MOTO
    # the form shows Step 7's changes in place of the plan; Step 8 and Verify have their cells
    assert "Review — made these changes:" in form.status.value
    assert form.review.layout.display == "none" and "will make" not in form.review.value
    assert "Sign-in CSV" not in form.status.value and "✓ user" not in form.status.value
    record = json.dumps(ctx.record.to_dict())
    for where, text in (("the form's repr", repr(form)), ("the status", form.status.value)):
        _absent(chosen, text, where)
    _absent(chosen, record, "the run record")
    assert ctx.record.pending == []
    # JupyterLab: running the Step 8 and Verify cells again gives the result, no second write
    before = ctx.record.writes
    assert "Sign-in CSV of 'Administrator'" in repr(signin.deliver_sign_in(ctx, created))
    assert "✓ user 'Administrator'" in repr(admin_user.verify(ctx, created))
    assert ctx.record.writes == before


def test_live_create_with_an_empty_field_sets_a_generated_password(
    clean_iam: None, secrets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, created, form = _live_step7(secrets_dir, monkeypatch)
    form.submit()
    assert form.status.value.startswith("Done"), form.status.value
    [[_, password, _]] = _csv_rows(secrets_dir)
    policy = PasswordPolicy.aws_default()
    check_password(password, policy, user_name="Administrator", account_id=ACCOUNT)
    assert "✓ user 'Administrator'" in repr(admin_user.verify(ctx, created))


def test_live_changes_without_a_new_password_offer_no_password_field(
    clean_iam: None, secrets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_steps(new_ctx(), secrets_dir)
    ctx, _, form = _live_step7(secrets_dir, monkeypatch, tags={"team": "platform"})
    assert form.field not in form.children
    form.submit()
    assert writes(ctx) == {"TagUser": 1}
    assert _user_state(ctx.iam, "Administrator")["tags"] == {"team": "platform"}
