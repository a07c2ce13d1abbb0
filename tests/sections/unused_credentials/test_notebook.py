"""Notebook 05 (S5, the cleanup of unused credentials) as a reader meets it: its parameters, its
cells in order, and the evidence of a run (executed in this process, ``support.inprocess``).

The fault, plan-mode and second-run matrices are ``test_s2_notebook_modes``'s; the verbs on
IAM's own answers are ``test_unused_credentials_aws``'s.
"""

from __future__ import annotations

import inspect
from typing import Any

from sections.access_key.test_notebook_modes import user_to_clean
from support.inprocess import run_in_process

from runbook_lib import unused_credentials
from runbook_lib.run.notebooks import find_notebook, notebook_parameters

NOTEBOOK = "05_clean_up_unused_credentials"


def test_every_parameter_is_declared_for_papermill_and_reaches_check_request() -> None:
    declared = set(notebook_parameters(find_notebook(NOTEBOOK)))
    target = {"target", "profile", "endpoint_url", "region", "expected_account_id", "plan"}
    target.add("language")  # read by the library's messages (runbook_lib.core.i18n)
    accepted = set(inspect.signature(unused_credentials.check_request).parameters) - {"ctx", "now"}
    assert declared == target | accepted


def test_a_run_disables_the_unused_and_records_each_credential(iam: Any, user_name: str) -> None:
    user_to_clean(iam, user_name)
    run = run_in_process("05", {"user_name": user_name})
    assert run.exit_code == 0, run.message
    plan = run.shown("credentials")
    assert f"Scope user {user_name}: credentials unused for 45 days or more" in plan
    assert "3 found, 2 to deactivate or remove" in plan
    assert [c["action"] for c in run.record["changes"]] == [
        "deactivate-access-key",
        "delete-login-profile",
    ]
    findings = [f for f in run.record["findings"] if f["control"] == "1.12"]
    assert len(findings) == 3, "one entry per credential, updated by Step 4"
    assert {f["status"] for f in findings} == {"PASS"}, "in use, or disabled by this run"
    listed = iam.list_access_keys(UserName=user_name)["AccessKeyMetadata"]
    assert sorted(k["Status"] for k in listed) == ["Active", "Inactive"]


def test_02_in_mode_cleanup_points_at_05_in_one_line(iam: Any, user_name: str) -> None:
    iam.create_user(UserName=user_name)
    run = run_in_process("02", {"user_name": user_name, "mode": "cleanup"})
    assert run.exit_code == 2 and "\n" not in run.message, run.message
    assert "run 05_clean_up_unused_credentials" in run.message
    assert run.record["writes"] == 0
