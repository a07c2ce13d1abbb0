"""The course in both languages: ``runbook docs`` builds ``site/`` (English) and ``site/ko/``
(Korean, from notebooks/ko/ and docs/course/ko/), every page links its counterpart, and the
Korean course has the same glossary anchors, "why" texts and diagram links as the English one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from runbook_lib.authoring.course import COURSE_DIR, load_course
from runbook_lib.authoring.docs import build_course

HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("course") / "site"
    built = build_course(folder)
    assert sorted(built) == ["en", "ko"] and len(built["ko"]) == len(built["en"]) == 8  # 00-07
    return folder


def test_every_page_links_its_counterpart_in_the_other_language(site: Path) -> None:
    english = sorted(p.name for p in site.glob("*.html"))
    assert sorted(p.name for p in (site / "ko").glob("*.html")) == english
    for name in english:
        en = (site / name).read_text("utf-8")
        ko = (site / "ko" / name).read_text("utf-8")
        assert re.search(rf"href=.ko/{re.escape(name)}. hreflang=.ko.", en), name
        assert re.search(rf"href=.\.\./{re.escape(name)}. hreflang=.en.", ko), name
        assert HANGUL.search(ko) and "한국어" in en and "English" in ko


def test_the_korean_pages_are_the_korean_notebooks(site: Path) -> None:
    page = (site / "ko" / "03_enable_virtual_mfa.html").read_text("utf-8")
    assert "가상 MFA 디바이스 활성화" in page and "MFA 디바이스 할당" in page
    assert "이 단계가 중요한 이유" in page  # the Korean "why" block
    policy = (site / "ko" / "04_set_password_policy.html").read_text("utf-8")
    assert "계정 123456789012의 암호 정책" in policy  # live output in Korean


def test_the_korean_course_reads_offline(site: Path) -> None:
    for page in (site / "ko").glob("*.html"):
        text = page.read_text("utf-8")
        assert not re.search(r"<(script|link|img)[^>]+(src|href)=['\"]https?://", text), page.name
        assert "/tmp/" not in text, page.name


def test_the_korean_course_texts_match_the_english_ones() -> None:
    en, ko = load_course("en"), load_course("ko")
    assert [t.id for t in ko.terms] == [t.id for t in en.terms]
    assert sorted(ko.whys) == sorted(en.whys)
    assert re.findall(r'href="([^"]+)"', ko.diagram) == re.findall(r'href="([^"]+)"', en.diagram)
    anchors = {t.id for t in ko.terms}
    for text in [*ko.whys.values(), ko.words["intro"]]:
        for anchor in re.findall(r"glossary\.html#([\w-]+)", text):
            assert anchor in anchors
    labels = re.findall(r"<text[^>]*>([^<]+)</text>", ko.diagram)
    english = [t for t in labels if re.fullmatch(r"[A-Za-z ,()+]+", t) and " " in t]
    assert not english, f"diagram labels still in English: {english}"
    words = yaml.safe_load((COURSE_DIR / "en" / "course.yaml").read_text("utf-8"))
    assert [s["image"] for s in words["screenshot"]] == [s.image.name for s in ko.screenshots]
