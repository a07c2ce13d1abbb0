"""The HTML course reads offline: chromium loads every page from files, nothing from a network;
each page opens with why its step matters, the end-state diagram and the glossary are one click
away, and the masked screenshots of the live widgets load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runbook_lib.authoring.docs import build_site
from runbook_lib.run.notebooks import all_notebooks


def _images_loaded(page: Any) -> list[str]:
    """The ``src`` of every image on the page that did not load."""
    broken: list[str] = page.eval_on_selector_all(
        "img", "imgs => imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    return broken


def test_course_reads_offline_from_the_index_to_each_page(
    page: Any, tmp_path: Path, screenshot: Any
) -> None:
    pages = build_site(tmp_path / "site", all_notebooks())
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto((tmp_path / "site" / "index.html").as_uri())
    diagram = page.locator("#end-state svg")
    diagram.scroll_into_view_if_needed()
    box = diagram.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 200, f"the diagram is not drawn: {box}"
    screenshot(page, "course-index", readme=False)
    for built in pages:
        page.get_by_role("link", name=built.title, exact=True).click()
        page.get_by_role("heading", name=built.title).wait_for()
        assert page.locator(".jp-Cell").count() > 0, f"{built.path.name} shows no cells"
        why = page.locator("section.runbook-why")
        assert why.get_by_role("heading", name="Why this step matters").is_visible()
        assert why.locator("a[href^='glossary.html#']").count() > 0, built.path.name
        assert not _images_loaded(page), f"{built.path.name}: images did not load"
        page.get_by_role("link", name="Course index").first.click()
    page.get_by_role("link", name=pages[-1].title, exact=True).click()
    screenshot(page, "course-page-with-screenshot", readme=False)
    page.locator("nav.runbook-nav").first.get_by_role("link", name="Glossary").click()
    page.get_by_role("heading", name="Glossary").wait_for()
    assert page.locator("dt#virtual-mfa-device").is_visible()
    page.get_by_role("link", name="The end state (diagram)").click()
    page.locator("#end-state svg").wait_for()
    page.goto((tmp_path / "site" / "index.html").as_uri())
    page.get_by_role("link", name=pages[0].title, exact=True).click()
    screenshot(page, "course-page")
    assert not page.blocked, f"the course tried to load {page.blocked[:3]}"
    assert all(url.startswith("file://") for url in requested), requested[:3]
