"""S2's age-driven mode on the sandbox: ``rotate-if-older-than`` (the cleanup of unused
credentials is runbook 05's: ``test_unused_credentials``).

The verbs run in this process against moto, in the notebook's order (``access_key``'s public
verbs, which decide by mode). Ages come from the run's clock (``now=``, days after a fixed
start), and keys are made old by back-dating them in moto itself (``age_key``), so a daily
scheduled run can be replayed day by day.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from support.aws import ACCOUNT, moto_iam

from runbook_lib import BadInput, RunContext, preflight
from runbook_lib.access_key import (
    check_request,
    deliver_key,
    ensure_access_key,
    retire_old_key,
    show_key,
    verify,
)
from runbook_lib.access_key.rotation import short_id

#: the day the scheduled runs start (any fixed time works: ages are relative to it)
DAY0 = datetime(2026, 1, 5, 6, 0, tzinfo=timezone.utc)


def no_sleep(_: float) -> None:
    """Tests never wait for IAM's eventual consistency."""


def fresh_ctx(plan: bool = False) -> RunContext:
    return preflight("test", target="sandbox", plan=plan)


def run_all(ctx: RunContext, user: str, **params: Any) -> tuple[Any, dict[str, str]]:
    """The notebook's verbs in order; the plan and what each step said."""
    plan = check_request(ctx, user, **params)
    key = ensure_access_key(ctx, plan)
    said = {
        "plan": repr(plan),
        "key": repr(key),
        "show": repr(show_key(ctx, plan, key)),
        "deliver": repr(deliver_key(ctx, plan, key)),
        "retire": repr(retire_old_key(ctx, plan, key, sleep=no_sleep)),
        "verify": repr(verify(ctx, plan, key, sleep=no_sleep)),
    }
    return plan, said


def keys_of(iam: Any, user: str) -> dict[str, str]:
    listed = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    return {k["AccessKeyId"]: k["Status"] for k in listed}


def age_key(user: str, key_id: str, created: datetime) -> None:
    """Back-date a key in moto (what AWS would show for a key made on ``created``)."""
    for key in moto_iam().users[user].access_keys:
        if key.access_key_id == key_id:
            key.create_date = created.astimezone(timezone.utc).replace(tzinfo=None)
            return
    raise AssertionError(f"{user} has no key {key_id}")


def age_user(user: str, created: datetime) -> None:
    """Back-date a user (moto's login profile CreateDate is the user's)."""
    moto_iam().users[user].create_date = created.astimezone(timezone.utc).replace(tzinfo=None)


