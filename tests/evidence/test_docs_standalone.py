"""The project stands alone: its docs link only files in the repo and public AWS pages."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: the Markdown a user reads: README.md and everything under docs/
#: the course's page sources (docs/course/<lang>/pages/) link the pages of the site `runbook docs`
#: builds from them (setup.html, 00_check_root_usage.html): their links are checked in that
#: site (tests/browser/test_course_pages.py follows every href), not against the repo
COURSE_SOURCES = ROOT / "docs" / "course"
MARKDOWN = [
    ROOT / "README.md",
    *sorted(p for p in (ROOT / "docs").rglob("*.md") if not p.is_relative_to(COURSE_SOURCES)),
]
#: paths of the machine the project was first written on (spelled in two parts so that this
#: file does not name them itself)
OUTSIDE_PATHS = ("../" + "shared", "/" + "work/" + "shared")
SECTIONS = {
    "S0": "00_check_root_usage",
    "S1": "01_create_admin_user",
    "S2": "02_create_access_key",
    "S3": "03_enable_virtual_mfa",
}

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1[`~]*[ \t]*$", re.M | re.S)
_CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
_INLINE_LINK = re.compile(r"\]\(\s*(<[^>]*>|[^\s()]+)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.M)
_BARE_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s<>()\[\]\"'`]+", re.I)
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", re.M)
_HTML_ID = re.compile(r"""<a\b[^>]*\b(?:id|name)=["']([^"']+)["']""", re.I)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
    )


def _in_git_checkout() -> bool:
    return shutil.which("git") is not None and _git("rev-parse", "--git-dir").returncode == 0


def _prose(text: str) -> str:
    """``text`` without fenced code blocks and code spans: what renders as prose and links."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def _links(text: str) -> list[str]:
    """The destinations of the inline links, images and reference definitions in ``text``."""
    prose = _prose(text)
    found = _INLINE_LINK.findall(prose) + _REFERENCE.findall(prose)
    return [dest[1:-1] if dest.startswith("<") else dest for dest in found]


def _anchors(text: str) -> set[str]:
    """The fragment IDs a Markdown file offers: GitHub's heading slugs and HTML anchors."""
    anchors: set[str] = set(_HTML_ID.findall(text))
    seen: dict[str, int] = {}
    for heading in _HEADING.findall(_FENCE.sub("", text)):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _is_public_aws(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme in ("http", "https") and (
        host == "aws.amazon.com" or host.endswith(".aws.amazon.com")
    )


def _ignored_by_git(path: Path) -> bool:
    return _in_git_checkout() and _git("check-ignore", "-q", str(path)).returncode == 0


def _broken_relative_link(source: Path, dest: str) -> str | None:
    """Why ``dest``, linked from ``source``, does not resolve to a file in the repo (or None)."""
    parts = urlsplit(dest)
    target = source if not parts.path else (source.parent / unquote(parts.path)).resolve()
    if parts.path.startswith("/"):
        return "an absolute path"
    if not target.is_relative_to(ROOT):
        return "outside the repo"
    if not target.is_file():
        return "no such file"
    if _ignored_by_git(target):
        return "a git-ignored file"
    fragment = unquote(parts.fragment)
    if fragment and target.suffix == ".md" and fragment not in _anchors(target.read_text("utf-8")):
        return f"no heading or anchor #{fragment} in {target.name}"
    return None


def _tracked_text_files() -> list[Path]:
    listed = _git("ls-files", "-z").stdout.split("\0")
    return [ROOT / name for name in listed if name and (ROOT / name).is_file()]


def test_no_tracked_file_names_a_path_outside_the_project() -> None:
    if not _in_git_checkout():
        pytest.skip("not a git checkout: no list of tracked files")
    offenders = []
    for path in _tracked_text_files():
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary (screenshots)
        text = data.decode("utf-8", errors="replace")
        offenders += [f"{path.relative_to(ROOT)}: {name}" for name in OUTSIDE_PATHS if name in text]
    assert not offenders, f"files name paths outside the project: {offenders}"


@pytest.mark.parametrize("doc", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves_to_a_file_in_the_repo(doc: Path) -> None:
    broken = []
    for dest in _links(doc.read_text(encoding="utf-8")):
        if _SCHEME.match(dest):
            continue  # a URL: see the next test
        why = _broken_relative_link(doc, dest)
        if why:
            broken.append(f"{dest} ({why})")
    assert not broken, f"{doc.relative_to(ROOT)} links to what is not in the repo: {broken}"


@pytest.mark.parametrize("doc", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_url_is_a_public_aws_page(doc: Path) -> None:
    prose = _prose(doc.read_text(encoding="utf-8"))
    urls = [d for d in _links(prose) if _SCHEME.match(d)] + _BARE_URL.findall(prose)
    foreign = sorted({url for url in urls if not _is_public_aws(url)})
    assert not foreign, f"{doc.relative_to(ROOT)} links outside the repo and AWS: {foreign}"


def test_each_section_of_the_procedure_points_to_its_runbook_and_the_korean_original() -> None:
    text = (ROOT / "docs" / "procedure.md").read_text(encoding="utf-8")
    bodies = dict(re.findall(r"^## (S[0-3]) — .*?\n(.*?)(?=^## |\Z)", text, re.M | re.S))
    assert sorted(bodies) == sorted(SECTIONS), "docs/procedure.md has one section per step ID"
    for section, notebook in SECTIONS.items():
        links = _links(bodies[section])
        assert f"../notebooks/{notebook}.ipynb" in links, f"{section} names its runbook"
        assert any(link.startswith("ko/procedure.md#") for link in links), (
            f"{section} points to its section of the Korean original"
        )
