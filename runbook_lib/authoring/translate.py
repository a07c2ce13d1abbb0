"""Generate ``notebooks/ko/`` from the English notebooks and the translation catalog.

One source of truth for code: a Korean notebook is its English notebook with each markdown cell
replaced by the catalog's Korean text for that cell ID (``notebooks/ko/catalog.yaml``), and the
``language`` parameter's default set to ``"ko"``. Code cells are copied as they are. Outputs of
a code cell whose source did not change are kept from the committed Korean notebook (they come
from ``runbook refresh``, on the sandbox); a changed cell's outputs are dropped until the next
refresh.

Every catalog entry stores ``en_sha256``, a hash of the English cell it translates: when the
English text changes, generation stops and names the entries to re-translate (``--stamp`` fills
the hash of entries that have none yet: new translations only).

``python -m runbook_lib.authoring.translate`` (``make translate``); ``--check`` writes nothing
and fails when a committed Korean notebook differs from what would be generated. The notebooks
are those of ``notebooks_dir()`` (``$RUNBOOK_NOTEBOOKS`` or the project's ``notebooks/``), or of
``--notebooks DIR``.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from runbook_lib.core.errors import BadInput, RunbookError
from runbook_lib.run.notebooks import all_notebooks, notebooks_dir

#: the one line a Korean code cell may differ in: the parameters cell's language default
LANGUAGE_LINE = re.compile(r'^(language: str = )"en"(.*)$', re.MULTILINE)


def cell_hash(source: str) -> str:
    """The first 16 hex digits of the SHA-256 of a cell's source (the catalog's ``en_sha256``)."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def korean_code(source: str) -> str:
    """An English code cell as the Korean notebook has it (only ``language`` differs)."""
    return LANGUAGE_LINE.sub(r'\1"ko"\2', source)


@dataclass(frozen=True)
class Problem:
    """A catalog entry that does not match the English notebook."""

    notebook: str
    cell_id: str
    what: str

    def __str__(self) -> str:
        return f"{self.notebook} cell {self.cell_id}: {self.what}"


def catalog_path(folder: Path | None = None) -> Path:
    """The translation catalog of a notebooks folder (default ``notebooks_dir()``):
    ``notebooks/ko/catalog.yaml``."""
    return (folder or notebooks_dir()) / "ko" / "catalog.yaml"


def load_catalog(path: Path | None = None) -> dict[str, dict[str, dict[str, str]]]:
    """The catalog (default ``catalog_path()``): notebook stem -> cell ID -> ``{"ko": ...,
    "en_sha256": ...}``."""
    path = path or catalog_path()
    data = yaml.safe_load(path.read_text("utf-8")) or {}
    if not isinstance(data, dict):
        raise BadInput(f"{path}: expected a mapping of notebook -> cell ID -> entry.")
    return data


def problems(nb: Any, stem: str, entries: Mapping[str, Mapping[str, str]]) -> list[Problem]:
    """What keeps ``nb`` (an English notebook) from being translated with ``entries``."""
    found: list[Problem] = []
    markdown = {c.id: c.source for c in nb.cells if c.cell_type == "markdown"}
    for cell_id, source in markdown.items():
        entry = entries.get(cell_id)
        if not entry or not str(entry.get("ko", "")).strip():
            found.append(Problem(stem, cell_id, "no Korean translation in the catalog"))
        elif entry.get("en_sha256") != cell_hash(source):
            found.append(Problem(stem, cell_id, "the English cell changed since it was translated"))
    for cell_id in entries:
        if cell_id not in markdown:
            found.append(Problem(stem, cell_id, "the catalog has an entry for no markdown cell"))
    return found


