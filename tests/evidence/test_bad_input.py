"""Bad input, table-driven: exit code 2, one line that says what to fix, and nothing changed.

The rows (``support.bad_input.ROWS``) are ``runbook run`` command lines. Rows refused before any
notebook starts run through ``cli.main`` in-process. Every row that is a notebook's input (not
only a command-line mistake) also runs the notebook's cells in-process with the parameters the
CLI would pass (``support.inprocess``), so the notebook refuses it too: the
error is a ``BadInput`` (exit 2) whose message is one line with the row's fragment, the run
record counts zero writes, and the sandbox's IAM and Secrets Manager state is the same before
and after. A few rows (one per runbook, and the CLI's own) also run through a real ``runbook``
process, once per session (cached scenarios): the process exits 2, prints one line on stderr,
and its run folder's record says exit 2 and zero writes.

Inputs a headless run cannot take (a typed console password, typed MFA codes) go through the
same library calls the live notebook's widgets make (``ApplyForm``, ``CodeForm``); see
``PASSWORD_ROWS`` and ``CODE_ROWS``.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.aws import ACCOUNT, assert_unchanged, reset_sandbox, snapshot
from support.bad_input import COMMAND_LINE_ONLY, ROWS, Row, prepare_world
from support.inprocess import run_in_process
from support.scenarios import ScenarioCache

from runbook_lib import admin_user, preflight, virtual_mfa, widgets
from runbook_lib.admin_user.passwords import new_password
from runbook_lib.core import totp
from runbook_lib.core.errors import EXIT_BAD_INPUT, BadInput, TargetRefused
from runbook_lib.core.secrets import Secret
from runbook_lib.interfaces import cli
from runbook_lib.password_policy.state import get_password_policy
from runbook_lib.testing.faults import FAULT_ROOT_CALLER_VAR

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sandbox reset once for this module, with the state and files every row starts from."""
    reset_sandbox()
    work = tmp_path_factory.mktemp("bad-input")
    prepare_world(work)
    return work


@contextlib.contextmanager
def row_environment(row: Row, work: Path, mp: pytest.MonkeyPatch) -> Iterator[None]:
    for name in row.unset:
        mp.delenv(name, raising=False)
    for name, value in row.env:
        mp.setenv(name, value.format(work=work))
    mp.setenv("RUNBOOK_NOTEBOOKS", str(PROJECT / "notebooks"))
    yield


CLI_ROWS = [r for r in ROWS if not r.run_folder]
NOTEBOOK_ROWS = [r for r in ROWS if r.id not in COMMAND_LINE_ONLY]
PROCESS_ROWS = [r for r in ROWS if r.process]


