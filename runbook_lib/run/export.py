"""The run's HTML export: nbconvert's lab template, made ready while the kernel runs."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any


class HtmlExporter:
    """nbconvert's HTML exporter, made ready in a thread while the kernel runs the notebook.

    Importing nbconvert and its first export (templates, CSS, pygments) cost ≈ 0.8 s; the
    runner only waits for the kernel meanwhile, so that cost leaves the critical path.
    """

    def __init__(self) -> None:
        self._exporter: Any = None
        self._thread = threading.Thread(target=self._prepare, daemon=True, name="html-warm-up")
        self._thread.start()

    def _prepare(self) -> None:
        import nbformat
        from nbconvert import HTMLExporter

        exporter = HTMLExporter()  # type: ignore[no-untyped-call]
        exporter.from_notebook_node(nbformat.v4.new_notebook())  # type: ignore[no-untyped-call]
        self._exporter = exporter

    def export(self, notebook: Path, target: Path) -> None:
        """Write ``notebook`` as HTML to ``target`` (an existing file keeps its mode)."""
        import nbformat

        self._thread.join()
        if self._exporter is None:  # the warm-up failed: export the slow way, errors and all
            self._prepare()
        node = nbformat.read(notebook, as_version=4)  # type: ignore[no-untyped-call]
        body, _ = self._exporter.from_notebook_node(node)
        target.write_text(body, encoding="utf-8")


def export_html(notebook: Path, target: Path) -> None:
    """Write an executed notebook as the run's HTML export (nbconvert's lab template)."""
    HtmlExporter().export(notebook, target)
