"""The course: the committed notebooks rendered to a static site that reads offline.

``build_site()`` writes ``index.html`` (the course's own pages, then the runbooks in the order
``runbook run --all`` runs them: title, overview, link; then the end-state diagram),
``glossary.html``, the course's own pages (set-up, agenda, trainer notes, troubleshooting,
real AWS vs the sandbox) and one page per notebook with its committed live outputs, opened by
its learning objectives, why the step matters and, where the headless output cannot show a
live widget, its masked screenshot (``images/``), and an exercise with a checkpoint. The
texts are data (``course.py``); the course's own HTML is in ``course_html.py``. Pages load
nothing from the network: the CSS is inlined and the CDN scripts nbconvert's ``lab`` template
adds (require.js, MathJax, Mermaid, the widget renderer) are left out. A notebook holding
widget state or papermill metadata or lacking its "why" text, a page with anything secret-
shaped or a temporary path in it, or a screenshot with a readable code stops the build.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook_lib.authoring.course import (
    COURSE_DIR,
    Course,
    check_screenshot,
    load_course,
    neutral_paths,
    temp_paths,
)
from runbook_lib.authoring.course_html import (
    PATH_NOTE_SLOT,
    Counterpart,
    course_page,
    glossary_page,
    index_page,
    nav,
    path_note,
    why_block,
)
from runbook_lib.core.errors import BadInput, SecretLeak
from runbook_lib.run.notebooks import all_notebooks, notebooks_dir, run_order

#: nbconvert's lab template without the blocks that fetch scripts from a CDN
_PAGE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block body_header -%}
{{ super() }}
{{ resources.runbook_nav }}
{{ resources.runbook_why }}
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


def _exporter(lang: str) -> Any:
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(  # type: ignore[no-untyped-call]
        template_name="lab",
        extra_loaders=[DictLoader({"runbook_page.html.j2": _PAGE_TEMPLATE})],
    )
    exporter.template_file = "runbook_page.html.j2"
    exporter.language_code = lang  # <html lang>: a Korean page is Korean to a screen reader
    return exporter


def _read(books: list[Path]) -> list[tuple[Path, Any, str, str]]:
    import nbformat

    loaded = []
    for book in books:
        nb = nbformat.read(book, as_version=4)  # type: ignore[no-untyped-call]
        _check_clean(nb, book)
        title, overview = title_and_overview(nb)
        loaded.append((book, nb, title or book.stem, overview))
    return loaded


def _render(exporter: Any, nb: Any, book: Path, resources: dict[str, Any], course: Course) -> str:
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    neutral = neutral_paths(body)
    body = neutral.replace(PATH_NOTE_SLOT, path_note(course) if neutral != body else "")
    shapes = secret_shapes(body)
    if shapes:
        raise SecretLeak(
            f"{book.name} renders {', '.join(shapes)}: remove it from the committed "
            "notebook (make refresh) before building the course."
        )
    left = temp_paths(body)
    if left:
        raise BadInput(
            f"{book.name} shows a temporary path ({left[0]}): re-run the notebook with its "
            "files outside the temporary folder (make refresh) before building the course."
        )
    return str(body)


def _course_order(books: list[Path]) -> list[Path]:
    """The runbooks in the order ``runbook run --all`` runs them; other notebooks (a page made
    of a test notebook) as given."""
    numbered = all(re.match(r"\d\d_", book.stem) for book in books)
    return run_order(books) if numbered else list(books)


def build_site(
    output_dir: Path,
    notebooks: list[Path] | None = None,
    *,
    lang: str = "en",
    course_dir: Path | None = None,
    other: Counterpart | None = None,
) -> list[Page]:
    """Render the course to ``output_dir``: ``index.html`` (the runbooks and the end-state
    diagram), ``glossary.html``, one page per notebook and the screenshots in ``images/``.

    Args:
        output_dir: the site folder (created; pages in it are replaced).
        notebooks: the notebooks (default: ``notebooks/NN_*.ipynb``), shown in the order
            ``runbook run --all`` runs them (00, 04, 01, 02, 03, then the others).
        lang: the language of the course's texts (``docs/course/<lang>/``).
        course_dir: the folder of the course's texts (default: the project's ``docs/course``).
        other: the site in the other language (relative prefix, language): every page links
            its counterpart there.

    Returns:
        The runbooks' pages, in order.

    Raises:
        BadInput: no notebooks; a notebook holds widget state or papermill metadata, has no
            "why" text, or shows a temporary path; a course file is missing.
        SecretLeak: a rendered page holds secret-shaped text, or a screenshot holds a
            decodable code (nothing is written for it).
    """
    books = _course_order(all_notebooks() if notebooks is None else notebooks)
    if not books:
        raise BadInput("No runbook notebooks found: run from the project folder.")
    course = load_course(lang, course_dir)
    loaded = _read(books)
    whys = {book.stem: why_block(course, book.stem) for book, *_ in loaded}
    shots = [shot for book, *_ in loaded for shot in course.shots(book.stem)]
    for shot in shots:
        check_screenshot(shot.image)
    exporter = _exporter(lang)
    links = [(book.stem, title) for book, _, title, _ in loaded]
    bodies = []
    for i, (book, nb, title, _) in enumerate(loaded):
        resources = {
            "metadata": {"name": title},
            "runbook_nav": nav(course, i, links, other),
            "runbook_why": whys[book.stem],
        }
        bodies.append(_render(exporter, nb, book, resources, course))
    output_dir.mkdir(parents=True, exist_ok=True)
    if shots:
        (output_dir / "images").mkdir(exist_ok=True)
    for shot in shots:
        shutil.copyfile(shot.image, output_dir / "images" / shot.image.name)
    pages: list[Page] = []
    for (book, _, title, overview), body in zip(loaded, bodies, strict=True):
        path = output_dir / f"{book.stem}.html"
        path.write_text(body, encoding="utf-8")
        pages.append(Page(book.stem, title, overview, path))
    index = index_page(course, [(p.path.name, p.title, p.overview) for p in pages], other)
    (output_dir / "index.html").write_text(index, encoding="utf-8")
    (output_dir / "glossary.html").write_text(glossary_page(course, other), encoding="utf-8")
    for own in course.pages:
        text = course_page(course, own, other)
        (output_dir / own.file).write_text(text, encoding="utf-8")
    return pages


def build_course(output_dir: Path, *, course_dir: Path | None = None) -> dict[str, list[Page]]:
    """The course in English (``output_dir``) and, when ``notebooks/ko/`` and its course texts
    exist, in Korean (``output_dir/ko``), every page linking its counterpart.

    Returns:
        The pages of each language built.

    Raises:
        BadInput, SecretLeak: as ``build_site``.
    """
    korean = all_notebooks(notebooks_dir() / "ko")
    texts = (course_dir or COURSE_DIR) / "ko" / "course.yaml"
    both = bool(korean) and texts.is_file()
    built = {
        "en": build_site(output_dir, course_dir=course_dir, other=("ko/", "ko") if both else None)
    }
    if both:
        built["ko"] = build_site(
            output_dir / "ko", korean, lang="ko", course_dir=course_dir, other=("../", "en")
        )
    return built
