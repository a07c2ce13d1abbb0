"""The course: the committed notebooks rendered to a static site that reads offline.

``build_site()`` writes ``index.html`` (the runbooks in procedure order: title, overview, link)
and one page per notebook with its committed live outputs. Pages load nothing from the network:
the CSS is inlined and the CDN scripts nbconvert's ``lab`` template adds (require.js, MathJax,
Mermaid, the widget renderer) are left out. A notebook holding widget state or papermill
metadata, or a page with anything secret-shaped in it, stops the build.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook_lib.core.errors import BadInput, SecretLeak
from runbook_lib.run.notebooks import all_notebooks

#: nbconvert's lab template without the blocks that fetch scripts from a CDN
_PAGE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block body_header -%}
{{ super() }}
{{ resources.runbook_nav }}
{%- endblock body_header -%}
{% block body_footer %}
{{ resources.runbook_nav }}
{{ super() }}
{% endblock body_footer %}
"""

#: text that looks like a secret whatever its value (narrow on purpose: fingerprints pass)
SECRET_SHAPES = {
    "otpauth URI with its seed": re.compile(r"otpauth://[^\s\"'<]*secret=", re.IGNORECASE),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "secret access key": re.compile(
        r"(?i)secret[_ ]access[_ ]key\W{1,5}(?-i:[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
    ),
    "password value": re.compile(r"(?i)\bpassword\s*[:=]\s*['\"][^'\"\s]{8,}['\"]"),
}

_NAV_STYLE = (
    "display:flex;gap:2em;padding:0.6em 1em;margin:0 0 1em;border-bottom:1px solid #ccc;"
    "font-family:sans-serif;font-size:0.95em"
)


@dataclass(frozen=True)
class Page:
    """One rendered runbook."""

    stem: str
    title: str
    overview: str
    path: Path

    def __repr__(self) -> str:
        return f"{self.path.name}: {self.title}"


def secret_shapes(text: str) -> list[str]:
    """The kinds of secret-shaped text found in ``text`` (never the text itself)."""
    return [kind for kind, pattern in SECRET_SHAPES.items() if pattern.search(text)]


def title_and_overview(nb: Any) -> tuple[str, str]:
    """The notebook's ``# Title`` and the paragraph after it (markdown), from its first cell."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.strip().splitlines()
        if not lines or not lines[0].startswith("# "):
            break
        title = lines[0][2:].strip()
        paragraph: list[str] = []
        for line in lines[1:]:
            if line.strip():
                paragraph.append(line.strip())
            elif paragraph:
                break
        return title, " ".join(paragraph)
    return "", ""


def _check_clean(nb: Any, path: Path) -> None:
    found = [key for key in ("widgets", "papermill") if key in nb.metadata]
    if found:
        raise BadInput(
            f"{path.name} holds {' and '.join(found)} metadata: refresh the committed notebooks "
            "(make refresh) before building the course."
        )


def _nav(index: int, pages: list[tuple[str, str]]) -> str:
    links = ["<a href='index.html'>Course index</a>"]
    if index > 0:
        stem, title = pages[index - 1]
        links.append(f"<a href='{stem}.html'>← {html.escape(title)}</a>")
    if index + 1 < len(pages):
        stem, title = pages[index + 1]
        links.append(f"<a href='{stem}.html'>{html.escape(title)} →</a>")
    return f"<nav class='runbook-nav' style='{_NAV_STYLE}'>{''.join(links)}</nav>"


def _exporter() -> Any:
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(  # type: ignore[no-untyped-call]
        template_name="lab",
        extra_loaders=[DictLoader({"runbook_page.html.j2": _PAGE_TEMPLATE})],
    )
    exporter.template_file = "runbook_page.html.j2"
    return exporter


def _index_html(pages: list[Page]) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    items = "\n".join(
        f"<li><h2><a href='{p.path.name}'>{html.escape(p.title)}</a></h2>"
        f"{markdown2html_mistune(p.overview)}</li>"
        for p in pages
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>iam-runbooks — the course</title>
<style>
body {{ font-family: sans-serif; max-width: 50em; margin: 2em auto; padding: 0 1em;
       line-height: 1.5; color: #222; }}
ol {{ padding-left: 1.2em; }} li {{ margin-bottom: 1.2em; }} h2 {{ margin-bottom: 0.2em; }}
code {{ background: #f3f3f3; padding: 0 0.2em; }}
</style></head>
<body>
<h1>iam-runbooks — the course</h1>
<p>The runbooks in the order of the procedure. Each page is the notebook with the output of a
run on the sandbox (an embedded moto server: no real account). Run them yourself with
<code>runbook lab</code>, or one as an app with <code>runbook app NAME</code>.</p>
<ol class="runbook-index">
{items}
</ol>
</body></html>
"""


def build_site(output_dir: Path, notebooks: list[Path] | None = None) -> list[Page]:
    """Render the runbooks to ``output_dir``: ``index.html`` plus one page per notebook.

    Args:
        output_dir: the site folder (created; pages in it are replaced).
        notebooks: the notebooks in procedure order (default: ``notebooks/NN_*.ipynb``).

    Returns:
        The pages, in order.

    Raises:
        BadInput: no notebooks, or a notebook holds widget state or papermill metadata.
        SecretLeak: a rendered page holds secret-shaped text (nothing is written for it).
    """
    import nbformat

    books = all_notebooks() if notebooks is None else notebooks
    if not books:
        raise BadInput("No runbook notebooks found: run from the project folder.")
    loaded = [(book, nbformat.read(book, as_version=4)) for book in books]  # type: ignore[no-untyped-call]
    heads = []
    for book, nb in loaded:
        _check_clean(nb, book)
        title, overview = title_and_overview(nb)
        heads.append((book.stem, title or book.stem, overview))
    output_dir.mkdir(parents=True, exist_ok=True)
    exporter = _exporter()
    links = [(stem, title) for stem, title, _ in heads]
    pages: list[Page] = []
    for i, ((book, nb), (stem, title, overview)) in enumerate(zip(loaded, heads, strict=True)):
        resources = {"metadata": {"name": title}, "runbook_nav": _nav(i, links)}
        body, _ = exporter.from_notebook_node(nb, resources=resources)
        shapes = secret_shapes(body)
        if shapes:
            raise SecretLeak(
                f"{book.name} renders {', '.join(shapes)}: remove it from the committed "
                "notebook (make refresh) before building the course."
            )
        path = output_dir / f"{stem}.html"
        path.write_text(body, encoding="utf-8")
        pages.append(Page(stem, title, overview, path))
    (output_dir / "index.html").write_text(_index_html(pages), encoding="utf-8")
    return pages
