"""The Korean notebooks (notebooks/ko/): generated from the English ones plus the catalog.

One source of truth for code: every Korean code cell is its English cell (only the ``language``
parameter's default differs), every markdown cell has a Korean translation of the English text
as it is now (the catalog stores a hash of the English cell), and the committed Korean notebooks
are exactly what ``make translate`` writes. Step headings use the Korean console's labels.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml

from runbook_lib.authoring import translate

ROOT = Path(__file__).resolve().parents[2]
EN = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
GLOSSARY = yaml.safe_load((ROOT / "docs" / "ko" / "glossary.yaml").read_text("utf-8"))


def _read(path: Path) -> Any:
    return nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]


def _ko(path: Path) -> Path:
    return ROOT / "notebooks" / "ko" / path.name


def test_there_are_eight_english_notebooks_and_a_korean_one_for_each() -> None:
    assert len(EN) == 8
    assert sorted(p.name for p in (ROOT / "notebooks" / "ko").glob("*.ipynb")) == [
        p.name for p in EN
    ]


@pytest.mark.parametrize("path", EN, ids=lambda p: p.stem)
def test_korean_cells_are_the_english_cells_in_the_same_order(path: Path) -> None:
    en, ko = _read(path), _read(_ko(path))
    assert [(c.id, c.cell_type) for c in ko.cells] == [(c.id, c.cell_type) for c in en.cells]
    assert ko.metadata.get("kernelspec") == en.metadata.get("kernelspec")


@pytest.mark.parametrize("path", EN, ids=lambda p: p.stem)
def test_korean_code_cells_are_the_english_code_cells(path: Path) -> None:
    en = {c.id: c for c in _read(path).cells if c.cell_type == "code"}
    for cell in _read(_ko(path)).cells:
        if cell.cell_type != "code":
            continue
        english = en[cell.id]
        assert cell.source == translate.korean_code(english.source), (
            f"{path.stem} cell {cell.id}: the Korean code differs from the English code; "
            "edit the English notebook and run 'make translate'"
        )
        assert cell.metadata.get("tags") == english.metadata.get("tags")


@pytest.mark.parametrize("path", EN, ids=lambda p: p.stem)
def test_every_markdown_cell_has_a_current_korean_translation(path: Path) -> None:
    entries = translate.load_catalog().get(path.stem, {})
    problems = translate.problems(_read(path), path.stem, entries)
    assert not problems, "; ".join(map(str, problems))
    ko = {c.id: c.source for c in _read(_ko(path)).cells if c.cell_type == "markdown"}
    for cell_id, text in ko.items():
        assert text == entries[cell_id]["ko"]
        assert re.search(r"[\uac00-\ud7a3]", text), f"{cell_id} has no Hangul"


def test_committed_korean_notebooks_are_what_make_translate_writes() -> None:
    assert translate.generate(check=True) == [], "run 'make translate' and commit notebooks/ko/"


def test_a_changed_english_cell_is_named_for_re_translation() -> None:
    path = EN[1]
    nb = _read(path)
    (first,) = [c for c in nb.cells if c.cell_type == "markdown"][:1]
    first.source += "\nA sentence added later."
    nb.cells.append(nbformat.v4.new_markdown_cell("## New step", id="new-cell"))  # type: ignore[no-untyped-call]
    problems = [
        str(p) for p in translate.problems(nb, path.stem, translate.load_catalog()[path.stem])
    ]
    assert (
        f"{path.stem} cell {first.id}: the English cell changed since it was translated" in problems
    )
    assert f"{path.stem} cell new-cell: no Korean translation in the catalog" in problems


def test_only_the_language_default_may_differ_in_code() -> None:
    source = 'plan: bool = False  # p\nlanguage: str = "en"  # en | ko\nuser_name: str = "en"'
    assert translate.korean_code(source) == source.replace(
        'language: str = "en"', 'language: str = "ko"'
    )


def _language_default(path: Path) -> str | None:
    (cell,) = [c for c in _read(path).cells if "parameters" in c.metadata.get("tags", [])]
    found = re.search(r'^language: str = "(\w+)"', cell.source, re.MULTILINE)
    return found.group(1) if found else None


@pytest.mark.parametrize("path", EN, ids=lambda p: p.stem)
def test_every_notebook_declares_its_language(path: Path) -> None:
    assert _language_default(path) == "en"
    assert _language_default(_ko(path)) == "ko"


@pytest.mark.parametrize("stem, labels", sorted(GLOSSARY["console_labels"].items()))
def test_step_headings_use_the_korean_consoles_labels(stem: str, labels: list[str]) -> None:
    headings = "\n".join(
        line
        for cell in _read(ROOT / "notebooks" / "ko" / f"{stem}.ipynb").cells
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if line.startswith("## ")
    )
    missing = [label for label in labels if label not in headings]
    assert not missing, f"{stem}: no step heading says {missing}"


def _copy_notebooks(tmp_path: Path) -> Path:
    """The English notebooks, the Korean ones and the catalog, in ``tmp_path/notebooks``."""
    folder = tmp_path / "notebooks"
    (folder / "ko").mkdir(parents=True)
    for path in EN:
        (folder / path.name).write_bytes(path.read_bytes())
        (folder / "ko" / path.name).write_bytes(_ko(path).read_bytes())
    catalog = ROOT / "notebooks" / "ko" / "catalog.yaml"
    (folder / "ko" / "catalog.yaml").write_bytes(catalog.read_bytes())
    return folder


def test_translate_works_on_the_notebooks_folder_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _copy_notebooks(tmp_path)
    monkeypatch.setenv("RUNBOOK_NOTEBOOKS", str(folder))
    assert translate.generate(check=True) == []
    nb = _read(folder / EN[0].name)
    nb.metadata["runbook"] = {"section": "S0"}
    nbformat.write(nb, folder / EN[0].name)  # type: ignore[no-untyped-call]
    monkeypatch.delenv("RUNBOOK_NOTEBOOKS")
    assert translate.main(["--notebooks", str(folder)]) == 0
    assert capsys.readouterr().out == f"wrote notebooks/ko/{EN[0].name}\n"
    assert _read(folder / "ko" / EN[0].name).metadata["runbook"] == {"section": "S0"}
    project = _read(_ko(EN[0])).metadata["runbook"]
    assert project == _read(EN[0]).metadata["runbook"] != {"section": "S0"}, "project untouched"


def test_the_korean_notebook_carries_the_english_notebook_metadata() -> None:
    nb = _read(EN[0])
    nb.metadata["runbook"] = {"section": "S0"}
    entries = translate.load_catalog()[EN[0].stem]
    assert translate.translate(nb, entries).metadata == nb.metadata
