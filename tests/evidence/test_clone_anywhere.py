"""A clone works from any path: no file of the project names a checkout, venv or home.

The tests find the venv's scripts next to the interpreter running them
(``Path(sys.executable).parent``) and the project from the test file; a path of the developers'
machine in a file would pass here and fail in anyone else's clone.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: prefixes of home folders and of the developers' checkouts (spelled in parts, so that this
#: file does not name them itself)
FORBIDDEN = tuple("/" + part + "/" for part in ("work", "root", "home"))


def project_files() -> list[Path]:
    """Every file git tracks, or would track if it were added now (not the ignored ones)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: no list of the project's files")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name]


def test_no_project_file_names_this_checkout_a_home_or_the_developers_paths() -> None:
    files = [p for p in project_files() if p.is_file()]
    assert len(files) > 50, "the project's files were listed"
    needles = {str(ROOT), str(ROOT.resolve()), *FORBIDDEN}
    found = []
    for path in files:
        data = path.read_bytes()
        found += [f"{path.relative_to(ROOT)}: {n}" for n in sorted(needles) if n.encode() in data]
    assert not found, "absolute paths in the project's files:\n" + "\n".join(found)
