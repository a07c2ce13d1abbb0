"""The `runbook` command's start: what it imports before it needs it, and what a single run
keeps by default.

Not timed: these check which modules a real `runbook` process has imported when it prints its
help or refuses a bad parameter (the figures are in BENCHMARKS.md), and which files a single
run leaves (the HTML export only with ``--html each``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runbook_lib.interfaces.cli import main

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "notebooks"
#: what the command's start must not import: the kernel's, the export's, the sandbox's
NEVER_AT_START = ("papermill", "nbclient", "jupyter_client", "nbconvert", "ipywidgets", "moto")
#: what ``runbook --help`` must not import either (no parameter check needs AWS)
NOT_FOR_HELP = (*NEVER_AT_START, "boto3", "botocore", "nbformat", "jsonschema", "IPython")

_PROBE = """
import json, sys
from runbook_lib.interfaces.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as done:
    code = done.code
print(json.dumps({"code": code, "modules": sorted(m.split(".")[0] for m in sys.modules)}),
      file=sys.stderr)
"""


def start(*args: str) -> tuple[int, set[str], str]:
    """A real `runbook ARGS` process: its exit code, the top-level modules it had imported when
    it finished, and its stderr without the probe's line."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
        cwd=ROOT,
    )
    *lines, probe = done.stderr.strip().splitlines()
    answer = json.loads(probe)
    return int(answer["code"] or 0), set(answer["modules"]), "\n".join(lines)


def test_help_imports_nothing_heavy() -> None:
    code, modules, _ = start("--help")

    assert code == 0
    assert modules.isdisjoint(NOT_FOR_HELP), sorted(modules & set(NOT_FOR_HELP))


def test_run_help_imports_nothing_heavy() -> None:
    code, modules, _ = start("run", "--help")

    assert code == 0
    assert modules.isdisjoint(NOT_FOR_HELP), sorted(modules & set(NOT_FOR_HELP))


def test_a_bad_parameter_is_refused_before_the_kernel_stack_is_imported() -> None:
    code, modules, err = start("run", "02", "-p", "user_name", "bad name!")

    assert code == 2
    assert err.startswith("runbook: user_name 'bad name!' is not a valid IAM user name")
    assert err.count("\n") == 0, err  # one line
    assert modules.isdisjoint(NEVER_AT_START), sorted(modules & set(NEVER_AT_START))


def test_a_mistyped_parameter_is_refused_before_the_kernel_stack_is_imported() -> None:
    code, modules, err = start("run", "03", "-p", "unknown_parameter", "1")

    assert code == 2
    assert "Unknown parameter 'unknown_parameter'" in err
    assert modules.isdisjoint(NEVER_AT_START), sorted(modules & set(NEVER_AT_START))


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A single `runbook run` of a fixture notebook, without ``--html``."""
    output = tmp_path_factory.mktemp("runs")
    code = main(["run", str(FIXTURES / "91_raise_error.ipynb"), "--output-dir", str(output)])
    assert code == 1  # the fixture's cell raises: a failed run still keeps its record
    (run_dir,) = list(output.iterdir())
    return run_dir


def test_a_single_run_keeps_notebook_and_record_but_no_html_by_default(default_run: Path) -> None:
    names = {p.name for p in default_run.iterdir()}

    assert {"91_raise_error.ipynb", "run.json"} <= names
    assert not any(name.endswith(".html") for name in names)
    record = json.loads((default_run / "run.json").read_text("utf-8"))
    assert record["exit_code"] == 1 and record["status"] == "failed"
    executed = json.loads((default_run / "91_raise_error.ipynb").read_text("utf-8"))
    assert any(cell.get("outputs") for cell in executed["cells"])  # executed, not the source


def test_html_each_makes_the_export_of_a_single_run(tmp_path: Path) -> None:
    code = main(
        [
            "run",
            str(FIXTURES / "91_raise_error.ipynb"),
            "--html",
            "each",
            "--output-dir",
            str(tmp_path),
        ]
    )

    assert code == 1
    (run_dir,) = list(tmp_path.iterdir())
    html = run_dir / "91_raise_error.html"
    assert html.stat().st_size > 0
    assert "<html" in html.read_text("utf-8")[:2000].lower()
