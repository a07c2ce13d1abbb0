"""The parameter checks read each notebook's ``parameters`` cell without papermill: they must
read what papermill reads (names, declared types, defaults, help), for every notebook."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from papermill.inspection import inspect_notebook

from runbook_lib.run.notebooks import notebook_parameters

ROOT = Path(__file__).resolve().parents[2]
BOOKS = sorted(
    p
    for folder in ("notebooks", "tests/fixtures")
    for p in (ROOT / folder).rglob("*.ipynb")
    if ".ipynb_checkpoints" not in p.parts
)


@pytest.mark.parametrize("book", BOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_same_parameters_as_papermill(book: Path) -> None:
    assert notebook_parameters(book) == inspect_notebook(str(book))


def test_multiline_values_and_skipped_lines_as_papermill(tmp_path: Path) -> None:
    source = (
        "# a comment\n"
        'users: list = [  # not the help\n  "a",\n  "b",\n]  # the users\n'
        "x = y = 1\n"
        "n: int = 3\n"
        "flag = True  # type: bool\n"
    )
    book = tmp_path / "book.ipynb"
    book.write_text(
        '{"cells": [{"cell_type": "code", "execution_count": null, "id": "p", '
        '"metadata": {"tags": ["parameters"]}, "outputs": [], "source": '
        + json.dumps(source)
        + '}], "metadata": {"kernelspec": {"name": "python3", "language": "python", '
        '"display_name": "P"}}, "nbformat": 4, "nbformat_minor": 5}'
    )

    assert notebook_parameters(book) == inspect_notebook(str(book))
    assert set(notebook_parameters(book)) == {"users", "n", "flag"}
