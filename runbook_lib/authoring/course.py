"""The course's own words and pictures, read from ``docs/course/<lang>/``, and their checks.

The texts live in data files so that a translation can sit beside them: ``course.yaml``
(headings, captions, the screenshots of each page, the order of the course's own pages),
``why.yaml`` (why each step matters, by notebook), ``lessons.yaml`` (by notebook: learning
objectives, an exercise, its checkpoint command and the output to expect), ``pages/*.md`` (the
pages a trainer teaches from: set-up, agenda, trainer notes, troubleshooting, what real AWS
does that the sandbox does not), ``glossary.yaml`` and ``diagram.svg`` (the end state).
Loading and building check what a page relies on: a "why" text and a lesson for every
notebook, each screenshot present and holding no code that ``zbarimg`` can decode (a QR code
is an MFA seed), no temporary path left in a page. The screenshots themselves are taken again
from the current apps by ``make screenshots`` (``screenshots.py``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from runbook_lib.core.errors import BadInput, SecretLeak

#: the course's data files, next to the notebooks in the project
COURSE_DIR = Path(__file__).resolve().parents[2] / "docs" / "course"

#: what ``course.yaml`` must define (a translation too)
WORDS = (
    "title",
    "intro",
    "why_heading",
    "end_state_heading",
    "end_state_text",
    "end_state_link",
    "glossary_heading",
    "glossary_intro",
    "glossary_link",
    "index_link",
    "doc_link",
    "screenshots_heading",
    "screenshot_note",
    "placeholder_note",
    "objectives_heading",
    "exercise_heading",
    "checkpoint_heading",
    "expected_heading",
    "pages_heading",
    "runbooks_heading",
)

#: where a secret file of a run is shown instead of the scratch folder it went to
PLACEHOLDER = "~/.iam-runbooks/"


@dataclass(frozen=True)
class Term:
    """One glossary entry; ``id`` is its anchor (``glossary.html#id``) in every language."""

    id: str
    name: str
    text: str
    link: str


@dataclass(frozen=True)
class Screenshot:
    """A masked screenshot of a live widget, shown on the page of ``page`` (a notebook stem)."""

    page: str
    image: Path
    caption: str


@dataclass(frozen=True)
class Lesson:
    """What a student learns and does on one runbook's page."""

    objectives: tuple[str, ...]
    exercise: str  # markdown
    checkpoint: str  # shell lines the student runs
    expected: str  # what they print when the sandbox reached the expected state


@dataclass(frozen=True)
class CoursePage:
    """One of the course's own pages (``pages/<slug>.md``): its ``# Title`` and its markdown."""

    slug: str
    title: str
    text: str

    @property
    def file(self) -> str:
        """The page's file name in the site."""
        return f"{self.slug}.html"


@dataclass(frozen=True)
class Course:
    """The course's texts in one language."""

    lang: str
    folder: Path
    words: dict[str, str]
    terms: tuple[Term, ...]
    screenshots: tuple[Screenshot, ...]
    diagram: str
    whys: dict[str, str]
    lessons: dict[str, Lesson] = field(default_factory=dict)
    pages: tuple[CoursePage, ...] = ()

    def why(self, stem: str) -> str:
        """The "why this step matters" text of notebook ``stem`` (markdown).

        Raises:
            BadInput: the notebook has no "why" text.
        """
        text = self.whys.get(stem, "").strip()
        if not text:
            raise BadInput(
                f"The course has no 'why' text for {stem}: add '{stem}:' to "
                f"docs/course/{self.lang}/why.yaml (a few sentences on the risk the step removes)."
            )
        return text

    def lesson(self, stem: str) -> Lesson:
        """The lesson of notebook ``stem``.

        Raises:
            BadInput: the notebook has no lesson, or one without objectives or checkpoint.
        """
        found = self.lessons.get(stem)
        if found is None or not found.objectives or not found.checkpoint.strip():
            raise BadInput(
                f"The course has no lesson for {stem}: add '{stem}:' with objectives, exercise, "
                f"checkpoint and expected to docs/course/{self.lang}/lessons.yaml."
            )
        return found

    def shots(self, stem: str) -> list[Screenshot]:
        """The screenshots shown on the page of notebook ``stem``."""
        return [shot for shot in self.screenshots if shot.page == stem]


def _data(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise BadInput(f"The course file {path.name} is missing from docs/course/.") from err
    if not isinstance(data, dict):
        raise BadInput(f"The course file {path.name} is not a mapping of names to texts.")
    return data


def load_course(lang: str = "en", course_dir: Path | None = None) -> Course:
    """Read the course's texts in ``lang`` from ``course_dir`` (default ``docs/course``).

    Raises:
        BadInput: a file or a word is missing.
    """
    folder = (course_dir or COURSE_DIR) / lang
    data = _data(folder / "course.yaml")
    missing = [key for key in WORDS if not str(data.get(key, "")).strip()]
    if missing:
        raise BadInput(f"docs/course/{lang}/course.yaml lacks {', '.join(missing)}.")
    words = {key: str(data[key]) for key in WORDS}
    terms = tuple(
        Term(str(t["id"]), str(t["name"]), str(t["text"]), str(t.get("link", "")))
        for t in _data(folder / "glossary.yaml").get("term", [])
    )
    images = folder.parents[1]
    shots = tuple(
        Screenshot(str(entry["page"]), images / str(entry["image"]), str(entry["caption"]))
        for entry in data.get("screenshot", [])
    )
    diagram = (folder / "diagram.svg").read_text(encoding="utf-8")
    whys = {str(stem): str(text or "") for stem, text in _data(folder / "why.yaml").items()}
    lessons = {
        str(stem): Lesson(
            tuple(str(o) for o in entry.get("objectives", [])),
            str(entry.get("exercise", "")),
            str(entry.get("checkpoint", "")),
            str(entry.get("expected", "")),
        )
        for stem, entry in _data(folder / "lessons.yaml").items()
    }
    pages = tuple(_page(folder, str(slug)) for slug in data.get("pages", []))
    return Course(lang, folder, words, terms, shots, diagram, whys, lessons, pages)


def _page(folder: Path, slug: str) -> CoursePage:
    path = folder / "pages" / f"{slug}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise BadInput(
            f"course.yaml lists the page '{slug}' but docs/course/{folder.name}/pages/{slug}.md "
            "is missing: write it or remove it from 'pages:'."
        ) from err
    first, _, rest = text.lstrip().partition("\n")
    if not first.startswith("# "):
        raise BadInput(f"docs/course/{folder.name}/pages/{slug}.md must start with '# Title'.")
    return CoursePage(slug, first[2:].strip(), rest)


def readable_codes(image: Path) -> int:
    """How many QR codes or barcodes ``zbarimg`` decodes in ``image`` (never what they say).

    Raises:
        BadInput: ``zbarimg`` is not installed (``make system`` installs it).
    """
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        raise BadInput(
            "zbarimg is needed to check that the course's screenshots hold no QR code: "
            "run 'make system' (Debian package zbar-tools)."
        )
    out = subprocess.run(
        [zbarimg, "--quiet", "--raw", str(image)], capture_output=True, check=False
    ).stdout
    return len([line for line in out.splitlines() if line.strip()])


def check_screenshot(image: Path) -> None:
    """Stop the build when a screenshot holds a decodable code (a QR code is an MFA seed).

    Raises:
        BadInput: the image does not exist, or ``zbarimg`` is not installed.
        SecretLeak: ``zbarimg`` decodes a code in the image.
    """
    if not image.is_file():
        raise BadInput(f"The course's screenshot docs/{image.name} does not exist.")
    if readable_codes(image):
        raise SecretLeak(
            f"docs/{image.name} holds a code zbarimg can read (a QR code is an MFA seed): "
            "use the masked screenshot, never an unmasked one."
        )


def _temp_roots() -> list[str]:
    roots = {"/tmp", "/var/tmp", tempfile.gettempdir().rstrip("/")}  # noqa: S108 (we look for them)
    return sorted(re.escape(root) for root in roots)


def neutral_paths(text: str) -> str:
    """``text`` with a run's files in a temporary folder shown in ``~/.iam-runbooks/``, the
    default folder of secret files: ``/tmp/…/secrets/x.csv`` (the secrets folder of a refresh
    or a test run) as ``~/.iam-runbooks/secrets/x.csv``, ``/tmp/runbook-…/`` as
    ``~/.iam-runbooks/``."""
    roots = "|".join(_temp_roots())
    text = re.sub(rf"(?:{roots})/(?:[^\s<>\"'/]+/)*?secrets/", PLACEHOLDER + "secrets/", text)
    return re.sub(rf"(?:{roots})/runbook-[\w.-]+/", PLACEHOLDER, text)


def temp_paths(text: str) -> list[str]:
    """Temporary paths still in ``text`` (a page must have none)."""
    return re.findall(rf"(?:{'|'.join(_temp_roots())})/[^\s<\"']*", text)
