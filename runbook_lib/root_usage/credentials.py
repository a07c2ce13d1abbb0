"""S0: IAM users' credentials from the credential report (CIS v4.0.1 1.10-1.14).

Every check reads the report's rows only: console password, MFA, the two access keys with
their last rotation and last use. Times are judged against ``now`` (tests pass a fixed one).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from runbook_lib.core.i18n import _
from runbook_lib.root_usage.request import AuditRequest
from runbook_lib.root_usage.result import FAIL, NOT_APPLICABLE, PASS, CheckResult
from runbook_lib.root_usage.state import AccountFacts, parse_time


def _listing(names: list[str]) -> str:
    return ", ".join(names[:10]) + (
        _(" and {count} more").format(count=len(names) - 10) if len(names) > 10 else ""
    )


def _keys(row: dict[str, str]) -> Iterator[tuple[int, datetime | None, datetime | None]]:
    """Active keys of a row: (number, last rotated, last used)."""
    for n in (1, 2):
        if row.get(f"access_key_{n}_active") == "true":
            rotated = parse_time(row.get(f"access_key_{n}_last_rotated"))
            yield n, rotated, parse_time(row.get(f"access_key_{n}_last_used_date"))


def _result(
    check: str, title: str, bad: list[tuple[str, str]], good: str, advice: str, *, none: str = ""
) -> CheckResult:
    """FAIL naming ``bad`` (arn, words) pairs; else PASS (or NOT_APPLICABLE when ``none``)."""
    if bad:
        arns = ", ".join(dict.fromkeys(arn for arn, _words in bad))
        return CheckResult(check, title, FAIL, arns, _listing([w for _arn, w in bad]), advice)
    if none:
        return CheckResult(check, title, NOT_APPLICABLE, "", none)
    return CheckResult(check, title, PASS, "", good)


def console_mfa(facts: AccountFacts) -> CheckResult:
    """v4.0.1 1.10: every IAM user with a console password has MFA."""
    console = [r for r in facts.users if r.get("password_enabled") == "true"]
    bad = [(r["arn"], r["user"]) for r in console if r.get("mfa_active") != "true"]
    return _result(
        "user_mfa",
        _("MFA for every user with a console password"),
        [(a, _("{user} has a console password and no MFA").format(user=u)) for a, u in bad],
        _("{count} console user(s), all with MFA").format(count=len(console)),
        _("Run 03_enable_virtual_mfa for each of them."),
        none="" if console else _("no IAM user has a console password"),
    )


def setup_keys(facts: AccountFacts) -> CheckResult:
    """v4.0.1 1.11: no console user has an access key that was never used (created at set-up)."""
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
                when = _(", created with the user")
            bad.append(
                (row["arn"], _("{user} key {n} never used").format(user=row["user"], n=n) + when)
            )
    return _result(
        "no_keys_at_setup",
        _("No access keys created at set-up for console users"),
        bad,
        _("no console user has an unused access key"),
        _("Delete access keys that were never used; create one when a tool needs it (02)."),
    )


def unused_credentials(facts: AccountFacts, request: AuditRequest, now: datetime) -> CheckResult:
    """v4.0.1 1.12: console passwords and active keys unused for ``unused_days`` are disabled."""
    limit = timedelta(days=request.unused_days)
    bad = []
    for row in facts.users:
        user, arn = row["user"], row["arn"]
        if row.get("password_enabled") == "true":
            since = parse_time(row.get("password_last_used")) or parse_time(
                row.get("password_last_changed")
            )
            if since is not None and now - since >= limit:
                bad.append(
                    (
                        arn,
                        _("{user} password unused {days} days").format(
                            user=user, days=(now - since).days
                        ),
                    )
                )
        for n, rotated, used in _keys(row):
            since = used or rotated
            if since is not None and now - since >= limit:
                bad.append(
                    (
                        arn,
                        _("{user} key {n} unused {days} days").format(
                            user=user, n=n, days=(now - since).days
                        ),
                    )
                )
    return _result(
        "unused_credentials",
        _("Credentials unused for {days} days or more are disabled").format(
            days=request.unused_days
        ),
        bad,
        _("nothing unused for {days} days").format(days=request.unused_days),
        _("Deactivate those keys, remove those passwords: run 05_clean_up_unused_credentials."),
    )


def one_active_key(facts: AccountFacts) -> CheckResult:
    """v4.0.1 1.13: at most one active access key per IAM user."""
    bad = [
        (r["arn"], _("{user} has 2 active keys").format(user=r["user"]))
        for r in facts.users
        if len(list(_keys(r))) > 1
    ]
    return _result(
        "one_active_key",
        _("At most one active access key per user"),
        bad,
        _("no user has two active keys"),
        _("Deactivate and delete the key no longer in use (after rotation: 02)."),
    )


def key_age(facts: AccountFacts, request: AuditRequest, now: datetime) -> CheckResult:
    """v4.0.1 1.14: active access keys were rotated within ``max_key_age_days``."""
    limit = timedelta(days=request.max_key_age_days)
    bad = [
        (
            row["arn"],
            _("{user} key {n} is {days} days old").format(
                user=row["user"], n=n, days=(now - rotated).days
            ),
        )
        for row in facts.users
        for n, rotated, _used in _keys(row)
        if rotated is not None and now - rotated > limit
    ]
    return _result(
        "key_rotation",
        _("Access keys rotated within {days} days").format(days=request.max_key_age_days),
        bad,
        _("no active key older than {days} days").format(days=request.max_key_age_days),
        _("Rotate them: 02 with mode rotate-if-older-than."),
    )
