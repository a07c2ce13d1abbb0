"""S5, the cleanup of unused credentials, on AWS's answers (botocore Stubber): last use that
moto never reports.

moto reports no ``LastUsedDate`` for a key nobody signed with and never a ``PasswordLastUsed``
(FACTS.md), so the decisions that hang on them are tested here on IAM's own response shapes:
a key used 10 days ago is kept, one used 60 days ago is deactivated, one never used and created
100 days ago is deactivated, the caller's own key is kept although unused, a password last used
50 days ago is removed and one used 5 days ago kept. Every write is named with its parameters.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.stub import Stubber

from runbook_lib import RunContext, preflight
from runbook_lib.root_usage.result import shown_status
from runbook_lib.unused_credentials import check_request, ensure_disabled, request, verify

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
ACCOUNT = "111122223333"
K_OWN, K10, K60, K_NEVER = (
    "AKIAOWNKEY0000000OWN",
    "AKIATENDAYS000000010",
    "AKIASIXTYDAYS0000060",
    "AKIANEVERUSED0000100",
)


def ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


def arn(user: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{user}"


def user(name: str, password_used: int | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "UserName": name,
        "UserId": "AIDA" + name.upper().ljust(17, "X"),
        "Arn": arn(name),
        "Path": "/",
        "CreateDate": ago(400),
    }
    if password_used is not None:
        found["PasswordLastUsed"] = ago(password_used)
    return found


def key(key_id: str, name: str, created: int, status: str = "Active") -> dict[str, Any]:
    return {"UserName": name, "AccessKeyId": key_id, "Status": status, "CreateDate": ago(created)}


def last_used(name: str, days: int | None) -> dict[str, Any]:
    if days is None:
        return {"UserName": name, "AccessKeyLastUsed": {"ServiceName": "N/A", "Region": "N/A"}}
    used = {"LastUsedDate": ago(days), "ServiceName": "s3", "Region": "us-east-1"}
    return {"UserName": name, "AccessKeyLastUsed": used}


def profile(name: str) -> dict[str, Any]:
    return {"LoginProfile": {"UserName": name, "CreateDate": ago(300)}}


def no_profile(stub: Stubber, name: str) -> None:
    stub.add_client_error(
        "get_login_profile",
        "NoSuchEntity",
        http_status_code=404,
        expected_params={"UserName": name},
    )


def stub_reads(stub: Stubber) -> None:
    """Steps 1–3 (scope account): every user, their keys and last use, their passwords."""
    stub.add_response(
        "list_users", {"Users": [user("Admin"), user("Alice", 50), user("Bob", 5)]}, {}
    )
    stub.add_response(
        "list_access_keys", {"AccessKeyMetadata": [key(K_OWN, "Admin", 200)]}, {"UserName": "Admin"}
    )
    stub.add_response("get_access_key_last_used", last_used("Admin", None), {"AccessKeyId": K_OWN})
    no_profile(stub, "Admin")
    alice_keys = [key(K10, "Alice", 120), key(K60, "Alice", 150)]
    stub.add_response("list_access_keys", {"AccessKeyMetadata": alice_keys}, {"UserName": "Alice"})
    stub.add_response("get_access_key_last_used", last_used("Alice", 10), {"AccessKeyId": K10})
    stub.add_response("get_access_key_last_used", last_used("Alice", 60), {"AccessKeyId": K60})
    stub.add_response("get_login_profile", profile("Alice"), {"UserName": "Alice"})
    stub.add_response(
        "list_access_keys", {"AccessKeyMetadata": [key(K_NEVER, "Bob", 100)]}, {"UserName": "Bob"}
    )
    stub.add_response("get_access_key_last_used", last_used("Bob", None), {"AccessKeyId": K_NEVER})
    stub.add_response("get_login_profile", profile("Bob"), {"UserName": "Bob"})


def stub_writes(stub: Stubber) -> None:
    """Step 7: each unused credential's last use read again, then its one write."""
    stub.add_response("get_access_key_last_used", last_used("Alice", 60), {"AccessKeyId": K60})
    stub.add_response(
        "update_access_key",
        {},
        {"UserName": "Alice", "AccessKeyId": K60, "Status": "Inactive"},
    )
    stub.add_response("get_user", {"User": user("Alice", 50)}, {"UserName": "Alice"})
    stub.add_response("delete_login_profile", {}, {"UserName": "Alice"})
    stub.add_response("get_access_key_last_used", last_used("Bob", None), {"AccessKeyId": K_NEVER})
    stub.add_response(
        "update_access_key", {}, {"UserName": "Bob", "AccessKeyId": K_NEVER, "Status": "Inactive"}
    )


