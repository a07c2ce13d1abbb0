"""A run's folder: private (0700, files 0600, whatever the umask), scanned before it is kept.

Every artifact (executed notebook, HTML, ``run.json``, logs) is created 0600 in a 0700 folder
(missing parent folders 0700 too) before anything writes into it; after the run, the leak guard
scans each file for the run's secrets and deletes any that holds one. The files stay private:
they name the account, its users and where secrets went.

A full disk must not cost the run record: the folder starts with ``RESERVE`` bytes set aside
(``.reserved``), freed just before the runner writes the final record, which it writes before
the (large) HTML export.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import secrets as stdlib_secrets
import shutil
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from runbook_lib.core.errors import EXIT_FAILED, BadInput
from runbook_lib.core.i18n import _
from runbook_lib.core.secret_files import make_private_folder
from runbook_lib.core.wording import csv_cell
from runbook_lib.run.leaks import LeakGuard

PRIVATE = 0o600
PRIVATE_DIR = 0o700
#: bytes set aside in a new run folder for its final run record (a record is ≈3-30 KB)
RESERVE = 128 * 1024
RESERVE_NAME = ".reserved"


def _run_id(stem: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{stem}-{stdlib_secrets.token_hex(2)}"


def create_private(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 (a later write into it keeps that mode)."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE))
    return path


def open_run_dir(output_dir: Path, stem: str, names: list[str]) -> Path:
    """A new private run folder (0700) with ``names`` created empty and private (0600), and
    ``RESERVE`` bytes set aside for its record.

    Raises:
        BadInput: the output folder has no room (or cannot be written): nothing was run.
    """
    run_dir = Path(output_dir) / _run_id(stem)
    try:
        make_private_folder(Path(output_dir))
        run_dir.mkdir(mode=PRIVATE_DIR)
        os.chmod(run_dir, PRIVATE_DIR)  # mkdir's mode is masked by the umask; this is not
        for name in names:
            create_private(run_dir / name)
        _reserve(run_dir / RESERVE_NAME)
    except OSError as err:
        with contextlib.suppress(OSError):
            shutil.rmtree(run_dir)
        raise BadInput(
            _(
                "Cannot write run records in {folder} ({error}): free space there or choose "
                "another --output-dir."
            ).format(folder=output_dir, error=err.strerror or type(err).__name__)
        ) from None
    return run_dir


def _reserve(path: Path) -> None:
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, PRIVATE)
    try:
        os.write(fd, bytes(RESERVE))
        os.fsync(fd)
    finally:
        os.close(fd)


def release_reserve(run_dir: Path) -> None:
    """Free the space set aside for the record (and drop half-written temporary records)."""
    (run_dir / RESERVE_NAME).unlink(missing_ok=True)
    for partial in run_dir.glob(".record-*"):  # a kernel's record save that hit a full disk
        partial.unlink(missing_ok=True)


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as indented JSON (an existing file keeps its mode)."""
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


#: the columns of ``findings.csv`` (S0's audit results; ``core.record`` keeps the same keys)
FINDINGS_COLUMNS = ("control", "check", "cis_version", "title", "status", "resource", "evidence",
                    "advice", "accepted")  # fmt: skip


def write_findings_csv(path: Path, findings: list[Mapping[str, Any]]) -> None:
    """One row per finding, private (like every artifact); no cell a spreadsheet would run."""
    create_private(path)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, FINDINGS_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: csv_cell(f.get(k, "")) for k in FINDINGS_COLUMNS} for f in findings)


def write_record(run_dir: Path, record: Mapping[str, Any]) -> None:
    """``run.json``, and ``findings.csv`` next to it when the run reported findings."""
    write_json(run_dir / "run.json", record)
    if record.get("findings"):
        write_findings_csv(run_dir / "findings.csv", list(record["findings"]))


def refuse_leaks(
    guard: LeakGuard, run_dir: Path, record: dict[str, Any]
) -> tuple[dict[str, Any], list[Path]]:
    """Scan the run's files; delete those holding a secret and redact the record.

    Returns:
        The record (updated when something was refused) and the files found clean.
    """
    files = sorted(p for p in run_dir.iterdir() if p.is_file())
    hits = guard.scan(files)
    if not hits:
        return record, files
    for hit in hits:
        Path(hit.path).unlink(missing_ok=True)
    kinds = ", ".join(sorted({f"{h.kind} in {Path(h.path).name}" for h in hits}))
    record.update(
        {
            "status": "secret leak refused",
            "exit_code": EXIT_FAILED,
            "message": (
                f"SecretLeak: a secret of this run reached an artifact ({kinds}); those files "
                "were deleted, not kept. Report this as a bug."
            ),
            "deleted_artifacts": sorted({Path(h.path).name for h in hits}),
        }
    )
    # the record itself may hold the value (a warning, an error message): keep it redacted
    record = json.loads(guard.redact(json.dumps(record)))
    write_json(run_dir / "run.json", record)
    left = sorted(p for p in run_dir.iterdir() if p.is_file())
    refused = {Path(h.path) for h in guard.scan(left)}
    for path in refused:
        path.unlink(missing_ok=True)
    return record, [p for p in left if p not in refused]


def publish(run_dir: Path, clean: list[Path]) -> None:
    """Keep the scanned artifacts private whatever the umask (0600, folder 0700)."""
    for path in clean:
        if path.exists():
            os.chmod(path, PRIVATE)
    os.chmod(run_dir, PRIVATE_DIR)
