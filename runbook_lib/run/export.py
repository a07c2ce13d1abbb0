"""The run's HTML export: nbconvert's lab template, made ready while the kernel runs.

A fan-out can leave it out of every account's run (``html_per_run(False)``): the executed
notebook and ``run.json`` are the record, the HTML is made on demand (``export_html``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

#: whether a run in this context (thread) makes its HTML export
_HTML: ContextVar[bool] = ContextVar("runbook_html_export", default=True)


@contextlib.contextmanager
def html_per_run(enabled: bool) -> Iterator[None]:
    """Runs of this context (this thread) make their HTML export, or not (a fan-out's choice)."""
    token = _HTML.set(enabled)
    try:
        yield
    finally:
        _HTML.reset(token)


class HtmlExporter:
    """nbconvert's HTML exporter, made ready in a thread while the kernel runs the notebook.

    Importing nbconvert and its first export (templates, CSS, pygments) cost ≈ 0.8 s; the
    runner only waits for the kernel meanwhile, so that cost leaves the critical path.
    """

    _shared: Any = None
    _shared_lock = threading.Lock()

    def __init__(self) -> None:
        #: ``False`` in a fan-out's account run that leaves the export out (``html_per_run``)
        self.enabled = _HTML.get()
        self._exporter: Any = HtmlExporter._shared
        self._thread = threading.Thread(target=self._prepare, daemon=True, name="html-warm-up")
        if self.enabled and self._exporter is None:
            self._thread.start()

    def _prepare(self) -> None:
        import nbformat
        from nbconvert import HTMLExporter

        exporter = HTMLExporter()  # type: ignore[no-untyped-call]
        exporter.from_notebook_node(nbformat.v4.new_notebook())  # type: ignore[no-untyped-call]
        self._exporter = exporter
        HtmlExporter._shared = exporter  # the next run's export starts warm

    def export(self, notebook: Path, target: Path) -> None:
        """Write ``notebook`` as HTML to ``target`` (an existing file keeps its mode)."""
        import nbformat

        if self._thread.ident is not None:
            self._thread.join()
        if self._exporter is None:  # the warm-up failed: export the slow way, errors and all
            self._prepare()
        node = nbformat.read(notebook, as_version=4)  # type: ignore[no-untyped-call]
        with HtmlExporter._shared_lock:  # one exporter for the process: one export at a time
            body, _ = self._exporter.from_notebook_node(node)
        target.write_text(body, encoding="utf-8")


def export_html(notebook: Path, target: Path) -> None:
    """Write an executed notebook as the run's HTML export (nbconvert's lab template)."""
    HtmlExporter().export(notebook, target)
