"""The HTML course reads offline: chromium loads every page from files, nothing from a network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runbook_lib.interfaces.docs import build_site
from runbook_lib.run.notebooks import all_notebooks


def test_course_reads_offline_from_the_index_to_each_page(
    page: Any, tmp_path: Path, screenshot: Any
) -> None:
    pages = build_site(tmp_path / "site", all_notebooks())
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto((tmp_path / "site" / "index.html").as_uri())
    for built in pages:
        page.get_by_role("link", name=built.title).click()
        page.get_by_role("heading", name=built.title).wait_for()
        assert page.locator(".jp-Cell").count() > 0, f"{built.path.name} shows no cells"
        page.get_by_role("link", name="Course index").first.click()
    page.get_by_role("link", name=pages[0].title).click()
    screenshot(page, "course-page")
    assert not page.blocked, f"the course tried to load {page.blocked[:3]}"
    assert all(url.startswith("file://") for url in requested), requested[:3]
