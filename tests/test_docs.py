"""The HTML course: an index in procedure order, one page per notebook, nothing from a CDN."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from support.aws import ACCOUNT

from runbook_lib.core.errors import BadInput, SecretLeak
from runbook_lib.interfaces.cli import main
from runbook_lib.interfaces.docs import build_site
from runbook_lib.run.notebooks import all_notebooks

FIXTURE = Path(__file__).parent / "browser" / "notebooks" / "widgets_fixture.ipynb"


def _book(folder: Path, stem: str, title: str, outputs: list | None = None, **meta) -> Path:
    nb = new_notebook()
    nb.metadata.update(meta)
    nb.cells.append(new_markdown_cell(f"# {title}\n\nWhat it does,\nin two lines.\n\nMore."))
    cell = new_code_cell("report", execution_count=1)
    cell.outputs = outputs or [
        new_output("execute_result", {"text/plain": f"{stem} OK"}, execution_count=1)
    ]
    nb.cells.append(cell)
    path = folder / f"{stem}.ipynb"
    nbformat.write(nb, path)
    return path


def test_index_lists_the_runbooks_in_procedure_order_with_their_overview(tmp_path: Path) -> None:
    books = [_book(tmp_path, "00_first", "S0 — First"), _book(tmp_path, "01_second", "S1 — Two")]
    pages = build_site(tmp_path / "site", books)
    index = (tmp_path / "site" / "index.html").read_text()
    assert [p.path.name for p in pages] == ["00_first.html", "01_second.html"]
    assert re.findall(r"href='(\d\d_\w+\.html)'", index) == ["00_first.html", "01_second.html"]
    assert "S0 — First" in index and "What it does, in two lines." in index
    assert "More." not in index
    second = (tmp_path / "site" / "01_second.html").read_text()
    assert "01_second OK" in second, "the page shows the committed output"
    assert "href='00_first.html'" in second.replace('"', "'"), "the page links back"


def test_pages_load_nothing_from_the_network(tmp_path: Path) -> None:
    build_site(tmp_path / "site", [*all_notebooks(), FIXTURE])
    for page in (tmp_path / "site").glob("*.html"):
        text = page.read_text()
        loads = re.findall(r"<(?:script|link|img|iframe)\b[^>]*(?:src|href)=['\"]([^'\"]+)", text)
        remote = [u for u in loads if re.match(r"(https?:)?//", u)]
        assert not remote, f"{page.name} loads {remote}"
        assert "@import url(http" not in text


def test_notebook_with_widget_state_is_refused(tmp_path: Path) -> None:
    book = _book(tmp_path, "00_x", "X", widgets={"application/vnd.jupyter.widget-state+json": {}})
    with pytest.raises(BadInput, match="widgets metadata: refresh"):
        build_site(tmp_path / "site", [book])
    assert not (tmp_path / "site" / "index.html").exists()


def test_secret_shaped_output_stops_the_build_without_saying_it(tmp_path: Path) -> None:
    uri = f"otpauth://totp/Admin@{ACCOUNT}?secret=JBSWY3DPEHPK3PXPJBSWY3DP"
    out = new_output("stream", name="stdout", text=uri)
    book = _book(tmp_path, "03_mfa", "S3", outputs=[out])
    with pytest.raises(SecretLeak) as err:
        build_site(tmp_path / "site", [book])
    assert "otpauth URI" in str(err.value) and "JBSWY3" not in str(err.value)
    assert not (tmp_path / "site" / "03_mfa.html").exists()


def test_fingerprints_and_masked_widgets_are_not_secret_shaped(tmp_path: Path) -> None:
    text = "Console password of x: Secret(password sha256:0123456789ab) (shown once…)"
    out = new_output("execute_result", {"text/plain": text}, execution_count=1)
    build_site(tmp_path / "site", [_book(tmp_path, "02_keys", "S2", outputs=[out])])


def test_runbook_docs_writes_the_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs", "--output-dir", str(tmp_path / "site")]) == 0
    names = sorted(p.name for p in (tmp_path / "site").iterdir())
    assert names == sorted(["index.html", *(f"{b.stem}.html" for b in all_notebooks())])
    assert "index.html" in capsys.readouterr().out


def test_runbook_docs_with_no_notebooks_is_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RUNBOOK_NOTEBOOKS", str(tmp_path))
    assert main(["docs", "--output-dir", str(tmp_path / "site")]) == 2
    assert "No runbook notebooks" in capsys.readouterr().err
    shutil.rmtree(tmp_path / "site", ignore_errors=True)
