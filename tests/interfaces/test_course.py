"""The HTML course: an index in procedure order, one page per notebook, nothing from a CDN;
each page opens with why its step matters, links the end-state diagram and the glossary, and
shows the masked screenshots of its live widgets (no readable QR code, no temporary path)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from support.aws import ACCOUNT

from runbook_lib.authoring.course import COURSE_DIR
from runbook_lib.authoring.docs import build_site
from runbook_lib.core.errors import BadInput, SecretLeak
from runbook_lib.interfaces.cli import main
from runbook_lib.run.notebooks import all_notebooks

FIXTURE = Path(__file__).parents[1] / "browser" / "notebooks" / "widgets_fixture.ipynb"
#: a resource the browser fetches by itself (an <a href> is a link, not a load)
RESOURCE = re.compile(
    r"<(?:script|link|img|image|iframe|source|video|audio|embed|object|use)\b[^>]*"
    r"(?:src|href|data)=['\"]([^'\"]+)"
)


def _course(tmp_path: Path, *stems: str) -> Path:
    """The project's course texts, plus a "why" text for each of ``stems``."""
    course = tmp_path / "docs" / "course"
    shutil.copytree(COURSE_DIR, course)
    for shot in yaml.safe_load((COURSE_DIR / "en" / "course.yaml").read_text())["screenshot"]:
        shutil.copyfile(COURSE_DIR.parent / shot["image"], course.parent / shot["image"])
    whys = yaml.safe_load((course / "en" / "why.yaml").read_text())
    whys.update({stem: f"Why {stem} matters." for stem in stems})
    (course / "en" / "why.yaml").write_text(yaml.safe_dump(whys))
    lessons = yaml.safe_load((course / "en" / "lessons.yaml").read_text())
    lesson = {"objectives": ["One."], "exercise": "Do it.", "checkpoint": "true", "expected": ""}
    lessons.update({stem: lesson for stem in stems})
    (course / "en" / "lessons.yaml").write_text(yaml.safe_dump(lessons))
    return course


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The course of the committed notebooks, built once."""
    folder = tmp_path_factory.mktemp("course") / "site"
    build_site(folder)
    return folder


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
    course = _course(tmp_path, "00_first", "01_second")
    pages = build_site(tmp_path / "site", books, course_dir=course)
    index = (tmp_path / "site" / "index.html").read_text()
    assert [p.path.name for p in pages] == ["00_first.html", "01_second.html"]
    assert re.findall(r"href='(\d\d_\w+\.html)'", index) == ["00_first.html", "01_second.html"]
    assert "S0 — First" in index and "What it does, in two lines." in index
    assert "More." not in index
    second = (tmp_path / "site" / "01_second.html").read_text()
    assert "01_second OK" in second, "the page shows the committed output"
    assert "href='00_first.html'" in second.replace('"', "'"), "the page links back"


def test_pages_load_nothing_from_the_network(tmp_path: Path) -> None:
    course = _course(tmp_path, FIXTURE.stem)
    build_site(tmp_path / "site", [*all_notebooks(), FIXTURE], course_dir=course)
    pages = list((tmp_path / "site").glob("*.html"))
    assert {"index.html", "glossary.html"} <= {p.name for p in pages}
    for page in pages:
        text = page.read_text()
        remote = [u for u in RESOURCE.findall(text) if re.match(r"(https?:)?//", u)]
        assert not remote, f"{page.name} loads {remote}"
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), f"{page.name}: remote CSS url()"


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
        build_site(tmp_path / "site", [book], course_dir=_course(tmp_path, "03_mfa"))
    assert "otpauth URI" in str(err.value) and "JBSWY3" not in str(err.value)
    assert not (tmp_path / "site" / "03_mfa.html").exists()


def test_fingerprints_and_masked_widgets_are_not_secret_shaped(tmp_path: Path) -> None:
    text = "Console password of x: Secret(password sha256:0123456789ab) (shown once…)"
    out = new_output("execute_result", {"text/plain": text}, execution_count=1)
    book = _book(tmp_path, "02_keys", "S2", outputs=[out])
    build_site(tmp_path / "site", [book], course_dir=_course(tmp_path, "02_keys"))


def test_runbook_docs_writes_the_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs", "--output-dir", str(tmp_path / "site")]) == 0
    names = sorted(p.name for p in (tmp_path / "site").iterdir())
    pages = [f"{b.stem}.html" for b in all_notebooks()]
    own = ["setup.html", "agenda.html", "trainer-notes.html", "troubleshooting.html"]
    own.append("real-aws.html")
    expected = ["index.html", "glossary.html", "images", "ko", *own, *pages]  # ko: Korean
    assert names == sorted(expected)
    assert "index.html" in capsys.readouterr().out


def test_runbook_docs_with_no_notebooks_is_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RUNBOOK_NOTEBOOKS", str(tmp_path))
    assert main(["docs", "--output-dir", str(tmp_path / "site")]) == 2
    assert "No runbook notebooks" in capsys.readouterr().err
    shutil.rmtree(tmp_path / "site", ignore_errors=True)


def _first_sentence(stem: str) -> str:
    text = yaml.safe_load((COURSE_DIR / "en" / "why.yaml").read_text())[stem]
    plain = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", " ".join(text.split()))
    return plain.split(". ")[0]


def test_every_page_opens_with_why_its_step_matters(site: Path) -> None:
    for book in all_notebooks():
        text = (site / f"{book.stem}.html").read_text()
        why = re.search(r"class=.runbook-why.", text)
        assert why, f"{book.stem}: no why text"
        why = why.start()
        first_cell = re.search(r"<div class=.jp-Cell\b", text)
        assert first_cell and why < first_cell.start(), f"{book.stem}: the why text is not on top"
        plain = re.sub(r"<[^>]+>", "", text[why:])
        assert _first_sentence(book.stem) in " ".join(plain.split()), book.stem


def test_every_page_links_the_diagram_and_the_glossary(site: Path) -> None:
    index = (site / "index.html").read_text()
    assert re.search(r'<section id="end-state">.*?<svg\b', index, re.DOTALL), "no diagram"
    for name in ("Administrators", "AdministratorAccess", "virtual MFA device", "access key"):
        assert f">{name}" in index, f"the diagram lacks {name}"
    for book in all_notebooks():
        text = (site / f"{book.stem}.html").read_text().replace('"', "'")
        assert "href='index.html#end-state'" in text, book.stem
        assert "href='glossary.html'" in text, book.stem
        assert "href='glossary.html#" in text, f"{book.stem}: no term links to the glossary"
        assert "<svg" in text, f"{book.stem}: the diagram is not on the page"


def test_glossary_terms_exist_for_every_link_and_aws_terms_link_aws(site: Path) -> None:
    glossary = (site / "glossary.html").read_text()
    ids = set(re.findall(r"<dt id='([\w-]+)'>", glossary))
    needed = {"root-user", "iam-user", "group", "managed-policy", "access-key"}
    needed |= {"secret-access-key", "virtual-mfa-device", "totp", "seed", "password-policy"}
    needed |= {"run-record", "manual-step", "sandbox", "plan-mode"}
    assert needed <= ids, needed - ids
    linked = {
        a
        for page in site.glob("*.html")
        for a in re.findall(r"glossary\.html#([\w-]+)", page.read_text())
    }
    assert linked <= ids, f"links to missing glossary entries: {linked - ids}"
    terms = yaml.safe_load((COURSE_DIR / "en" / "glossary.yaml").read_text())["term"]
    for term in terms:
        sentences = re.findall(r"[.!?](?:\s|$)", term["text"])
        assert 1 <= len(sentences) <= 2, f"{term['id']}: one or two sentences"
        own = term["id"] in {"run-record", "plan-mode", "sandbox"}
        aws = term["link"].startswith("https://docs.aws.amazon.com/")
        assert (term["link"] == "") if own else aws, term["id"]


def test_no_page_shows_a_temporary_path(site: Path) -> None:
    for page in site.glob("*.html"):
        assert "/tmp/" not in page.read_text(), page.name
    assert (
        "~/.iam-runbooks/secrets/123456789012-Administrator_accessKeys.csv"
        in (site / "02_create_access_key.html").read_text()
    )


def test_a_runs_scratch_folder_is_shown_as_the_secrets_folder(tmp_path: Path) -> None:
    text = "Wrote /tmp/runbook-refresh-ab_c1/secrets/u_accessKeys.csv (0600)"
    out = new_output("stream", name="stdout", text=text)
    book = _book(tmp_path, "02_keys", "S2", outputs=[out])
    build_site(tmp_path / "site", [book], course_dir=_course(tmp_path, "02_keys"))
    page = (tmp_path / "site" / "02_keys.html").read_text()
    assert "Wrote ~/.iam-runbooks/secrets/u_accessKeys.csv" in page and "/tmp/" not in page
    assert "runbook-path-note" in page, "the page says what the placeholder stands for"


def test_a_test_runs_secrets_folder_is_shown_as_the_secrets_folder(tmp_path: Path) -> None:
    text = "Wrote /tmp/pytest-of-x/pytest-1/run0/secrets/u_credentials.csv (0600)"
    out = new_output("stream", name="stdout", text=text)
    book = _book(tmp_path, "01_user", "S1", outputs=[out])
    build_site(tmp_path / "site", [book], course_dir=_course(tmp_path, "01_user"))
    page = (tmp_path / "site" / "01_user.html").read_text()
    assert "Wrote ~/.iam-runbooks/secrets/u_credentials.csv" in page and "/tmp/" not in page


def test_any_other_temporary_path_stops_the_build(tmp_path: Path) -> None:
    out = new_output("stream", name="stdout", text="see /tmp/somewhere/else.txt")
    book = _book(tmp_path, "02_keys", "S2", outputs=[out])
    with pytest.raises(BadInput, match="temporary path"):
        build_site(tmp_path / "site", [book], course_dir=_course(tmp_path, "02_keys"))
    assert not (tmp_path / "site").exists()


def test_a_runbook_without_its_why_text_stops_the_build(tmp_path: Path) -> None:
    book = _book(tmp_path, "05_new_runbook", "S5 — New")
    with pytest.raises(BadInput, match=r"add '05_new_runbook:' to docs/course/en/why\.yaml"):
        build_site(tmp_path / "site", [book], course_dir=_course(tmp_path))
    assert not (tmp_path / "site").exists()


def test_a_runbook_without_its_lesson_stops_the_build(tmp_path: Path) -> None:
    course = _course(tmp_path, "05_new_runbook")
    lessons = yaml.safe_load((course / "en" / "lessons.yaml").read_text())
    del lessons["05_new_runbook"]
    (course / "en" / "lessons.yaml").write_text(yaml.safe_dump(lessons))
    book = _book(tmp_path, "05_new_runbook", "S5 — New")
    with pytest.raises(BadInput, match=r"add '05_new_runbook:' with objectives.*lessons\.yaml"):
        build_site(tmp_path / "site", [book], course_dir=course)
    assert not (tmp_path / "site").exists()


def test_each_runbook_page_has_objectives_and_a_checkpoint_with_its_output(site: Path) -> None:
    for book in all_notebooks():
        text = (site / f"{book.stem}.html").read_text()
        objectives = (
            r"id=.objectives.>Learning objectives</h2>\s*<ul class=.runbook-objectives.>\s*<li>"
        )
        assert re.search(objectives, text), f"{book.stem} has no learning objectives"
        checkpoint = re.search(r"class=.runbook-checkpoint.><code>(.+?)</code>", text, re.S)
        expected = re.search(r"class=.runbook-expected.><code>(.+?)</code>", text, re.S)
        assert checkpoint and expected, f"{book.stem} has no checkpoint with its expected output"
        assert re.search(r"^(aws iam|runbook run|runbook fix)", checkpoint[1], re.M), book.stem


def test_a_course_page_listed_but_missing_stops_the_build(tmp_path: Path) -> None:
    course = _course(tmp_path)
    (course / "en" / "pages" / "agenda.md").unlink()
    with pytest.raises(BadInput, match=r"pages/agenda\.md is missing"):
        build_site(tmp_path / "site", course_dir=course)


def test_the_masked_screenshots_are_shown_and_decode_no_qr_code(site: Path) -> None:
    shipped = sorted((site / "images").glob("*.png"))
    assert {p.name for p in shipped} == {
        "voila-s1-billing-confirmed.png",
        "voila-s2-access-key-masked.png",
        "voila-s3-mfa-qr.png",
    }
    for image in shipped:
        found = subprocess.run(["zbarimg", "--quiet", str(image)], capture_output=True)
        assert found.returncode == 4 and not found.stdout, f"{image.name} holds a readable code"
    shown = {
        page.name: re.findall(r"<img [^>]*src=.images/([\w.-]+)", page.read_text())
        for page in site.glob("0*.html")
    }
    assert shown["01_create_admin_user.html"] == ["voila-s1-billing-confirmed.png"]
    assert shown["02_create_access_key.html"] == ["voila-s2-access-key-masked.png"]
    assert shown["03_enable_virtual_mfa.html"] == ["voila-s3-mfa-qr.png"]
    for name in shown:
        text = (site / name).read_text()
        captions = re.findall(r"<figcaption[^>]*>Masked screenshot of the live widget", text)
        assert len(captions) == len(shown[name]), name


def test_a_screenshot_with_a_readable_qr_code_stops_the_build(tmp_path: Path) -> None:
    import segno

    course = _course(tmp_path, "03_mfa")
    segno.make("otpauth://totp/x@1?secret=NOTASECRET", micro=False).save(
        str(course.parent / "unmasked.png"), scale=8
    )
    words = yaml.safe_load((course / "en" / "course.yaml").read_text())
    words["screenshot"].append({"page": "03_mfa", "image": "unmasked.png", "caption": "x"})
    (course / "en" / "course.yaml").write_text(yaml.safe_dump(words))
    book = _book(tmp_path, "03_mfa", "S3")
    with pytest.raises(SecretLeak, match="unmasked.png holds a code") as err:
        build_site(tmp_path / "site", [book], course_dir=course)
    assert "NOTASECRET" not in str(err.value)
    assert not (tmp_path / "site").exists()
