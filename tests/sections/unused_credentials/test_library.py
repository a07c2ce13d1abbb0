"""S5, the cleanup of unused credentials, on the sandbox: ``unused_credentials``'s verbs.

The verbs run in this process against moto, in notebook 05's order. Ages come from the run's
clock (``now=``, days after a fixed start), and keys are made old by back-dating them in moto
itself (``age_key``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sections.access_key.test_modes import DAY0, age_user, fresh_ctx, keys_of, old_key

from runbook_lib import BadInput, RunContext
from runbook_lib.unused_credentials import check_request, ensure_disabled, request, verify
from runbook_lib.unused_credentials.state import CleanupPlan


def run_all(ctx: RunContext, user: str, **params: Any) -> tuple[CleanupPlan, dict[str, str]]:
    """The notebook's verbs in order; the plan and what each step said."""
    plan = check_request(ctx, user, **params)
    said = {
        "plan": repr(plan),
        "retire": repr(ensure_disabled(ctx, plan)),
        "verify": repr(verify(ctx, plan)),
    }
    return plan, said


def test_deactivates_unused_keys_and_removes_unused_passwords(
    iam: Any, user: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    unused = old_key(iam, user)
    recent = old_key(iam, user, DAY0 + timedelta(days=40))
    iam.create_login_profile(UserName=user, Password="Unused-Passw0rd!x")
    age_user(user, DAY0)
    now = DAY0 + timedelta(days=50)
    ctx = fresh_ctx(plan=True)
    plan, said = run_all(ctx, user, now=now)
    assert isinstance(plan, CleanupPlan) and ctx.record.writes == 0
    assert (
        f"{user} access key {unused}: would deactivate: never used, created 50 days" in said["plan"]
    )
    assert f"{user} access key {recent}: keep: in use: never used, created 10 days" in said["plan"]
    assert f"{user} console password: would remove" in said["plan"]
    assert iam.get_login_profile(UserName=user)
    ctx = fresh_ctx()
    _, said = run_all(ctx, user, now=now)
    assert keys_of(iam, user) == {unused: "Inactive", recent: "Active"}
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_login_profile(UserName=user)
    assert [c["action"] for c in ctx.record.changes] == [
        "deactivate-access-key",
        "delete-login-profile",
    ]
    findings = {f["title"]: f for f in ctx.record.findings}
    assert findings[f"unused credential: {user} access key {unused}"]["status"] == "PASS"
    assert (
        "deactivated by this run"
        in findings[f"unused credential: {user} access key {unused}"]["evidence"]
    )
    assert "none is usable any more" in said["verify"]
    again = fresh_ctx()
    _, said = run_all(again, user, now=now)
    assert again.record.writes == 0, again.record.calls
    assert "already Inactive" in said["plan"]


def test_never_touches_the_key_this_run_signs_with(
    iam: Any, user: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = old_key(iam, user)
    monkeypatch.setattr(request, "key_in_use", lambda _ctx: own)
    ctx = fresh_ctx()
    _, said = run_all(ctx, user, now=DAY0 + timedelta(days=200))
    assert ctx.record.writes == 0
    assert "the caller's own key" in said["plan"]
    (finding,) = ctx.record.findings
    assert finding["status"] == "FAIL" and "caller's own" in finding["accepted"]
    assert keys_of(iam, user) == {own: "Active"}


def test_scope_account_covers_every_user(
    iam: Any, user: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = f"{user}-b"
    iam.create_user(UserName=other)
    mine, theirs = old_key(iam, user), old_key(iam, other)
    ctx = fresh_ctx(plan=True)
    plan = check_request(ctx, "ignored", cleanup_scope="account", now=DAY0 + timedelta(days=46))
    assert isinstance(plan, CleanupPlan)
    acted = {c.key_id for c in plan.to_change}
    assert {mine, theirs} <= acted
    assert "every IAM user" in repr(plan) and ctx.record.writes == 0


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"unused_days": 0}, "unused_days 0 is not a number of days"),
        ({"unused_days": 4000}, "unused_days 4000 is not a number"),
        ({"cleanup_scope": "org"}, "cleanup_scope 'org' is not one of"),
    ],
)
def test_bad_parameters_are_refused_with_one_line(
    iam: Any, user: str, params: dict[str, Any], fragment: str
) -> None:
    ctx = fresh_ctx()
    with pytest.raises(BadInput) as err:
        check_request(ctx, user, **params)
    assert fragment in str(err.value) and "\n" not in str(err.value)
    assert ctx.record.writes == 0


def test_a_caller_on_temporary_credentials_keeps_every_key_of_its_own_user(
    iam: Any, user: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = old_key(iam, user), old_key(iam, user)
    monkeypatch.setattr(request, "key_in_use", lambda _ctx: "ASIAEXAMPLESESSION01")
    ctx = fresh_ctx()
    ctx.caller_arn = f"arn:aws:iam::{ctx.account_id}:user/{user}"
    _, said = run_all(ctx, user, now=DAY0 + timedelta(days=100))
    assert ctx.record.writes == 0
    assert said["plan"].count("the key behind them cannot be told") == 2
    assert keys_of(iam, user) == {first: "Active", second: "Active"}
