"""A run's folder: private while the run writes it, readable once the leak guard passed it.

Every artifact (executed notebook, HTML, ``run.json``, logs) is created 0600 in a 0700 folder
before anything writes into it; after the run, the leak guard scans each file for the run's
secrets, deletes any that holds one, and only then are the clean files made readable (0644,
folder 0755).
"""

from __future__ import annotations

import csv
import json
import os
import secrets as stdlib_secrets
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from runbook_lib.core.errors import EXIT_FAILED
from runbook_lib.core.wording import csv_cell
from runbook_lib.run.leaks import LeakGuard

PRIVATE = 0o600
PUBLIC = 0o644
PUBLIC_DIR = 0o755


def _run_id(stem: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{stem}-{stdlib_secrets.token_hex(2)}"


def create_private(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 (a later write into it keeps that mode)."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE))
    return path


def open_run_dir(output_dir: Path, stem: str, names: list[str]) -> Path:
    """A new private run folder (0700) with ``names`` created empty and private (0600)."""
    run_dir = Path(output_dir) / _run_id(stem)
    run_dir.mkdir(parents=True, exist_ok=False, mode=0o700)
    os.chmod(run_dir, 0o700)  # mkdir's mode is masked by the umask; this is not
    for name in names:
        create_private(run_dir / name)
    return run_dir


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as indented JSON (an existing file keeps its mode)."""
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


#: the columns of ``findings.csv`` (S0's audit results; ``core.record`` keeps the same keys)
FINDINGS_COLUMNS = ("control", "check", "cis_version", "title", "status", "resource", "evidence",
                    "advice", "accepted")  # fmt: skip


def write_findings_csv(path: Path, findings: list[Mapping[str, Any]]) -> None:
    """One row per finding, private until the leak scan has passed it (like every artifact)."""
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
    """Make the scanned, clean artifacts readable (0644, folder 0755); the rest stay private."""
    for path in clean:
        if path.exists():
            os.chmod(path, PUBLIC)
    os.chmod(run_dir, PUBLIC_DIR)
