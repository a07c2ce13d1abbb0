"""``runbook clean``: what the runs leave behind, listed (dry run) or deleted (``--yes``).

Three kinds of litter, each found by the exact name the project gives it, never by a guess:

- run and session folders under ``--output-dir`` (``runs/<stamp>-<name>-<hex>/``), older than
  ``--older-than`` days, except the newest ``--keep``;
- the sandbox's throw-away secrets, ``<secrets folder>/sandbox/<stamp>-<pid>/`` (a folder per
  ``runbook`` process; ``run.kernels``). Only these: a real account's secret files are the
  user's, and nothing outside ``sandbox/`` is ever listed;
- the scratch folders of a ``make demo`` that was killed before its trap ran
  (``<tmp>/iam-runbooks-demo-*``).

A folder's age is that of the newest thing in it (a session still written to is young). A
symbolic link is never followed nor deleted.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from runbook_lib.core.errors import EXIT_FAILED, EXIT_OK, BadInput
from runbook_lib.core.i18n import N_, _

DEFAULT_OLDER_THAN = 30
DEFAULT_KEEP = 10
DAY = 86400.0
#: ``run.artifacts``' run and session folders: ``20261207T094532Z-02_create_access_key-1a2b``
RUN_FOLDER = re.compile(r"\d{8}T\d{6}Z-[\w.-]+-[0-9a-f]{4}")
#: ``run.kernels.SANDBOX_SESSION``: ``20261207T094532Z-12345``
SANDBOX_FOLDER = re.compile(r"\d{8}T\d{6}Z-\d+")
#: the Makefile's ``demo`` target: ``mktemp -d /tmp/iam-runbooks-demo-XXXXXX``
DEMO_FOLDER = re.compile(r"iam-runbooks-demo-[A-Za-z0-9]{6}")
RUNS, SANDBOX_SECRETS, DEMO = N_("run folder"), N_("sandbox secrets"), N_("demo scratch")


@dataclass(frozen=True)
class Litter:
    """One folder ``runbook clean`` would delete."""

    path: Path
    kind: str
    size: int
    age_days: float

    def line(self) -> str:
        """One line: the folder, its size and age, and what it is."""
        return (
            f"{self.path}/  {human_size(self.size)}  "
            + _("{days} days").format(days=int(self.age_days))
            + f"  ({_(self.kind)})"
        )


def human_size(size: int) -> str:
    """``size`` bytes as ``812 B``, ``4.0 KB``, ``12.3 MB``."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # pragma: no cover - the loop returns


def _measure(folder: Path) -> tuple[int, float]:
    """Total size of the files in ``folder`` and the newest modification time in it (links not
    followed)."""
    size, newest = 0, folder.lstat().st_mtime
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            try:
                info = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            newest = max(newest, info.st_mtime)
            if stat.S_ISREG(info.st_mode):
                size += info.st_size
    return size, newest


def _folders(parent: Path, pattern: re.Pattern[str]) -> Iterator[Path]:
    """The real folders (not links) in ``parent`` whose name is ``pattern``."""
    try:
        entries = sorted(parent.iterdir())
    except OSError:
        return
    for entry in entries:
        if pattern.fullmatch(entry.name) and not entry.is_symlink() and entry.is_dir():
            yield entry


def find_litter(
    output_dir: Path,
    *,
    older_than: float = DEFAULT_OLDER_THAN,
    keep: int = DEFAULT_KEEP,
    secrets_dir: Path | None = None,
    tmp_dir: Path | None = None,
    now: float | None = None,
) -> list[Litter]:
    """Everything ``runbook clean`` would delete, oldest kind first: run folders, sandbox
    secrets folders, demo scratch folders.

    Args:
        output_dir: the runs folder (``runs/``).
        older_than: only folders whose newest file is this many days old or older.
        keep: the newest this many run folders stay, whatever their age.
        secrets_dir: the secrets folder (default: ``core.secrets.default_secrets_dir()``);
            only its ``sandbox/`` sub-folder is looked at.
        tmp_dir: where ``make demo`` makes its scratch folder (default: the system's).
        now: the time ages count from (tests pass one).
    """
    from runbook_lib.core.secrets import default_secrets_dir

    now = time.time() if now is None else now
    secrets_dir = default_secrets_dir() if secrets_dir is None else secrets_dir
    tmp_dir = Path(tempfile.gettempdir()) if tmp_dir is None else tmp_dir
    found: list[Litter] = []

    def consider(folders: list[Path], kind: str, keep_newest: int = 0) -> None:
        measured = [(folder, *_measure(folder)) for folder in folders]
        measured.sort(key=lambda item: item[2], reverse=True)  # newest first
        for folder, size, newest in measured[keep_newest:]:
            age = (now - newest) / DAY
            if age >= older_than:
                found.append(Litter(folder, kind, size, age))

    consider(list(_folders(output_dir, RUN_FOLDER)), RUNS, keep)
    consider(list(_folders(secrets_dir / "sandbox", SANDBOX_FOLDER)), SANDBOX_SECRETS)
    consider(list(_folders(tmp_dir, DEMO_FOLDER)), DEMO)
    return found


def clean_options(cmd: argparse.ArgumentParser) -> None:
    """``runbook clean``'s options."""
    cmd.add_argument(
        "--yes", action="store_true", help="delete them (default: only list what would go)"
    )
    cmd.add_argument(
        "--older-than",
        type=float,
        default=DEFAULT_OLDER_THAN,
        metavar="DAYS",
        help=f"only folders untouched this many days (default: {DEFAULT_OLDER_THAN})",
    )
    cmd.add_argument(
        "--keep",
        type=int,
        default=DEFAULT_KEEP,
        metavar="N",
        help=f"keep the newest N run folders whatever their age (default: {DEFAULT_KEEP})",
    )
    cmd.add_argument("--output-dir", type=Path, default=Path("runs"), help="default: runs/")


def clean_command(args: argparse.Namespace) -> int:
    """List (or, with ``--yes``, delete) the litter; returns the exit code.

    Raises:
        BadInput: a negative ``--older-than`` or ``--keep``.
    """
    if args.older_than < 0:
        raise BadInput(
            _("--older-than {days} must be 0 or more days.").format(days=f"{args.older_than:g}")
        )
    if args.keep < 0:
        raise BadInput(_("--keep {count} must be 0 or more.").format(count=args.keep))
    litter = find_litter(args.output_dir, older_than=args.older_than, keep=args.keep)
    total = sum(item.size for item in litter)
    if not litter:
        print(_("Nothing to clean (older than {days} days).").format(days=f"{args.older_than:g}"))
        return EXIT_OK
    failed, freed = 0, 0
    for item in litter:
        if not args.yes:
            print(_("would delete {line}").format(line=item.line()))
            continue
        try:
            shutil.rmtree(item.path)
        except OSError as err:
            failed += 1
            print(
                _("not deleted {line}: {error}").format(
                    line=item.line(), error=err.strerror or type(err).__name__
                )
            )
            continue
        freed += item.size
        print(_("deleted {line}").format(line=item.line()))
    if not args.yes:
        print(
            _("{count} folders, {size}: run again with --yes to delete them.").format(
                count=len(litter), size=human_size(total)
            )
        )
        return EXIT_OK
    print(
        _("{count} folders deleted, {size} freed.").format(
            count=len(litter) - failed, size=human_size(freed)
        )
    )
    return EXIT_FAILED if failed else EXIT_OK
