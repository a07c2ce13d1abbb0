"""The committed notebooks are training material: clean, secret-free and in the house form."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("[0-9][0-9]_*.ipynb"))

#: shapes of secrets that must never be in a committed file
SECRET_SHAPES = {
    "otpauth URI": re.compile(r"otpauth://"),
    "secret access key": re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"),
    "MFA seed": re.compile(r"(?<![A-Z2-7])[A-Z2-7]{32,64}(?![A-Z2-7])"),
    "PNG image": re.compile(r"iVBORw0KGgo"),
}
FORBIDDEN_IN_CODE = re.compile(r"\b(import boto3|boto3\.|try:|except\b|for .* in |while )")
#: statements that are logic, which belongs in runbook_lib, not in a notebook cell
LOGIC = (ast.If, ast.IfExp, ast.For, ast.While, ast.Try, ast.With, ast.comprehension)
SECTIONS = {
    "root_usage",
    "admin_user",
    "access_key",
    "virtual_mfa",
    "password_policy",
    "unused_credentials",
    "identity_center",
    "fix",
}


def test_there_is_a_notebook_per_section() -> None:
    assert NOTEBOOKS, "notebooks/ holds the runbooks"
    assert NOTEBOOKS[0].name == "00_check_root_usage.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_holds_no_state_or_papermill_traces(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert "widgets" not in nb.metadata, "widget state must never be saved"
    assert "papermill" not in nb.metadata
    for cell in nb.cells:
        assert "injected-parameters" not in cell.metadata.get("tags", [])
        assert "papermill" not in cell.metadata
        assert "execution" not in cell.metadata, "timings are volatile"
        for output in cell.get("outputs", []):
            assert "application/vnd.jupyter.widget-state+json" not in output.get("data", {})
            assert "image/png" not in output.get("data", {}), "no images: a QR code is a secret"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_holds_nothing_secret_shaped(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for kind, shape in SECRET_SHAPES.items():
        match = shape.search(text)
        # report where, never what
        assert match is None, (
            f"{kind}-shaped text in {path.name} at offset {match and match.start()}"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_outputs_are_executed_in_order(path: Path) -> None:
    """nbval refuses outputs without an execution count; counts must run 1, 2, 3..."""
    nb = nbformat.read(path, as_version=4)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), "run 'make refresh' to re-execute in order"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_follows_the_runbook_form(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    cells = nb.cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# S"), "title first"
    assert "docs.aws.amazon.com" in cells[0].source, "link to the AWS page it comes from"
    setup = cells[1]
    assert setup.cell_type == "code"
    assert all(line.startswith("from runbook_lib import") for line in setup.source.splitlines())
    names = {a.name for n in ast.parse(setup.source).body for a in getattr(n, "names", [])}
    assert (
        "preflight" in names and len(names & SECTIONS) == 1 and names <= SECTIONS | {"preflight"}
    ), f"the set-up cell imports preflight and ONE section: {sorted(names)}"
    params = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and params[0] is cells[2], "one parameters cell, right after set-up"
    for line in params[0].source.splitlines():
        assert re.match(r"^\w+: [\w\[\], |]+ = .+  # .+", line), (
            f"'name: type = value  # help': {line}"
        )
    assert "ctx = preflight(" in cells[4].source, "preflight follows the parameters"
    headings = [c.source.splitlines()[0] for c in cells if c.cell_type == "markdown"]
    assert headings[-1] == "## Verify", "Verify is the last step"
    for cell in cells[3:]:
        if cell.cell_type == "code":
            assert not FORBIDDEN_IN_CODE.search(cell.source), (
                f"logic belongs in runbook_lib: {cell.source!r}"
            )
            logic = [n for n in ast.walk(ast.parse(cell.source)) if isinstance(n, LOGIC)]
            assert not logic, f"logic belongs in runbook_lib: {cell.source!r}"


def test_no_committed_file_holds_papermill_parameters() -> None:
    for path in NOTEBOOKS:
        assert "injected-parameters" not in path.read_text(encoding="utf-8")
        json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "path",
    NOTEBOOKS + sorted((Path(__file__).parents[2] / "notebooks" / "ko").glob("[0-9]*.ipynb")),
    ids=lambda p: f"{p.parent.name}/{p.stem}",
)
def test_committed_outputs_name_no_temporary_folder(path: Path) -> None:
    """``runbook refresh`` writes the default secrets folder, not its scratch folder (a new
    name every refresh: churn in every commit, and a path no reader has)."""
    text = path.read_text(encoding="utf-8")
    assert "/tmp/" not in text and "runbook-refresh-" not in text, path.name
