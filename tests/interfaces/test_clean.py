"""``runbook clean``: a dry run lists old run folders, sandbox secrets folders and demo scratch
(one line each, size and age, a total) and deletes nothing; ``--yes`` deletes exactly those;
a real account's secret files and anything not named like the project's folders stay."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
from pathlib import Path

import pytest

from runbook_lib.core import environ
from runbook_lib.interfaces.cli import main

DAY = 86400


def _age(folder: Path, days: float) -> Path:
    moment = time.time() - days * DAY
    for path in [folder, *folder.rglob("*")]:
        os.utime(path, (moment, moment), follow_symlinks=False)
    return folder


def _folder(parent: Path, name: str, days: float, size: int = 100) -> Path:
    folder = parent / name
    folder.mkdir(parents=True)
    (folder / "run.json").write_bytes(b"x" * size)
    return _age(folder, days)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A temp HOME with runs, sandbox and real secrets, and a temp folder with demo scratch."""
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    secrets = home / ".iam-runbooks" / "secrets"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv(environ.SECRETS_DIR, raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    tmp.mkdir()
    runs = tmp_path / "runs"
    paths = {
        "old_run": _folder(runs, "20260101T000000Z-02_create_access_key-1a2b", 60, 2048),
        "old_session": _folder(runs, "20260102T000000Z-03_enable_virtual_mfa-ab12", 50),
        "new_run": _folder(runs, "20261201T000000Z-00_check_root_usage-cd34", 2),
        "not_a_run": _folder(runs, "my-notes", 90),
        "old_sandbox": _folder(secrets / "sandbox", "20260101T000000Z-4242", 40),
        "new_sandbox": _folder(secrets / "sandbox", "20261206T000000Z-4343", 0.1),
        "real_secret": _folder(secrets, "111122223333", 400),
        "old_demo": _folder(tmp, "iam-runbooks-demo-AbC123", 35),
        "other_tmp": _folder(tmp, "iam-runbooks-demo-not-ours", 35),
    }
    real_file = secrets / "Administrator_accessKeys.csv"
    real_file.write_text("kept\n")
    os.utime(real_file, (time.time() - 400 * DAY,) * 2)
    paths["real_file"] = real_file
    return paths


def _runs(world: dict[str, Path]) -> Path:
    return world["new_run"].parent


def _clean(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["clean", *argv])
    return code, out.getvalue(), err.getvalue()


def _exists(world: dict[str, Path]) -> set[str]:
    return {name for name, path in world.items() if path.exists()}


def test_dry_run_lists_old_litter_with_size_and_age_and_deletes_nothing(
    world: dict[str, Path],
) -> None:
    before = _exists(world)
    code, out, err = _clean("--output-dir", str(_runs(world)), "--keep", "1")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    listed = {name for name, path in world.items() if any(f"{path}/" in line for line in lines)}
    assert listed == {"old_run", "old_session", "old_sandbox", "old_demo"}
    run_line = next(line for line in lines if str(world["old_run"]) in line)
    assert "2.0 KB" in run_line and "60 days" in run_line and "(run folder)" in run_line
    assert lines[-1] == "4 folders, 2.3 KB: run again with --yes to delete them."
    assert len(lines) == 5
    assert _exists(world) == before


def test_yes_deletes_exactly_the_listed_folders_never_a_real_accounts_secrets(
    world: dict[str, Path],
) -> None:
    code, out, _ = _clean("--output-dir", str(_runs(world)), "--keep", "1", "--yes")
    assert code == 0
    assert out.splitlines()[-1] == "4 folders deleted, 2.3 KB freed."
    assert _exists(world) == {
        "new_run",
        "not_a_run",
        "new_sandbox",
        "real_secret",
        "real_file",
        "other_tmp",
    }
    assert world["real_file"].read_text() == "kept\n"


def test_keep_protects_the_newest_run_folders_whatever_their_age(world: dict[str, Path]) -> None:
    _, out, _ = _clean("--output-dir", str(_runs(world)), "--keep", "2", "--older-than", "0")
    assert str(world["old_run"]) in out
    assert str(world["old_session"]) not in out and str(world["new_run"]) not in out
    assert str(world["not_a_run"]) not in out and str(world["real_secret"]) not in out


def test_a_link_is_never_followed(world: dict[str, Path], tmp_path: Path) -> None:
    target = _folder(tmp_path / "elsewhere", "precious", 90)
    link = _runs(world) / "20250101T000000Z-01_create_admin_user-ffff"
    link.symlink_to(target)
    _clean("--output-dir", str(_runs(world)), "--older-than", "0", "--keep", "0", "--yes")
    assert (target / "run.json").is_file()


def test_nothing_old_says_so(world: dict[str, Path]) -> None:
    code, out, _ = _clean("--output-dir", str(_runs(world)), "--older-than", "1000")
    assert (code, out) == (0, "Nothing to clean (older than 1000 days).\n")


@pytest.mark.parametrize("argv", [["--older-than", "-1"], ["--keep", "-2"]])
def test_a_negative_limit_is_bad_input(argv: list[str], world: dict[str, Path]) -> None:
    before = _exists(world)
    code, out, err = _clean("--output-dir", str(_runs(world)), *argv, "--yes")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("runbook: ")
    assert _exists(world) == before
