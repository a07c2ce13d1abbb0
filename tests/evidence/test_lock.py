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
