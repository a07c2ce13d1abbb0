"""``--lang`` on ``lab``, ``app`` and ``docs``: Korean working copies, and both sites built."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runbook_lib.core import environ, i18n
from runbook_lib.interfaces import apps
from runbook_lib.interfaces.cli import main

ROOT = Path(__file__).resolve().parents[2]


class _Server:
    """Stands in for ``apps.run_server``: keeps the command and environment."""

    def __init__(self) -> None:
        self.cmd: list[str] = []
        self.env: dict[str, str] = {}

    def __call__(self, cmd: list[str], env: Any, url: str) -> int:
        self.cmd, self.env = cmd, dict(env)
        return 0


@pytest.fixture(autouse=True)
def _english_afterwards() -> Iterator[None]:
    yield
    i18n.set_language(None)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> _Server:
    fake = _Server()
    monkeypatch.setattr(apps, "run_server", fake)
    return fake


def _markdown(book: Path) -> str:
    import nbformat

    nb = nbformat.read(book, as_version=4)  # type: ignore[no-untyped-call]
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_lab_in_korean_serves_the_korean_notebooks_with_language_ko(
    tmp_path: Path, server: _Server
) -> None:
    runs = tmp_path / "runs"
    argv = ["lab", "--lang", "ko", "--no-browser", "--port", str(apps.free_port())]
    assert main([*argv, "--output-dir", str(runs)]) == 0
    (session,) = runs.iterdir()
    copies = sorted(session.glob("*.ipynb"))
    committed = sorted((ROOT / "notebooks" / "ko").glob("[0-9][0-9]_*.ipynb"))
    assert [p.name for p in copies] == [p.name for p in committed]
    assert "루트 사용자" in _markdown(session / "00_check_root_usage.ipynb")
    injected = (session / "03_enable_virtual_mfa.ipynb").read_text("utf-8")
    assert 'language = \\"ko\\"' in injected
    assert server.env[environ.LANG] == "ko"


def test_app_in_korean_serves_the_korean_notebook(tmp_path: Path, server: _Server) -> None:
    runs = tmp_path / "runs"
    argv = ["app", "03", "--lang", "ko", "--no-browser", "--port", str(apps.free_port())]
    assert main([*argv, "--output-dir", str(runs)]) == 0
    (session,) = runs.iterdir()
    served = Path(server.cmd[3])
    assert served == (session / "03_enable_virtual_mfa.ipynb").resolve()
    assert "MFA 디바이스 할당" in _markdown(served)


def test_lab_without_lang_serves_the_english_notebooks(tmp_path: Path, server: _Server) -> None:
    runs = tmp_path / "runs"
    argv = ["lab", "--no-browser", "--port", str(apps.free_port())]
    assert main([*argv, "--output-dir", str(runs)]) == 0
    (session,) = runs.iterdir()
    assert "Stop using the root user" in _markdown(session / "00_check_root_usage.ipynb")
    assert environ.LANG not in server.env or server.env[environ.LANG] != "ko"


def test_an_unknown_language_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["lab", "--lang", "fr", "--no-browser"])
    assert stop.value.code == 2
    assert "--lang" in capsys.readouterr().err


def test_docs_builds_both_languages_and_lang_picks_the_index_to_open(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    assert main(["docs", "--lang", "ko", "--output-dir", str(site)]) == 0
    assert (site / "index.html").is_file() and (site / "ko" / "index.html").is_file()
    assert capsys.readouterr().out.splitlines()[-1] == f"open: {site / 'ko'}/index.html"