@pytest.mark.parametrize("row", CLI_ROWS, ids=[r.id for r in CLI_ROWS])
def test_bad_command_line_exits_2_with_one_line_before_any_notebook_runs(
    row: Row,
    world: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "runs"
    before = snapshot()
    with row_environment(row, world, monkeypatch):
        code = cli.main([*row.argv(world), "--output-dir", str(out)])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, captured.err
    assert len(lines) == 1, f"one line expected on stderr, got {len(lines)}: {captured.err!r}"
    assert row.fragment in lines[0]
    assert not out.exists() or not any(out.iterdir()), "refused before any notebook ran"
    assert_unchanged(before, snapshot())


@pytest.mark.parametrize("row", NOTEBOOK_ROWS, ids=[r.id for r in NOTEBOOK_ROWS])
def test_bad_input_stops_the_notebook_with_one_line_and_changes_nothing(
    row: Row, world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book, params = row.notebook_and_parameters(world)
    before = snapshot()
    with row_environment(row, world, monkeypatch):
        run = run_in_process(book, params, ignore_unknown=True)
    assert run.exit_code == EXIT_BAD_INPUT, run.message
    assert isinstance(run.error, BadInput)
    assert "\n" not in str(run.error), "one line"
    assert row.fragment in run.message
    assert run.record["writes"] == 0, run.record["calls"]
    assert not run.record["changes"] and not run.record["repairs"]
    assert_unchanged(before, snapshot())


@pytest.mark.parametrize("row", PROCESS_ROWS, ids=[r.id for r in PROCESS_ROWS])
def test_bad_input_gives_process_exit_code_2_and_one_line(
    row: Row, scenarios: ScenarioCache
) -> None:
    done = scenarios.run(row.scenario())
    lines = done.stderr.strip().splitlines()
    assert done.exit_code == 2, done.stderr
    assert len(lines) == 1, f"one line expected on stderr, got {len(lines)}: {done.stderr!r}"
    assert row.fragment in lines[0]
    if not row.run_folder:
        assert done.run_dirs == [], "refused before any notebook ran, so no run folder"
    else:
        assert len(done.run_dirs) == 1, f"one run folder expected, found {len(done.run_dirs)}"
        record = done.record
        assert record["exit_code"] == 2 and record["status"] == "bad input"
        assert record.get("writes", 0) == 0, record.get("calls")
        assert not record.get("changes") and not record.get("repairs")
        assert "Nothing was changed." in lines[0]
    assert_unchanged(done.before, done.after)


def test_every_kind_of_bad_input_has_a_row() -> None:
    assert len(ROWS) >= 15
    assert len({r.id for r in ROWS}) == len(ROWS)


# ---- the root caller, in-process (preflight) ----------------------------------------------


@pytest.mark.parametrize("notebook", ["02_create_access_key", "03_enable_virtual_mfa"])
def test_preflight_refuses_a_root_caller(
    notebook: str, world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAULT_ROOT_CALLER_VAR, ACCOUNT)
    with pytest.raises(TargetRefused, match="root user of account") as err:
        preflight(notebook, target="sandbox")
    assert len(str(err.value).splitlines()) == 1
    # S1 alone allows root (the bootstrap case) and says so in the record
    ctx = preflight("01_create_admin_user", target="sandbox", allow_root=True, root_reason="boot")
    assert ctx.is_root and ctx.record.warnings


# ---- a typed console password against a strict policy (the live notebook's entry) --------

STRICT = {
    "MinimumPasswordLength": 20,
    "RequireSymbols": True,
    "RequireNumbers": True,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
}

#: (id, typed password, fragment): console passwords are generated headless, so a bad one can
#: only be typed into the live notebook's Step 7 form (``admin_user.review_and_create``)
PASSWORD_ROWS = [
    ("too-short", "Sh0rt!pass", "at least 20 characters"),
    ("no-symbol", "Abcdefghij1234567890xyz", "a symbol"),
    ("no-digit", "Abcdefghij!!klmnopqrstu", "a digit"),
    ("no-uppercase", "abcdefghij!!1234567890x", "an uppercase letter"),
]


@pytest.fixture
def strict_policy(world: Path, iam: Any) -> Iterator[None]:
    iam.update_account_password_policy(**STRICT)
    yield
    iam.delete_account_password_policy()


@pytest.mark.parametrize(
    ("typed", "fragment"), [r[1:] for r in PASSWORD_ROWS], ids=[r[0] for r in PASSWORD_ROWS]
)
def test_a_typed_password_against_a_strict_policy_is_refused_before_any_write(
    typed: str,
    fragment: str,
    world: Path,
    strict_policy: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shown: list[Any] = []
    monkeypatch.setattr(widgets, "show", shown.append)
    ctx = preflight("01_create_admin_user", target="sandbox")
    ctx.interactive = True  # a person at the live notebook
    request = admin_user.check_request(
        ctx, user_name="TypedPw", group_name="TypedPws", secrets_dir=str(tmp_path)
    )
    before = snapshot()
    users = admin_user.find_users(ctx, request)
    created = admin_user.review_and_create(ctx, users, admin_user.find_groups(ctx, request))
    (form,) = [w for w in shown if isinstance(w, widgets.ApplyForm)]
    form.field.value = typed
    form.submit()
    status = re.sub(r"<[^>]+>", "", form.status.value).strip()
    assert created.waiting is not None and created.waiting.created is None, "nothing was created"
    assert form.field.value == "", "the typed value left the widget"
    assert fragment in status and "Not done" in status, "the policy's rule is named"
    if typed in form.status.value:  # never let pytest print the value
        pytest.fail("the message repeats the typed password", pytrace=False)
    # the same check guards Step 7 (new_password) if a password ever reached it
    with pytest.raises(BadInput, match=fragment) as err:
        new_password(get_password_policy(ctx.iam), "TypedPw", ACCOUNT, Secret("password", typed))
    if typed in str(err.value):
        pytest.fail("the error repeats the typed password", pytrace=False)
    assert ctx.record.writes == 0
    assert_unchanged(before, snapshot())


# ---- MFA codes typed into the live notebook's form -----------------------------------------

Codes = Callable[[str, float], tuple[str, str]]


def _at(seed: str, t: float) -> str:
    return totp.current_code(seed, t)


def _other_device_codes(t: float) -> tuple[str, str]:
    other = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # another device's seed
    return _at(other, t - 30), _at(other, t)


def _typo(code: str) -> str:
    return code[:5] + str((int(code[5]) + 1) % 10)


#: (id, the two codes from the seed at time t, fragment of the one-line refusal)
CODE_ROWS: list[tuple[str, Codes, str]] = [
    ("five-digits", lambda s, t: ("12345", _at(s, t)), "must be 6 digits (got 5 characters)"),
    ("letters", lambda s, t: ("12a456", _at(s, t)), "something other than digits"),
    ("repeated", lambda s, t: (_at(s, t), _at(s, t)), "the same code twice"),
    ("swapped", lambda s, t: (_at(s, t), _at(s, t - 30)), "The codes look swapped"),
    ("stale", lambda s, t: (_at(s, t - 330), _at(s, t - 300)), "from about 5 minutes ago"),
    ("clock-ahead", lambda s, t: (_at(s, t + 270), _at(s, t + 300)), "clock is ahead"),
    ("not-this-device", lambda s, t: _other_device_codes(t), "Neither code matches"),
    ("code-2-typo", lambda s, t: (_at(s, t - 30), _typo(_at(s, t))), "check code 2 for a typo"),
]


@pytest.fixture(scope="module")
def device_for_codes(world: Path) -> Any:
    """An interactive S3 run of MfaUser up to Step 8: its device exists, unassigned."""
    ctx = preflight("03_enable_virtual_mfa", target="sandbox")
    ctx.interactive = True
    setup = virtual_mfa.check_request(ctx, user_name="MfaUser")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(widgets, "show", lambda _w: None)
        device = virtual_mfa.ensure_virtual_device(ctx, setup)
    assert device.seed is not None
    return ctx, device


@pytest.mark.parametrize(
    ("codes", "fragment"), [r[1:] for r in CODE_ROWS], ids=[r[0] for r in CODE_ROWS]
)
def test_bad_mfa_codes_are_refused_before_any_call(
    codes: Codes,
    fragment: str,
    world: Path,
    device_for_codes: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ctx, device = device_for_codes
    shown: list[Any] = []
    monkeypatch.setattr(widgets, "show", shown.append)
    virtual_mfa.ensure_assigned(ctx, device)
    (form,) = [w for w in shown if isinstance(w, widgets.CodeForm)]
    writes = ctx.record.writes
    before = snapshot()
    now = time.time()
    if now % 30 > 26:  # keep the row's codes and the check in one 30-second window
        time.sleep(30 - now % 30 + 0.2)
        now = time.time()
    code1, code2 = codes(device.seed.text(), now)
    form.code1.value, form.code2.value = code1, code2
    form.submit()
    status = form.status.value
    assert status.startswith("<span") and "Not done" in status
    assert len(status.splitlines()) == 1 and fragment in status
    assert not form.button.disabled, "the person can correct the codes and press again"
    assert ctx.record.writes == writes, "no EnableMFADevice call was made"
    after = snapshot()
    assert_unchanged(before, after)
    assert after["users"]["MfaUser"]["mfa"] == [], "the device is still unassigned"