def stub_verify(stub: Stubber) -> None:
    alice_after = [key(K10, "Alice", 120), key(K60, "Alice", 150, "Inactive")]
    stub.add_response("list_access_keys", {"AccessKeyMetadata": alice_after}, {"UserName": "Alice"})
    no_profile(stub, "Alice")
    bob_after = [key(K_NEVER, "Bob", 100, "Inactive")]
    stub.add_response("list_access_keys", {"AccessKeyMetadata": bob_after}, {"UserName": "Bob"})
    stub.add_response("get_login_profile", profile("Bob"), {"UserName": "Bob"})


@pytest.fixture
def aws_ctx(monkeypatch: pytest.MonkeyPatch) -> RunContext:
    """A run whose IAM answers come from the stub; the caller is Admin, signing with K_OWN."""
    ctx = preflight("test", target="sandbox")
    ctx.account_id, ctx.caller_arn = ACCOUNT, arn("Admin")
    monkeypatch.setattr(request, "key_in_use", lambda _ctx: K_OWN)
    return ctx


def test_cleanup_on_aws_keeps_recent_and_own_keys_and_disables_the_unused(
    aws_ctx: RunContext,
) -> None:
    ctx = aws_ctx
    stub = Stubber(ctx.iam)
    stub_reads(stub)
    stub_writes(stub)
    stub_verify(stub)
    with stub:
        plan = check_request(ctx, "Admin", cleanup_scope="account", now=NOW)
        done = ensure_disabled(ctx, plan)
        checked = verify(ctx, plan)
        stub.assert_no_pending_responses()
    shown = repr(plan)
    assert (
        f"Admin access key {K_OWN}: keep: never used, created 200 days ago; the caller's own"
        in shown
    )
    assert f"Alice access key {K10}: keep: in use: last used 10 days ago" in shown
    assert f"Alice access key {K60}: deactivate: last used 60 days ago" in shown
    assert f"Bob access key {K_NEVER}: deactivate: never used, created 100 days ago" in shown
    assert "Alice console password: remove: last used 50 days ago" in shown
    assert "Bob console password: keep: in use: last used 5 days ago" in shown
    assert f"Deactivated Alice access key {K60}" in repr(done)
    assert "3 unused credential(s) checked" in repr(checked)
    assert [c["action"] for c in ctx.record.changes] == [
        "deactivate-access-key",
        "delete-login-profile",
        "deactivate-access-key",
    ]
    status = {f["title"].split(": ", 1)[1]: shown_status(f) for f in ctx.record.findings}
    assert status == {
        f"Admin access key {K_OWN}": "ACCEPTED",
        f"Alice access key {K10}": "PASS",
        f"Alice access key {K60}": "PASS",
        "Alice console password": "PASS",
        f"Bob access key {K_NEVER}": "PASS",
        "Bob console password": "PASS",
    }
    # (the Stubber answers before the run record's counting hook: the stubbed writes are exact)


def test_cleanup_plan_on_aws_makes_no_write_and_records_each_credential(
    aws_ctx: RunContext,
) -> None:
    ctx = aws_ctx
    ctx.plan = ctx.record.plan = True
    stub = Stubber(ctx.iam)
    stub_reads(stub)
    with stub:
        plan = check_request(ctx, "Admin", cleanup_scope="account", now=NOW)
        said = ensure_disabled(ctx, plan)
        verify(ctx, plan)
        stub.assert_no_pending_responses()
    assert not ctx.record.changes  # no write is stubbed: any write would have failed the run
    assert "would deactivate: last used 60 days ago" in repr(said)
    fails = sorted(f["title"] for f in ctx.record.findings if shown_status(f) == "FAIL")
    assert len(fails) == 3 and all(f["control"] == "1.12" for f in ctx.record.findings)


def test_a_key_used_after_the_plan_is_kept(aws_ctx: RunContext) -> None:
    ctx = aws_ctx
    stub = Stubber(ctx.iam)
    stub_reads(stub)
    stub.add_response("get_access_key_last_used", last_used("Alice", 0), {"AccessKeyId": K60})
    stub.add_response("get_user", {"User": user("Alice", 50)}, {"UserName": "Alice"})
    stub.add_response("delete_login_profile", {}, {"UserName": "Alice"})
    stub.add_response("get_access_key_last_used", last_used("Bob", None), {"AccessKeyId": K_NEVER})
    stub.add_response(
        "update_access_key", {}, {"UserName": "Bob", "AccessKeyId": K_NEVER, "Status": "Inactive"}
    )
    with stub:
        plan = check_request(ctx, "Admin", cleanup_scope="account", now=NOW)
        said = ensure_disabled(ctx, plan)
        stub.assert_no_pending_responses()
    assert f"Kept Alice access key {K60}: used since the plan" in repr(said)
    assert [c["action"] for c in ctx.record.changes] == [
        "delete-login-profile",
        "deactivate-access-key",
    ]
