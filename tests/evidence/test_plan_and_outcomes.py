"""What a terminal and ``run.json`` tell without opening the notebook: ``--plan``'s planned
changes (01-06) and the read-only decisions a schedule cares about (S2's key age, S5's evidence
per credential).

Each runbook with a plan: plan mode lists what would change (``planned``: step, action, target)
and changes nothing; the real run then makes the changes; a second plan lists nothing. The
in-process runs (``support.inprocess``) execute the notebooks' own cells; one kernel run proves
the runner carries ``planned`` from the kernel's record to ``run.json`` and the terminal.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sections.access_key.test_notebook_modes import backdate, user_to_clean
from support.aws import snapshot
from support.inprocess import InProcessRun, run_in_process
from support.leak_scan import assert_no_secret

from runbook_lib.interfaces.cli import main
from runbook_lib.run.summary import summary_lines


def lines_of(run: InProcessRun) -> list[str]:
    """The terminal summary the runner would print for this run."""
    return [line.strip() for line in summary_lines(run.record)]


def _none(iam: Any, user: str) -> None:
    pass


def _user(iam: Any, user: str) -> None:
    iam.create_user(UserName=user)


def _no_policy(iam: Any, user: str) -> None:
    with contextlib.suppress(iam.exceptions.NoSuchEntityException):
        iam.delete_account_password_policy()


Params = Callable[[str, Path], dict[str, Any]]
Prepare = Callable[[Any, str], None]
S1 = {"billing_access_confirmed": True}  # Step 2 is a person's: not what this test is about

#: runbook -> (its parameters for a user, what exists before, actions its plan must name)
PLANS: dict[str, tuple[Params, Prepare, set[str]]] = {
    "01": (
        lambda u, d: {"user_name": u, "group_name": f"{u}-g", "secrets_dir": str(d), **S1},
        _none,
        {"create-group", "create-user", "create-login-profile"},
    ),
    "02": (
        lambda u, d: {"user_name": u, "secrets_dir": str(d)},
        _user,
        {"create-access-key", "store-secret"},
    ),
    "03": (
        lambda u, d: {"user_name": u},
        _user,
        {"create-virtual-mfa-device", "enable-mfa-device"},
    ),
    "04": (lambda u, d: {}, _no_policy, {"update-account-password-policy"}),
    "05": (
        lambda u, d: {"user_name": u},
        user_to_clean,
        {"deactivate-access-key", "delete-login-profile"},
    ),
}


@pytest.mark.parametrize("book", sorted(PLANS))
def test_a_plan_lists_each_change_then_the_run_makes_them_and_a_new_plan_lists_none(
    book: str, iam: Any, user_name: str, tmp_path: Path
) -> None:
    params_of, prepare, actions = PLANS[book]
    prepare(iam, user_name)
    params = params_of(user_name, tmp_path / "secrets")
    before = snapshot([user_name])

    plan = run_in_process(book, params, plan=True)

    assert plan.exit_code == 0, plan.message
    assert plan.record["writes"] == 0 and snapshot([user_name]) == before
    planned = plan.record["planned"]
    assert actions <= {p["action"] for p in planned}, planned
    assert all(p["step"] and p["target"] for p in planned)
    would = [line for line in lines_of(plan) if line.startswith("would ")]
    assert len(would) == len(planned), lines_of(plan)

    done = run_in_process(book, params)
    assert done.exit_code == 0, done.message
    assert done.record["writes"] > 0 and done.record["planned"] == []
    again = run_in_process(book, params, plan=True)
    assert again.record["planned"] == [], again.record["planned"]
    assert any(line.endswith("nothing would change") for line in lines_of(again))


def test_a_plan_of_06_lists_its_identity_center_changes() -> None:
    run = run_in_process("06", {"user_name": "plan-06-user"}, plan=True)

    assert run.record["writes"] == 0
    actions = {p["action"] for p in run.record["planned"]}
    assert {"create-identity-center-user", "create-account-assignment"} <= actions


def test_a_key_not_due_says_its_age_and_due_date_in_the_record_and_summary(
    iam: Any, user_name: str, tmp_path: Path
) -> None:
    iam.create_user(UserName=user_name)
    key_id = iam.create_access_key(UserName=user_name)["AccessKey"]["AccessKeyId"]
    backdate(user_name, 10, key_id)
    params = {"user_name": user_name, "secrets_dir": str(tmp_path), "mode": "rotate-if-older-than"}

    run = run_in_process("02", params)

    assert run.exit_code == 0 and run.record["writes"] == 0, run.message
    (outcome,) = run.record["outcomes"]
    due_on = (datetime.now(timezone.utc) + timedelta(days=80)).date()
    assert outcome["outcome"] == "not due"
    assert outcome["key_id"] == key_id and outcome["age_days"] == "10"
    assert date.fromisoformat(outcome["due_on"]) in (due_on, due_on + timedelta(days=1))
    assert outcome["max_age_days"] == "90"
    (line,) = [x for x in lines_of(run) if x.startswith("outcome:")]
    assert "not due" in line and "due in 80 days" in line and f"due on {outcome['due_on']}" in line


def test_a_due_key_says_so_and_is_rotated(iam: Any, user_name: str, tmp_path: Path) -> None:
    iam.create_user(UserName=user_name)
    key_id = iam.create_access_key(UserName=user_name)["AccessKey"]["AccessKeyId"]
    backdate(user_name, 100, key_id)
    params = {"user_name": user_name, "secrets_dir": str(tmp_path), "mode": "rotate-if-older-than"}

    run = run_in_process("02", params)

    assert run.exit_code == 0, run.message
    (outcome,) = run.record["outcomes"]
    assert outcome["outcome"] == "due" and outcome["age_days"] == "100"
    assert any(c["action"] == "deactivate-access-key" for c in run.record["changes"])
    (delivered,) = tmp_path.glob("*.csv")
    with delivered.open(encoding="utf-8-sig", newline="") as fh:
        secret = next(csv.DictReader(fh))["Secret access key"]
    saved = tmp_path / "record.json"
    saved.write_text(json.dumps(run.record), "utf-8")
    assert_no_secret([saved], [secret])


def test_cleanup_records_each_credentials_evidence_and_what_it_did(
    iam: Any, user_name: str
) -> None:
    user_to_clean(iam, user_name)

    plan = run_in_process("05", {"user_name": user_name}, plan=True)
    done = run_in_process("05", {"user_name": user_name})

    planned = {o["subject"]: o for o in plan.record["outcomes"]}
    made = {o["subject"]: o for o in done.record["outcomes"]}
    assert sorted(o["outcome"] for o in planned.values()) == [
        "keep", "would deactivate", "would remove"
    ]  # fmt: skip
    assert sorted(o["outcome"] for o in made.values()) == ["deactivated", "keep", "removed"]
    old = next(o for o in made.values() if o["outcome"] == "deactivated")
    assert old["last_used"] == "never" and int(old["idle_days"]) >= 100
    assert old["resource"].endswith(old["subject"].rsplit(" ", 1)[-1])
    terminal = [x for x in lines_of(done) if x.startswith("outcome:")]
    assert len(terminal) == 3 and any("deactivated (never used" in x for x in terminal)


def test_the_runner_carries_planned_to_run_json_and_the_terminal(iam: Any, tmp_path: Path) -> None:
    _no_policy(iam, "")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["run", "04", "--plan", "--output-dir", str(tmp_path)])

    assert code == 0, err.getvalue()
    (run_dir,) = list(tmp_path.iterdir())
    record = json.loads((run_dir / "run.json").read_text("utf-8"))
    (entry,) = record["planned"]
    assert entry["action"] == "update-account-password-policy"
    assert "MinimumPasswordLength" in entry["settings"]  # the API names, as in changes (never cut)
    assert "would update-account-password-policy" in out.getvalue()
    assert "; 1 planned:" in out.getvalue()
