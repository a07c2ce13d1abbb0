"""One headless run of notebooks/04_set_password_policy.ipynb through the runner, on the sandbox.

The bad-input, fault, plan-mode and second-run matrices run in-process
(``test_library.py``); a kernel start is slow, so this is the one real run: exit code,
run record, end state in IAM, and the run folder scanned for anything secret-shaped.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import boto3
import pytest
from support.aws import reset_sandbox

from runbook_lib import password_policy
from runbook_lib.core.sandbox import running_sandbox_url
from runbook_lib.run.notebooks import find_notebook, notebook_parameters
from runbook_lib.run.runner import RunResult, run_notebook

NOTEBOOK = "04_set_password_policy"
#: shapes of secrets that must never be in a run's artifacts (as test_committed_notebooks)
SECRET_SHAPES = {
    "otpauth URI": re.compile(r"otpauth://"),
    "secret access key": re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"),
    "MFA seed": re.compile(r"(?<![A-Z2-7])[A-Z2-7]{32,64}(?![A-Z2-7])"),
    "PNG image": re.compile(r"iVBORw0KGgo"),
}
#: the HTML export's stylesheets (JupyterLab's theme embeds base64 images): not run output
_STYLE = re.compile(r"<style[^>]*>.*?</style>", re.S)


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """The run, on a sandbox reset for it (a new account: no custom password policy)."""
    reset_sandbox()
    return run_notebook(NOTEBOOK, {}, output_dir=tmp_path_factory.mktemp("runs"))


def test_every_parameter_is_declared_for_papermill_and_reaches_check_request() -> None:
    """``runbook list`` and ``-p`` know a parameter only if papermill can parse its line."""
    declared = set(notebook_parameters(find_notebook(NOTEBOOK)))
    target = {"target", "profile", "endpoint_url", "region", "expected_account_id", "plan"}
    target.add("language")  # read by the library's messages (runbook_lib.core.i18n)
    accepted = set(inspect.signature(password_policy.check_request).parameters) - {"ctx"}
    assert declared == target | accepted


def test_run_exits_0_and_sets_the_policy_with_one_write(result: RunResult) -> None:
    assert result.exit_code == 0, result.message
    record = result.record
    assert record["notebook"] == NOTEBOOK and record["plan"] is False
    assert record["writes"] == 1
    assert record["calls"]["iam:UpdateAccountPasswordPolicy"] == 1
    assert [c["action"] for c in record["changes"]] == ["update-account-password-policy"]
    assert record["warnings"] == [], "the defaults meet CIS 1.8 and 1.9"
    iam = boto3.client("iam", endpoint_url=running_sandbox_url(), region_name="us-east-1")
    policy = iam.get_account_password_policy()["PasswordPolicy"]
    assert policy["MinimumPasswordLength"] == 14 and policy["PasswordReusePrevention"] == 24


def test_the_record_says_no_secret_and_no_artifact_holds_one(result: RunResult) -> None:
    assert result.record["secrets"] == [], "S4 handles no secret"
    assert result.secret_values == [], "the kernel announced no secret to the leak guard"
    names = {p.name for p in result.artifacts}
    assert {"run.json", f"{NOTEBOOK}.ipynb"} <= names
    for path in result.artifacts:
        text = _STYLE.sub("", path.read_text("utf-8", errors="replace"))
        for kind, shape in SECRET_SHAPES.items():
            match = shape.search(text)
            assert match is None, f"{kind}-shaped text in {path.name} at {match and match.start()}"


def test_the_executed_notebook_shows_the_cis_controls_before_and_after(result: RunResult) -> None:
    executed = Path(result.run_dir) / f"{NOTEBOOK}.ipynb"
    text = executed.read_text("utf-8")
    assert "1.8 minimum length ≥ 14: FAIL → PASS" in text
    assert "1.9 reuse prevention 24: FAIL → PASS" in text
