"""S0's CIS checks over a seeded credential report (ages AWS knows and moto cannot make),
the thresholds as parameters, and what the host does with the findings: the terminal summary,
``findings.csv``, ``--compare``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from runbook_lib.core.errors import BadInput
from runbook_lib.interfaces.cli import main
from runbook_lib.password_policy.state import PasswordPolicy
from runbook_lib.root_usage import check_request
from runbook_lib.root_usage.credentials import (
    console_mfa,
    key_age,
    one_active_key,
    setup_keys,
    unused_credentials,
)
from runbook_lib.root_usage.policies import accept_setup_keys
from runbook_lib.root_usage.request import AuditRequest
from runbook_lib.root_usage.result import compare
from runbook_lib.root_usage.state import AccountFacts
from runbook_lib.run import precheck
from runbook_lib.run.artifacts import write_record
from runbook_lib.run.summary import compare_lines, summary_lines

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
ACCOUNT = "111122223333"
NA = "N/A"


def stamp(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def row(
    user: str,
    *,
    created: float = 400,
    password: bool = False,
    password_used: str = "no_information",
    password_changed: str = NA,
    mfa: bool = False,
    keys: tuple[tuple[float, str], ...] = (),
) -> dict[str, str]:
    """A credential report row; ``keys``: (rotated days ago, last used stamp or N/A)."""
    data = {
        "user": user,
        "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}",
        "user_creation_time": stamp(created),
        "password_enabled": str(password).lower(),
        "password_last_used": password_used,
        "password_last_changed": password_changed,
        "mfa_active": str(mfa).lower(),
    }
    for n in (1, 2):
        key = keys[n - 1] if len(keys) >= n else None
        data[f"access_key_{n}_active"] = "true" if key else "false"
        data[f"access_key_{n}_last_rotated"] = stamp(key[0]) if key else NA
        data[f"access_key_{n}_last_used_date"] = key[1] if key else NA
    return data


def facts(*rows: dict[str, str], admins: tuple[str, ...] = ()) -> AccountFacts:
    users = [
        {
            "UserName": r["user"],
            "Arn": r["arn"],
            "GroupList": ["Administrators"] if r["user"] in admins else [],
        }
        for r in rows
    ]
    details: dict[str, list[dict[str, Any]]] = {
        "UserDetailList": users,
        "GroupDetailList": [],
        "RoleDetailList": [],
        "Policies": [],
    }
    return AccountFacts(list(rows), details, PasswordPolicy.aws_default(), {}, False, True)


# --- 1.10-1.14 over seeded rows ----------------------------------------------------------------


def test_old_key_fails_1_14_and_a_fresh_one_passes() -> None:
    old = facts(row("ci", keys=((120, stamp(1)),)))
    fresh = facts(row("ci", keys=((30, stamp(1)),)))

    assert key_age(old, AuditRequest(), NOW).status == "FAIL"
    assert key_age(old, AuditRequest(), NOW).evidence == "ci key 1 is 120 days old"
    assert key_age(fresh, AuditRequest(), NOW).status == "PASS"


def test_max_key_age_days_is_the_threshold() -> None:
    account = facts(row("ci", keys=((120, stamp(1)),)))

    assert key_age(account, AuditRequest(max_key_age_days=180), NOW).status == "PASS"
    assert key_age(account, AuditRequest(max_key_age_days=100), NOW).title.endswith("100 days")


def test_unused_key_and_password_fail_1_12_used_ones_pass() -> None:
    unused = facts(
        row("bob", password=True, password_used=stamp(60), keys=((200, stamp(50)),)),
        row("eve", keys=((46, NA),)),  # never used, created 46 days ago
    )
    used = facts(row("bob", password=True, password_used=stamp(2), keys=((200, stamp(3)),)))

    result = unused_credentials(unused, AuditRequest(), NOW)
    assert result.status == "FAIL"
    assert result.evidence == (
        "bob password unused 60 days, bob key 1 unused 50 days, eve key 1 unused 46 days"
    )
    assert unused_credentials(used, AuditRequest(), NOW).status == "PASS"
    assert unused_credentials(unused, AuditRequest(unused_days=90), NOW).status == "PASS"


def test_two_active_keys_fail_1_13() -> None:
    two = facts(row("ci", keys=((5, stamp(1)), (2, stamp(1)))))

    assert one_active_key(two).status == "FAIL"
    assert one_active_key(facts(row("ci", keys=((5, stamp(1)),)))).status == "PASS"


def test_console_user_without_mfa_fails_1_10_and_no_console_user_is_not_applicable() -> None:
    assert console_mfa(facts(row("bob", password=True))).status == "FAIL"
    assert console_mfa(facts(row("bob", password=True, mfa=True))).status == "PASS"
    assert console_mfa(facts(row("svc", keys=((1, NA),)))).status == "NOT_APPLICABLE"


def test_key_made_with_a_console_user_and_never_used_fails_1_11() -> None:
    setup = facts(row("bob", created=10, password=True, keys=((10, NA),)))
    used = facts(row("bob", created=10, password=True, keys=((10, stamp(1)),)))

    result = setup_keys(setup)
    assert (result.status, result.evidence) == (
        "FAIL",
        "bob key 1 never used, created with the user",
    )
    assert setup_keys(used).status == "PASS"
    assert setup_keys(facts(row("svc", keys=((10, NA),)))).status == "PASS"  # no console


def test_the_administrators_unused_key_is_accepted_another_users_is_not() -> None:
    admin = facts(row("Administrator", password=True, keys=((1, NA),)), admins=("Administrator",))
    other = facts(row("bob", password=True, keys=((1, NA),)))

    accepted = accept_setup_keys(setup_keys(admin), admin, AuditRequest())
    assert accepted.shown_status == "ACCEPTED"
    assert "S2" in accepted.accepted
    assert accept_setup_keys(setup_keys(other), other, AuditRequest()).shown_status == "FAIL"


# --- thresholds as parameters ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "value", "limits"),
    [
        ("unused_days", 0, "1-3650 (default 45)"),
        ("max_key_age_days", "90", "1-3650 (default 90)"),
        ("min_password_length", 5, "6-128 (default 14)"),
        ("password_reuse", 25, "1-24 (default 24)"),
        ("password_reuse", True, "1-24 (default 24)"),
    ],
)
def test_bad_threshold_is_one_line_naming_the_fix(param: str, value: object, limits: str) -> None:
    with pytest.raises(BadInput) as err:
        check_request(**{param: value})  # type: ignore[arg-type]
    assert str(err.value) == (
        f"{param} {value!r} is not a threshold the audit can use: give a whole number {limits}."
    )
    with pytest.raises(BadInput, match=f"^{param} "):
        precheck.check_parameters({"target": "sandbox", param: value})


def test_bad_threshold_is_refused_by_the_cli_before_a_kernel(tmp_path: Path) -> None:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(["run", "00", "-p", "password_reuse", "30", "--output-dir", str(tmp_path)])

    assert code == 2
    assert err.getvalue().startswith("runbook: password_reuse 30 is not a threshold")
    assert "Nothing was changed." in err.getvalue()
    assert not list(tmp_path.iterdir())


# --- summary, findings.csv, compare ------------------------------------------------------------

FINDINGS = [
    {"control": "1.8", "title": "Length", "status": "FAIL", "resource": "arn:a", "evidence": "none",
     "advice": "Run 04_set_password_policy.", "accepted": ""},
    {"control": "1.5", "title": "Root MFA", "status": "NOT_KNOWN", "resource": "arn:a",
     "evidence": "no root row", "advice": "Check it.", "accepted": ""},
    {"control": "S0-admin-group", "title": "Admin group", "status": "FAIL", "resource": "arn:g",
     "evidence": "on Administrators", "advice": "Keep it small.", "accepted": "on purpose"},
    {"control": "1.13", "title": "One key", "status": "PASS", "resource": "arn:a",
     "evidence": "fine", "advice": "", "accepted": ""},
]  # fmt: skip


def test_summary_counts_pass_fail_accepted_not_known_and_names_each() -> None:
    lines = [line.strip() for line in summary_lines({"findings": FINDINGS})]

    assert "findings: 1 PASS, 1 FAIL, 1 ACCEPTED, 1 NOT_KNOWN" in lines
    assert "[FAIL] 1.8 Length: none → Run 04_set_password_policy." in lines
    assert (
        "[ACCEPTED] S0-admin-group Admin group: on Administrators (accepted: on purpose)" in lines
    )
    assert "[NOT_KNOWN] 1.5 Root MFA: no root row" in lines
    assert not any("1.13" in line for line in lines)


def test_findings_csv_sits_next_to_run_json(tmp_path: Path) -> None:
    write_record(tmp_path, {"findings": FINDINGS})

    with (tmp_path / "findings.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["control"] for r in rows] == ["1.8", "1.5", "S0-admin-group", "1.13"]
    assert rows[2]["accepted"] == "on purpose"
    assert json.loads((tmp_path / "run.json").read_text("utf-8"))["findings"] == FINDINGS
    assert (tmp_path / "findings.csv").stat().st_mode & 0o777 == 0o600  # private until scanned


def test_no_findings_no_csv(tmp_path: Path) -> None:
    write_record(tmp_path, {"findings": []})

    assert not (tmp_path / "findings.csv").exists()


def test_compare_shows_before_and_after_per_control() -> None:
    after = [dict(f, status="PASS") if f["control"] == "1.8" else f for f in FINDINGS]
    after = [f for f in after if f["control"] != "1.13"]

    assert compare(FINDINGS, after) == [
        "1.8 FAIL -> PASS",
        "1.5 NOT_KNOWN (unchanged)",
        "S0-admin-group ACCEPTED (unchanged)",
        "1.13 PASS -> (not checked)",
    ]
    lines = compare_lines({"findings": FINDINGS}, {"findings": after}, "runs/x")
    assert lines[:2] == ["  compared with runs/x:", "    1.8 FAIL -> PASS"]


def test_compare_with_a_folder_that_is_no_s0_run_is_refused_before_a_kernel(
    tmp_path: Path,
) -> None:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(["run", "00", "--compare", str(tmp_path), "--output-dir", str(tmp_path / "o")])

    assert code == 2
    assert f"--compare {tmp_path}: no readable run.json there" in err.getvalue()
    assert not (tmp_path / "o").exists()


def test_compare_needs_s0_in_the_run(tmp_path: Path) -> None:
    book = Path("notebooks/04_set_password_policy.ipynb")
    with pytest.raises(BadInput, match="--compare compares 00_check_root_usage runs"):
        precheck.load_compare(tmp_path, [book])
    (tmp_path / "run.json").write_text('{"findings": []}', "utf-8")
    with pytest.raises(BadInput, match="that run recorded no findings"):
        precheck.load_compare(tmp_path, [Path("00_check_root_usage.ipynb")])
