"""The in-process runs stand for kernel runs: both make the same calls and end the same way.

The fault matrix, the bad-input table, re-runs and plan runs execute the notebooks' cells in
this process (``support.inprocess``). These tests hold that stand-in to the real thing: the
same runbooks with the same parameters, run in-process, make exactly the AWS calls and changes
the kernel runs of the session's scenarios made, and a fault ends both the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.catalog import FAULT_AT_LAST_WRITE, RUN_ALL
from support.inprocess import run_in_process
from support.scenarios import ScenarioCache, fill

from runbook_lib.testing.faults import FAULT_AT_WRITE_VAR


def _same_run(kernel: dict[str, Any], here: dict[str, Any]) -> None:
    assert here["writes"] == kernel["writes"] and here["reads"] == kernel["reads"]
    assert here["calls"] == kernel["calls"]
    assert [c["action"] for c in here["changes"]] == [c["action"] for c in kernel["changes"]]
    assert [r["action"] for r in here["repairs"]] == [r["action"] for r in kernel["repairs"]]


def test_every_runbook_in_process_makes_the_calls_its_kernel_run_made(
    scenarios: ScenarioCache, iam: Any, tmp_path: Path
) -> None:
    kernel = scenarios.run(RUN_ALL)
    params = {name: fill(value, tmp_path) for name, value in RUN_ALL.rerun_params}
    params.update(user_name="InProcessAdmin", group_name="InProcessAdmins")
    for record in kernel.records:
        book = record["notebook"][:2]
        if book == "04":  # the password policy is account-wide: the kernel run set it already
            iam.delete_account_password_policy()
        here = run_in_process(book, params, ignore_unknown=True)
        assert (here.exit_code, record["exit_code"]) == (0, 0), here.message
        if book == "00":  # S0 waits for the credential report: its number of reads varies
            assert here.record["writes"] == record["writes"] == 0
            continue
        _same_run(record, here.record)


@pytest.mark.parametrize("book", sorted(FAULT_AT_LAST_WRITE))
def test_a_fault_in_process_ends_the_run_as_in_a_kernel(
    book: str, scenarios: ScenarioCache, iam: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = FAULT_AT_LAST_WRITE[book]
    kernel = scenarios.run(scenario)
    params = {name: fill(value, tmp_path) for name, value in scenario.params}
    user = f"InProcessFault{book}"
    params["user_name"] = user
    if "group_name" in params:
        params["group_name"] = f"{user}s"
    else:
        iam.create_user(UserName=user)
    for name, value in scenario.env:
        monkeypatch.setenv(name, value)
    assert FAULT_AT_WRITE_VAR in dict(scenario.env)
    here = run_in_process(book, params)
    assert here.exit_code == kernel.exit_code == 1
    # the runner adds what was delivered where (a failed run names it); the step's own line is
    # the same in both
    assert here.message == kernel.message.split(" Delivered: ")[0]
    _same_run(kernel.record, here.record)
