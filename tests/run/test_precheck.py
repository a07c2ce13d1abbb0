"""Every typed or enumerated parameter is refused before any kernel starts, by the notebook's own
check: ``runbook run NAME``, ``run --all``, ``run --org`` (once, no account touched), ``lab`` and
``app`` (no server, no sandbox) exit 2 with one line and write no run or session folder.

The same table is then run through each notebook's own ``check_request`` cell (executed from the
notebook, with a context that has no AWS behind it): the kernel refuses it with the very same
line, so the precheck holds no second copy of the rules.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from support.aws import client
from support.plugin import kernels_started

from runbook_lib.core.errors import BadInput
from runbook_lib.interfaces import apps
from runbook_lib.interfaces.cli import main
from runbook_lib.run import precheck
from runbook_lib.run.notebooks import (
    all_notebooks,
    declared,
    declared_types,
    find_notebook,
    parse_value,
)

#: a refusal before any kernel: well under one kernel start (≈1.5 s of CPU)
FAST = 1.5

#: notebook -> (-p pairs, what the one line says); every notebook, every kind of typed or
#: enumerated parameter it declares (choices, numbers in a range, names, flags, combinations)
BAD: list[tuple[str, list[tuple[str, str]], str]] = [
    ("00", [("cis_version", "8.0.0")], "cis_version"),
    ("00", [("unused_days", "0")], "unused_days 0 is not a threshold"),
    ("00", [("max_key_age_days", "99999")], "max_key_age_days"),
    ("00", [("min_password_length", "5")], "min_password_length"),
    ("00", [("password_reuse", "25")], "password_reuse"),
    ("00", [("group_name", "bad group!")], "admin_group"),
    ("01", [("user_name", "bad name!")], "user_name 'bad name!'"),
    ("01", [("group_name", "")], "group_name"),
    ("01", [("path", "admins")], "path"),
    ("01", [("policy_arn", "AdministratorAccess")], "policy_arn 'AdministratorAccess'"),
    ("01", [("tags", "{aws:team: x}")], "tags"),
    ("01", [("repair", "always")], "repair 'always'"),
    ("01", [("users", "[{name: a, bogus: 1}]")], "users[0] has unknown key(s) bogus"),
    ("02", [("mode", "rotat")], "mode 'rotat' is not one of the choices"),
    ("02", [("mode", "cleanup")], "mode cleanup is a runbook of its own now"),
    ("02", [("repair", "delete")], "repair 'delete'"),
    ("02", [("destination", "s3")], "destination 's3'"),
    ("02", [("destination", "widget")], "widget"),  # headless: nobody to show it to
    ("02", [("max_age_days", "0")], "max_age_days"),
    ("02", [("delete_old", "true")], "delete_old applies to modes rotate"),
    ("02", [("user_name", "root")], "names the root user"),
    ("03", [("action", "reset")], "action 'reset'"),
    ("03", [("seed_destination", "s3")], "seed_destination 's3'"),
    ("03", [("device_name", "bad name!")], "device_name 'bad name!'"),
    ("03", [("issuer", "a:b")], "issuer 'a:b'"),
    ("03", [("secret_name", "x")], "secret_name is set but seed_destination"),
    (
        "03",
        [("attach_self_manage_policy", "true"), ("policy_group", "bad group!")],
        "policy_group",
    ),
    ("04", [("minimum_password_length", "5")], "minimum_password_length"),
    ("04", [("max_password_age", "2000")], "max_password_age"),
    ("04", [("password_reuse_prevention", "30")], "password_reuse_prevention"),
    ("04", [("hard_expiry", "true")], "hard_expiry is true but max_password_age is 0"),
    ("05", [("cleanup_scope", "org")], "cleanup_scope 'org'"),
    ("05", [("unused_days", "0")], "unused_days"),
    ("05", [("user_name", "bad name!")], "user_name 'bad name!'"),
    ("06", [("user_name", "bad name!")], "user_name"),
    ("06", [("email", "nope")], "email"),
    ("06", [("session_duration", "PT13H")], "session_duration"),
    ("07", [("cis_version", "8.0.0")], "cis_version"),
    ("07", [("seed_destination", "paper")], "seed_destination"),
    ("07", [("email", "nope")], "email"),
    ("07", [("apply", "'maybe'")], "apply"),
    ("06", [("assign_to", "bogus")], "assign_to"),
    ("06", [("permission_set_name", "x" * 33)], "permission_set_name"),
]
IDS = [f"{nb}-{'-'.join(name for name, _ in pairs)}-{i}" for i, (nb, pairs, _) in enumerate(BAD)]


def _p(pairs: list[tuple[str, str]]) -> list[str]:
    return [arg for name, value in pairs for arg in ("-p", name, value)]


def _cli(argv: list[str]) -> tuple[int, str, str, float, int]:
    """``runbook ARGV`` in this process: (code, stdout, stderr, seconds, kernels started)."""
    out, err = io.StringIO(), io.StringIO()
    kernels = kernels_started()
    started = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    seconds = time.monotonic() - started
    return code, out.getvalue(), err.getvalue(), seconds, kernels_started() - kernels


def _refused(result: tuple[int, str, str, float, int], says: str, folder: Path) -> None:
    code, out, err, seconds, kernels = result
    assert code == 2, err
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("runbook: ") and says in err, err
    assert seconds < FAST, f"{seconds:.2f} s"
    assert kernels == 0
    assert not folder.exists(), "no run or session folder"


def test_the_table_covers_every_notebook() -> None:
    numbers = {book.stem.split("_", 1)[0] for book in all_notebooks()}
    assert numbers == {nb for nb, _, _ in BAD}


def test_every_notebook_has_its_sections_checks_before_a_kernel() -> None:
    sections = {declared(book).section for book in all_notebooks()}
    assert sections <= set(precheck.INPUT_CHECKS)


@pytest.mark.parametrize(("nb", "pairs", "says"), BAD, ids=IDS)
def test_run_refuses_a_bad_parameter_before_any_kernel(
    nb: str, pairs: list[tuple[str, str]], says: str, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    _refused(_cli(["run", nb, *_p(pairs), "--output-dir", str(runs)]), says, runs)


@pytest.mark.parametrize(
    ("pairs", "says"),
    [
        ([("mode", "rotat")], "mode 'rotat'"),
        ([("seed_destination", "s3")], "seed_destination 's3'"),
        ([("hard_expiry", "true")], "hard_expiry"),
    ],
    ids=["s2-mode", "s3-seed", "s4-expiry"],
)
def test_run_all_refuses_before_the_first_notebook(
    pairs: list[tuple[str, str]], says: str, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    argv = ["run", "--all", "-f", "parameters/sandbox.yaml", *_p(pairs), "--output-dir", str(runs)]
    _refused(_cli(argv), says, runs)


def _iam_state() -> list[str]:
    return sorted(u["UserName"] for u in client("iam").list_users()["Users"])


def test_org_fanout_refuses_once_before_any_account(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    before = _iam_state()
    argv = ["run", "02", "--org", "--member-accounts", "2", "--max-errors", "1"]
    result = _cli([*argv, "-p", "mode", "rotat", "--output-dir", str(runs)])
    _refused(result, "mode 'rotat'", runs)
    assert result[2].count("mode 'rotat'") == 1  # checked once, not per account
    assert _iam_state() == before


class _NoServer:
    """Stands in for ``apps.run_server``: a refusal must never get this far."""

    def __init__(self) -> None:
        self.started = 0

    def __call__(self, cmd: list[str], env: Any, url: str) -> int:
        self.started += 1
        return 0


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["app", "02", "-p", "mode", "rotat"], "mode 'rotat'"),
        (["app", "03", "-p", "seed_destination", "s3"], "seed_destination 's3'"),
        (["app", "00", "-p", "cis_version", "8"], "cis_version"),
        (["lab", "-p", "mode", "rotat"], "mode 'rotat'"),
        (["lab", "-p", "cleanup_scope", "org"], "cleanup_scope 'org'"),
    ],
    ids=["app-02-mode", "app-03-seed", "app-00-cis", "lab-mode", "lab-scope"],
)
def test_lab_and_app_refuse_before_a_sandbox_or_server(
    argv: list[str], says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = _NoServer()
    monkeypatch.setattr(apps, "run_server", server)
    runs = tmp_path / "runs"
    port = str(apps.free_port())
    _refused(_cli([*argv, "--no-browser", "--port", port, "--output-dir", str(runs)]), says, runs)
    assert server.started == 0


def test_a_widget_destination_is_fine_where_a_person_is_at_the_screen() -> None:
    book = find_notebook("02")
    precheck.check_notebook(book, {"destination": "widget"}, interactive=True)
    with pytest.raises(BadInput, match="widget"):
        precheck.check_notebook(book, {"destination": "widget"}, interactive=False)


# --- one source of truth: the notebook's own cell refuses with the same line -------------------


def _code_cells(book: Path) -> list[dict[str, Any]]:
    cells = json.loads(book.read_text("utf-8"))["cells"]
    return [c for c in cells if c["cell_type"] == "code"]


def _kernel_refusal(book: Path, given: dict[str, Any]) -> str:
    """Run the notebook's setup, parameters and ``check_request`` cells in this process, with
    ``given`` as papermill would inject it and a context with no AWS behind it."""
    cells = _code_cells(book)
    namespace: dict[str, Any] = {}
    exec("".join(cells[0]["source"]), namespace)  # setup: imports from runbook_lib
    params = next(c for c in cells if "parameters" in c["metadata"].get("tags", []))
    exec("".join(params["source"]), namespace)
    namespace.update(given)
    offline = SimpleNamespace(interactive=False, record=SimpleNamespace(warn=lambda text: None))
    namespace["ctx"] = offline
    step = next(c for c in cells if ".check_request(" in "".join(c["source"]))
    with pytest.raises(BadInput) as err:
        exec("".join(step["source"]), namespace)
    return str(err.value)


@pytest.mark.parametrize(("nb", "pairs", "says"), BAD, ids=IDS)
def test_the_kernel_refuses_with_the_same_line(
    nb: str, pairs: list[tuple[str, str]], says: str
) -> None:
    book = find_notebook(nb)
    types = declared_types([book])
    given = {name: parse_value(value, types.get(name, ""), name) for name, value in pairs}
    with pytest.raises(BadInput) as before_kernel:
        precheck.check_notebook(book, given)
    assert str(before_kernel.value) == _kernel_refusal(book, given)
    assert says in str(before_kernel.value)
