"""The leak matrix's scanner: a run's actual secret values, and every form they could take.

A secret may reach an artifact escaped (JSON in an .ipynb, HTML in an export, ``\\/`` in a JSON
string), grouped for reading (a seed shown as ``ABCD EFGH ...``) or encoded (a QR PNG as base64
in widget state or an ``image/png`` output). ``Secrets.forms()`` lists them all; ``scan`` reports
where and which kind, and ``assert_clean`` fails naming the artifact and the kind, never the value.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from runbook_lib.core import otpauth
from support.aws import ACCOUNT


def _text_forms(value: str) -> set[str]:
    forms = {value, json.dumps(value)[1:-1], value.replace("/", "\\/")}
    forms |= {html.escape(f, quote=q) for f in list(forms) for q in (True, False)}
    forms |= {json.dumps(f)[1:-1] for f in list(forms)}
    return forms


@dataclass(frozen=True)
class Hit:
    """A secret found somewhere: which artifact and which kind (never the value)."""

    where: str
    kind: str

    def __repr__(self) -> str:
        return f"{self.kind} in {self.where}"


@dataclass
class Secrets:
    """The actual secret values of one or more runs, by kind."""

    items: list[tuple[str, str | bytes]] = field(default_factory=list, repr=False)

    def add(self, kind: str, value: str | bytes) -> None:
        """Remember a value; an empty one fails the test (the scan would prove nothing)."""
        if not value:
            pytest.fail(f"the {kind} of this run is empty: the scan would be vacuous", False)
        self.items.append((kind, value))

    def add_mfa(self, seed: str, user: str, issuer: str = "AWS") -> str:
        """The seed, its otpauth URI and the QR PNG the library would draw; returns the URI."""
        uri = otpauth.key_uri(seed, user, ACCOUNT, issuer)
        self.add("mfa-seed", seed)
        self.add("otpauth-uri", uri)
        self.add("qr-png", otpauth.qr_png(uri))
        return uri

    def extend(self, other: Secrets) -> None:
        """Add every value of ``other``."""
        self.items.extend(other.items)

    @property
    def kinds(self) -> set[str]:
        """The kinds held."""
        return {kind for kind, _ in self.items}

    def values(self, kind: str) -> list[str | bytes]:
        """The values of one kind."""
        return [v for k, v in self.items if k == kind]

    def forms(self) -> list[tuple[str, bytes]]:
        """Every byte string whose presence in an artifact means the secret leaked."""
        out: set[tuple[str, bytes]] = set()
        for kind, value in self.items:
            if isinstance(value, bytes):
                b64 = base64.b64encode(value).decode()
                out.add((kind, value))
                out |= {(kind, f.encode()) for f in _text_forms(b64)}
                # a slice from the middle (past the PNG header every PNG shares), 4-aligned:
                # found even if the base64 was wrapped or cut elsewhere
                middle = (len(b64) // 2) // 4 * 4
                out.add((kind, b64[middle : middle + 40].encode()))
                continue
            texts = _text_forms(value)
            if kind == "mfa-seed":  # the QR panel shows the key in groups of four
                grouped = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
                texts |= _text_forms(grouped)
            out |= {(kind, t.encode()) for t in texts if len(t) >= 6}
        return sorted(out)


def assert_no_secret(paths: list[Path], values: list[str]) -> None:
    """Fail (without printing any value) if a secret value occurs in any of the files."""
    for path in paths:
        if not path.is_file():
            continue
        text = path.read_text("utf-8", errors="replace")
        for i, value in enumerate(values):
            if value and value in text:
                pytest.fail(f"secret #{i} (length {len(value)}) found in {path}", pytrace=False)


def scan_bytes(data: bytes, where: str, secrets: Secrets) -> list[Hit]:
    """The kinds of secret found in ``data``."""
    return sorted({Hit(where, kind) for kind, form in secrets.forms() if form in data}, key=repr)


def scan(paths: list[Path], secrets: Secrets) -> list[Hit]:
    """The secrets found in any file of ``paths`` (folders are walked)."""
    hits: list[Hit] = []
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            hits += scan_bytes(file.read_bytes(), str(file), secrets)
    return hits


def assert_clean(
    paths: list[Path], secrets: Secrets, streams: dict[str, str] | None = None
) -> None:
    """Fail, naming the artifact and the kind only, if a secret is in any file or stream."""
    hits = scan(paths, secrets)
    for name, text in (streams or {}).items():
        hits += scan_bytes(text.encode(), name, secrets)
    if hits:
        pytest.fail("secret leaked: " + "; ".join(repr(h) for h in hits), pytrace=False)


def assert_in_destination(secrets: Secrets, kind: str, destination: Path) -> None:
    """The secret that must exist does: non-empty and in its destination file."""
    text = destination.read_text("utf-8")
    values = secrets.values(kind)
    if not values or not all(isinstance(v, str) and v and v in text for v in values):
        pytest.fail(f"the {kind} is not in its destination {destination}", pytrace=False)


def assert_announced(secrets: Secrets, kinds: set[str], announced: list[str]) -> None:
    """The runner's leak guard knew the run's secrets of these kinds (the kernel announced them)."""
    for kind in kinds:
        for value in secrets.values(kind):
            if value not in announced:
                pytest.fail(f"the {kind} of the run was not announced to the runner", False)


def signin_password(secrets_dir: Path, user: str) -> tuple[Path, str]:
    """S1's sign-in CSV and the password in it."""
    path = secrets_dir / f"{ACCOUNT}-{user}_credentials.csv"
    (row,) = list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))))
    return path, row["Password"]


def access_key(secrets_dir: Path, user: str) -> tuple[Path, str, str]:
    """S2's access key CSV, the key ID and the secret access key in it."""
    path = secrets_dir / f"{ACCOUNT}-{user}_accessKeys.csv"
    (row,) = list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))))
    return path, row["Access key ID"], row["Secret access key"]


def seed_file(secrets_dir: Path, device: str) -> tuple[Path, str, str]:
    """S3's seed file (``seed_destination: file``), the seed and the otpauth URI in it."""
    path = secrets_dir / f"{device}_virtual_mfa.txt"
    lines = path.read_text("utf-8").splitlines()
    fields = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return path, fields["seed"], fields["otpauth_uri"]


def destination_secrets(book: str, secrets_dir: Path, user: str) -> Secrets:
    """The secrets a run of ``book`` delivered, read from their destination files and checked
    to be there (so that a scan for them is not vacuous)."""
    found = Secrets()
    if book == "01":
        path, password = signin_password(secrets_dir, user)
        found.add("password", password)
        assert_in_destination(found, "password", path)
    elif book == "02":
        path, _, secret = access_key(secrets_dir, user)
        found.add("secret-access-key", secret)
        assert_in_destination(found, "secret-access-key", path)
    elif book == "03":
        path, seed, uri = seed_file(secrets_dir, user)
        if found.add_mfa(seed, user) != uri:
            pytest.fail("the seed file's otpauth URI is not the seed's Key URI", False)
        assert_in_destination(found, "mfa-seed", path)
        assert_in_destination(found, "otpauth-uri", path)
    return found
