"""One headless kernel run of notebooks/06_identity_center_admin.ipynb through the runner.

The matrices run in-process (``test_library.py``); this is the real run: exit code 3 (the two
manual steps pending), the run record, and every artifact of the run folder scanned for
secret-shaped text and for the values the runner's leak guard heard of.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from support.aws import reset_sandbox

from runbook_lib import identity_center
from runbook_lib.run.notebooks import declared, find_notebook, notebook_parameters
from runbook_lib.run.runner import RunResult, run_notebook

NOTEBOOK = "06_identity_center_admin"
SECRET_SHAPES = {
    "otpauth URI": re.compile(r"otpauth://"),
    "secret access key": re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"),
    "PNG image": re.compile(r"iVBORw0KGgo"),
}
_STYLE = re.compile(r"<style[^>]*>.*?</style>", re.S)


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    reset_sandbox()
    return run_notebook(NOTEBOOK, {}, output_dir=tmp_path_factory.mktemp("runs"))


def test_every_parameter_reaches_check_request() -> None:
    declared_names = set(notebook_parameters(find_notebook(NOTEBOOK)))
    target = {"target", "profile", "endpoint_url", "region", "expected_account_id", "plan"}
    accepted = set(inspect.signature(identity_center.check_request).parameters) - {"ctx"}
    assert declared_names == target | {"language"} | accepted


def test_run_all_does_not_include_06() -> None:
    meta = declared(find_notebook(NOTEBOOK))
    assert (meta.section, meta.kind, meta.in_all) == ("S6", "change", False)


def test_kernel_run_exits_3_with_both_manual_steps_pending(result: RunResult) -> None:
    assert result.exit_code == 3, result.message
    pending = [m["step"] for m in result.record["manual_steps"] if m["status"] == "pending"]
    assert pending == ["S6.8", "S6.9"]
    assert result.record["writes"] == 6


def test_kernel_run_artifacts_hold_nothing_secret_shaped(result: RunResult) -> None:
    files = [p for p in Path(result.run_dir).rglob("*") if p.is_file()]
    assert files
    for path in files:
        text = _STYLE.sub("", path.read_text("utf-8", errors="replace"))
        for kind, shape in SECRET_SHAPES.items():
            assert not shape.search(text), f"{path.name} holds a {kind}"
        for value in result.secret_values or ():
            assert value not in text, f"{path.name} holds a secret of the run"
