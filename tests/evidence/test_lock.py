"""The set-up installs exactly the lock: every package in ``.venv`` is the locked version."""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
#: ``name==version ; marker`` at the start of a requirement line of a uv/pip-tools lock
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def locked(path: Path) -> dict[str, str]:
    """The pinned version of each package whose marker holds on this interpreter."""
    pins: dict[str, str] = {}
    for line in path.read_text("utf-8").splitlines():
        match = _PIN.match(line)
        if match and (not match[3] or Marker(match[3]).evaluate()):
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def test_every_installed_package_is_the_locked_version() -> None:
    pins = locked(ROOT / "requirements.lock")
    installed = {
        canonicalize_name(dist.metadata["Name"]): dist.version for dist in metadata.distributions()
    }
    installed.pop("iam-runbooks")
    # a venv's own installers, not part of what the project runs on
    for tool in ("pip",):
        installed.pop(tool, None)

    assert {name: v for name, v in installed.items() if pins.get(name) != v} == {}, sys.prefix
    assert {name for name in pins if name not in installed} == set()


def test_the_lock_holds_the_floors_the_tests_need() -> None:
    pins = locked(ROOT / "requirements.lock")

    moto = tuple(int(part) for part in pins["moto"].split(".")[:3])
    assert moto >= (5, 2, 4), "Identity Center reads (IsMemberInGroups) need moto 5.2.4"
    assert "moto[iam,sts]>=5.2.4" in (ROOT / "pyproject.toml").read_text("utf-8")


def test_the_airflow_venv_is_the_airflow_lock() -> None:
    """``make airflow-setup`` installs exactly ``deploy/airflow.lock`` into ``.venv-airflow``."""
    import json
    import subprocess

    import pytest

    python = ROOT / ".venv-airflow" / "bin" / "python"
    if not python.exists():
        pytest.skip("no .venv-airflow (make airflow-setup); `make test` builds it")
    listing = subprocess.run(
        [
            str(python),
            "-c",
            "import json, importlib.metadata as m; print(json.dumps("
            "{d.metadata['Name']: d.version for d in m.distributions()}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    installed = {canonicalize_name(k): v for k, v in json.loads(listing.stdout).items()}
    installed.pop("iam-runbooks")
    installed.pop("pip", None)
    # the markers are evaluated here, on .venv's Python: the same version as .venv-airflow's
    pins = locked(ROOT / "deploy" / "airflow.lock")

    assert {name: v for name, v in installed.items() if pins.get(name) != v} == {}
    assert {name for name in pins if name not in installed} == set()
