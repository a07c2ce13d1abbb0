"""S0: IAM users' credentials from the credential report (CIS 1.10-1.14).

Every check reads the report's rows only: console password, MFA, the two access keys with
their last rotation and last use. Times are judged against ``now`` (tests pass a fixed one).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from runbook_lib.root_usage.request import AuditRequest
from runbook_lib.root_usage.result import FAIL, NOT_APPLICABLE, PASS, CheckResult
from runbook_lib.root_usage.sources import AccountFacts, parse_time


def _listing(names: list[str]) -> str:
    return ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")


def _keys(row: dict[str, str]) -> Iterator[tuple[int, datetime | None, datetime | None]]:
    """Active keys of a row: (number, last rotated, last used)."""
    for n in (1, 2):
        if row.get(f"access_key_{n}_active") == "true":
            rotated = parse_time(row.get(f"access_key_{n}_last_rotated"))
            yield n, rotated, parse_time(row.get(f"access_key_{n}_last_used_date"))


def _result(
    control: str, title: str, bad: list[tuple[str, str]], good: str, advice: str, *, none: str = ""
) -> CheckResult:
    """FAIL naming ``bad`` (arn, words) pairs; else PASS (or NOT_APPLICABLE when ``none``)."""
    if bad:
        arns = ", ".join(dict.fromkeys(arn for arn, _ in bad))
        return CheckResult(control, title, FAIL, arns, _listing([w for _, w in bad]), advice)
    if none:
        return CheckResult(control, title, NOT_APPLICABLE, "", none)
    return CheckResult(control, title, PASS, "", good)


def console_mfa(facts: AccountFacts) -> CheckResult:
    """CIS 1.10: every IAM user with a console password has MFA."""
    console = [r for r in facts.users if r.get("password_enabled") == "true"]
    bad = [(r["arn"], r["user"]) for r in console if r.get("mfa_active") != "true"]
    return _result(
        "1.10",
        "MFA for every user with a console password",
        [(a, f"{u} has a console password and no MFA") for a, u in bad],
        f"{len(console)} console user(s), all with MFA",
        "Run 03_enable_virtual_mfa for each of them.",
        none="" if console else "no IAM user has a console password",
    )


def setup_keys(facts: AccountFacts) -> CheckResult:
    """CIS 1.11: no console user has an access key that was never used (created at set-up)."""
    bad = []
    for row in facts.users:
        if row.get("password_enabled") != "true":
            continue
        created = parse_time(row.get("user_creation_time"))
        for n, rotated, used in _keys(row):
            if used is not None:
                continue
            when = ""
            if created and rotated and rotated - created < timedelta(minutes=1):
                when = ", created with the user"
            bad.append((row["arn"], f"{row['user']} key {n} never used{when}"))
    return _result(
        "1.11",
        "No access keys created at set-up for console users",
        bad,
        "no console user has an unused access key",
        "Delete access keys that were never used; create one when a tool needs it (02).",
    )


def unused_credentials(facts: AccountFacts, request: AuditRequest, now: datetime) -> CheckResult:
    """CIS 1.12: console passwords and active keys unused for ``unused_days`` are disabled."""
    limit = timedelta(days=request.unused_days)
    bad = []
    for row in facts.users:
        user, arn = row["user"], row["arn"]
        if row.get("password_enabled") == "true":
            since = parse_time(row.get("password_last_used")) or parse_time(
                row.get("password_last_changed")
            )
            if since is not None and now - since >= limit:
                bad.append((arn, f"{user} password unused {(now - since).days} days"))
        for n, rotated, used in _keys(row):
            since = used or rotated
            if since is not None and now - since >= limit:
                bad.append((arn, f"{user} key {n} unused {(now - since).days} days"))
    return _result(
        "1.12",
        f"Credentials unused for {request.unused_days} days or more are disabled",
        bad,
        f"nothing unused for {request.unused_days} days",
        "Deactivate those keys and remove those console passwords (02 cleanup mode).",
    )


def one_active_key(facts: AccountFacts) -> CheckResult:
    """CIS 1.13: at most one active access key per IAM user."""
    bad = [
        (r["arn"], f"{r['user']} has 2 active keys") for r in facts.users if len(list(_keys(r))) > 1
    ]
    return _result(
        "1.13",
        "At most one active access key per user",
        bad,
        "no user has two active keys",
        "Deactivate and delete the key no longer in use (after rotation: 02).",
    )


def key_age(facts: AccountFacts, request: AuditRequest, now: datetime) -> CheckResult:
    """CIS 1.14: active access keys were rotated within ``max_key_age_days``."""
    limit = timedelta(days=request.max_key_age_days)
    bad = [
        (row["arn"], f"{row['user']} key {n} is {(now - rotated).days} days old")
        for row in facts.users
        for n, rotated, _ in _keys(row)
        if rotated is not None and now - rotated > limit
    ]
    return _result(
        "1.14",
        f"Access keys rotated within {request.max_key_age_days} days",
        bad,
        f"no active key older than {request.max_key_age_days} days",
        "Rotate them: 02 with mode rotate-if-older-than.",
    )