def translate(nb: Any, entries: Mapping[str, Mapping[str, str]], previous: Any = None) -> Any:
    """The Korean notebook of ``nb``: Korean markdown, the same code (outputs from ``previous``
    for each code cell whose source is unchanged)."""
    ko = copy.deepcopy(nb)
    ko.metadata["language_info"] = nb.metadata.get("language_info", {})
    kept = {c.id: c for c in previous.cells if c.cell_type == "code"} if previous else {}
    for cell in ko.cells:
        if cell.cell_type == "markdown":
            cell.source = entries[cell.id]["ko"]
            continue
        if cell.cell_type != "code":
            continue
        cell.source = korean_code(cell.source)
        old = kept.get(cell.id)
        if old is not None and old.source == cell.source:
            cell.outputs, cell.execution_count = old.outputs, old.execution_count
        else:
            cell.outputs, cell.execution_count = [], None
    return ko


def generate(folder: Path | None = None, *, check: bool = False, stamp: bool = False) -> list[Path]:
    """Write (or with ``check``, compare) every Korean notebook of ``folder`` (the English
    notebooks; default ``notebooks_dir()``) into ``folder/ko``.

    Returns:
        The Korean notebooks written (``check``: the ones that differ).

    Raises:
        RunbookError: a markdown cell has no translation or its English text changed.
    """
    import nbformat

    en_dir = folder or notebooks_dir()
    ko_dir = en_dir / "ko"
    catalog = load_catalog(catalog_path(en_dir))
    if stamp:
        _stamp(catalog, en_dir)
    found: list[Problem] = []
    pairs: list[tuple[Path, Any, str]] = []
    for path in all_notebooks(en_dir):
        nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
        entries = catalog.get(path.stem, {})
        found += problems(nb, path.stem, entries)
        pairs.append((path, nb, path.stem))
    if found:
        raise RunbookError(
            f"{len(found)} translation(s) missing or out of date: "
            + "; ".join(map(str, found))
            + f". Translate them in {catalog_path(en_dir).relative_to(en_dir.parent)}"
            + " (new entries: --stamp)."
        )
    changed: list[Path] = []
    for path, nb, stem in pairs:
        target = ko_dir / path.name
        previous = nbformat.read(target, as_version=4) if target.exists() else None  # type: ignore[no-untyped-call]
        text = nbformat.writes(translate(nb, catalog[stem], previous)) + "\n"  # type: ignore[no-untyped-call]
        if target.exists() and target.read_text("utf-8") == text:
            continue
        changed.append(target)
        if not check:
            target.write_text(text, encoding="utf-8")
    return changed


def _stamp(catalog: dict[str, dict[str, dict[str, str]]], en_dir: Path) -> None:
    """Fill ``en_sha256`` of entries that have none (a new translation of the current text)."""
    import nbformat

    for stem, entries in catalog.items():
        nb = nbformat.read(en_dir / f"{stem}.ipynb", as_version=4)  # type: ignore[no-untyped-call]
        sources = {c.id: c.source for c in nb.cells}
        for cell_id, entry in entries.items():
            if "en_sha256" not in entry and cell_id in sources:
                entries[cell_id] = {"en_sha256": cell_hash(sources[cell_id]), **entry}
    path = catalog_path(en_dir)
    text = path.read_text("utf-8")
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    body = yaml.dump(catalog, Dumper=_BlockDumper, allow_unicode=True, sort_keys=False, width=100)
    path.write_text(header + body, encoding="utf-8")


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings as ``|-`` blocks: the catalog stays readable and diffable."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="translate", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; fail on a difference")
    parser.add_argument("--stamp", action="store_true", help="hash new catalog entries first")
    parser.add_argument(
        "--notebooks",
        type=Path,
        metavar="DIR",
        help="the English notebooks (default: $RUNBOOK_NOTEBOOKS or the project's notebooks/)",
    )
    args = parser.parse_args(argv)
    folder = args.notebooks or notebooks_dir()
    try:
        changed = generate(folder, check=args.check, stamp=args.stamp)
    except RunbookError as err:
        print(err, file=sys.stderr)
        return err.exit_code
    for path in changed:
        print(("differs: " if args.check else "wrote ") + str(path.relative_to(folder.parent)))
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