def old_key(iam: Any, user: str, created: datetime = DAY0) -> str:
    key_id = str(iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"])
    age_key(user, key_id, created)
    return key_id


# ---- rotate-if-older-than ------------------------------------------------------------------
def test_a_key_not_yet_due_is_left_alone_with_zero_writes(
    iam: Any, user: str, secrets_dir: Path
) -> None:
    key_id = old_key(iam, user)
    ctx = fresh_ctx()
    now = DAY0 + timedelta(days=30, hours=5)
    _, said = run_all(ctx, user, mode="rotate-if-older-than", now=now)
    assert ctx.record.writes == 0, ctx.record.calls
    assert f"key {short_id(key_id)} is 30 days old, due in 60 days" in said["key"]
    assert key_id not in said["key"] and key_id[-4:] in said["key"], "last 4 only"
    assert "Not due" in said["retire"] and "not due" in said["verify"]
    assert keys_of(iam, user) == {key_id: "Active"}
    assert not list(secrets_dir.glob("*")) if secrets_dir.exists() else True


def test_a_daily_scheduled_run_rotates_exactly_on_the_day_the_key_is_due(
    iam: Any, user: str, secrets_dir: Path
) -> None:
    first = old_key(iam, user)
    writes: list[int] = []
    for day in (88, 89, 90, 91):
        now = DAY0 + timedelta(days=day, minutes=1)
        ctx = fresh_ctx()
        run_all(ctx, user, mode="rotate-if-older-than", max_age_days=90, now=now)
        writes.append(ctx.record.writes)
        for key_id in keys_of(iam, user):  # the new key is made "today" on the run's clock
            if key_id != first:
                age_key(user, key_id, min(now, DAY0 + timedelta(days=90, minutes=1)))
    assert writes[:2] == [0, 0] and writes[2] > 0 and writes[3] == 0, writes
    keys = keys_of(iam, user)
    assert keys[first] == "Inactive" and sorted(keys.values()) == ["Active", "Inactive"]
    assert len(list(secrets_dir.glob(f"{ACCOUNT}-{user}_accessKeys_*.csv"))) == 1


def test_a_due_rotation_says_why_and_is_the_safe_rotate(
    iam: Any, user: str, secrets_dir: Path
) -> None:
    old = old_key(iam, user)
    ctx = fresh_ctx()
    plan, said = run_all(
        ctx, user, mode="rotate-if-older-than", max_age_days=30, now=DAY0 + timedelta(days=45)
    )
    assert f"key {short_id(old)} is 45 days old, max_age_days 30: rotation is due" in said["plan"]
    assert said["retire"].startswith("Proven: STS GetCallerIdentity")
    assert "No old key is Active" in said["verify"]
    assert keys_of(iam, user)[old] == "Inactive"
    actions = [c["action"] for c in ctx.record.changes]
    assert actions[-1] == "deactivate-access-key" and "create-access-key" in actions
    again = fresh_ctx()  # a re-run on the real clock: the new key is young
    run_all(again, user, mode="rotate-if-older-than", max_age_days=30)
    assert again.record.writes == 0


def test_rotate_if_older_than_with_delete_old_deletes_the_old_key(
    iam: Any, user: str, secrets_dir: Path
) -> None:
    old = old_key(iam, user)
    ctx = fresh_ctx()
    run_all(ctx, user, mode="rotate-if-older-than", delete_old=True, now=DAY0 + timedelta(days=91))
    assert old not in keys_of(iam, user) and list(keys_of(iam, user).values()) == ["Active"]


def test_rotate_if_older_than_plan_mode_makes_no_write(
    iam: Any, user: str, secrets_dir: Path
) -> None:
    old = old_key(iam, user)
    ctx = fresh_ctx(plan=True)
    _, said = run_all(ctx, user, mode="rotate-if-older-than", now=DAY0 + timedelta(days=100))
    assert ctx.record.writes == 0
    assert "rotation is due" in said["plan"] and "Plan mode: would create" in said["key"]
    assert keys_of(iam, user) == {old: "Active"}


def test_rotate_if_older_than_refuses_a_user_without_an_active_key(iam: Any, user: str) -> None:
    with pytest.raises(BadInput, match="has no active access key: mode rotate-if-older-than"):
        check_request(fresh_ctx(), user, mode="rotate-if-older-than")


def test_two_keys_with_one_due_name_both_and_change_nothing(iam: Any, user: str) -> None:
    old_key(iam, user)
    old_key(iam, user, DAY0 + timedelta(days=60))
    with pytest.raises(BadInput, match="already has 2 access keys.*rotate-if-older-than"):
        check_request(fresh_ctx(), user, mode="rotate-if-older-than", now=DAY0 + timedelta(days=95))


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"mode": "rotate-if-older-than", "max_age_days": 0}, "max_age_days 0 is not a number"),
        ({"mode": "rotate-if-older-than", "max_age_days": -5}, "max_age_days -5 is not a number"),
        ({"mode": "rotate-if-older-than", "max_age_days": "90"}, "max_age_days '90' is not a"),
        ({"mode": "rotate-if-older-than", "max_age_days": True}, "max_age_days True is not a"),
        ({"mode": "cleanup"}, "mode cleanup is a runbook of its own now: run 05_clean_up"),
        ({"mode": "create", "delete_old": True}, "delete_old applies to modes rotate and"),
        ({"mode": "rotate_if_older_than"}, "is not one of the choices"),
    ],
)
def test_bad_parameters_of_the_modes_are_refused_with_one_line(
    iam: Any, user: str, params: dict[str, Any], fragment: str
) -> None:
    ctx = fresh_ctx()
    with pytest.raises(BadInput) as err:
        check_request(ctx, user, **params)
    assert fragment in str(err.value) and "\n" not in str(err.value)
    assert ctx.record.writes == 0
