"""Fault injection: the N-th write fails before it reaches AWS; throttling is absorbed."""

from __future__ import annotations

import pytest
from botocore.session import Session as BotocoreSession
from support.aws import ACCOUNT

from runbook_lib import preflight
from runbook_lib.testing.faults import InjectedFault, install


def test_nth_write_fails_before_reaching_aws(
    user_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBOOK_FAULT_AT_WRITE", "2")
    ctx = preflight("test")
    ctx.iam.list_users()  # reads never count
    ctx.iam.create_group(GroupName=f"{user_name}-first")
    with pytest.raises(InjectedFault, match="write 2"):
        ctx.iam.create_group(GroupName=f"{user_name}-second")
    ctx.iam.create_group(GroupName=f"{user_name}-third")  # only the N-th write fails
    groups = ctx.iam.list_groups(PathPrefix="/")["Groups"]
    names = sorted(g["GroupName"] for g in groups if g["GroupName"].startswith(user_name))
    assert names == [f"{user_name}-first", f"{user_name}-third"]


def test_throttling_is_absorbed_by_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNBOOK_FAULT_THROTTLE", "2")
    ctx = preflight("test")
    sent: list[int] = []
    ctx.iam.meta.events.register("after-call.iam", lambda **kw: sent.append(1))
    retried: list[int] = []

    def count_retry(attempts: int, **_: object) -> None:
        if attempts > 1:
            retried.append(attempts)

    ctx.iam.meta.events.register("needs-retry.iam", lambda **kw: count_retry(kw["attempts"]))
    for _ in range(4):
        ctx.iam.list_users()
    assert len(sent) == 4, "every call succeeded"
    assert retried, "some calls were throttled and retried"
    assert ctx.record.calls["iam:ListUsers"] == 4, "retries are not counted as calls"


def test_faults_are_never_installed_for_a_profile_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNBOOK_FAULT_AT_WRITE", "1")
    monkeypatch.setenv("RUNBOOK_FAULT_THROTTLE", "2")
    monkeypatch.setenv("RUNBOOK_FAULT_ROOT_CALLER", ACCOUNT)
    events = BotocoreSession().get_component("event_emitter")
    sts_before = len(
        list(events._emitter._handlers.prefix_search("before-call.sts.GetCallerIdentity"))
    )
    before = len(list(events._emitter._handlers.prefix_search("before-call.iam.CreateUser")))
    install(events, "profile")
    after = len(list(events._emitter._handlers.prefix_search("before-call.iam.CreateUser")))
    assert after == before
    sts_after = len(
        list(events._emitter._handlers.prefix_search("before-call.sts.GetCallerIdentity"))
    )
    assert sts_after == sts_before
