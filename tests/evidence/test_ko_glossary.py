"""One Korean term per concept (docs/ko/glossary.yaml), in every Korean text of the project.

The Korean texts are the notebook catalog (notebooks/ko/catalog.yaml: the English cell is its
source), the message catalog (runbook.po: msgid is the source) and the course (docs/course/ko/:
the English file of the same name is the source). No text may use a banned variant, and a text
whose English source names a concept uses the glossary's term for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = yaml.safe_load((ROOT / "docs" / "ko" / "glossary.yaml").read_text("utf-8"))
TERMS: dict[str, dict[str, Any]] = GLOSSARY["terms"]
PO = ROOT / "runbook_lib" / "locale" / "ko" / "LC_MESSAGES" / "runbook.po"


def _strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)


def pairs() -> Iterator[tuple[str, str, str]]:
    """(where, English source, Korean text) for every Korean text of the project."""
    catalog = yaml.safe_load((ROOT / "notebooks" / "ko" / "catalog.yaml").read_text("utf-8"))
    for stem, entries in catalog.items():
        nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)  # type: ignore[no-untyped-call]
        english = {c.id: c.source for c in nb.cells}
        for cell_id, entry in entries.items():
            yield f"catalog {stem}/{cell_id}", english.get(cell_id, ""), entry["ko"]
    with PO.open("rb") as handle:
        for message in read_po(handle, locale="ko"):
            if message.id and isinstance(message.id, str):
                yield f"runbook.po {message.id[:40]!r}", message.id, str(message.string)
    for ko_file in sorted((ROOT / "docs" / "course" / "ko").glob("*.yaml")):
        en_file = ROOT / "docs" / "course" / "en" / ko_file.name
        ko_data = yaml.safe_load(ko_file.read_text("utf-8"))
        en_data = yaml.safe_load(en_file.read_text("utf-8")) if en_file.exists() else {}
        for key in ko_data if isinstance(ko_data, dict) else []:
            en_text = "\n".join(_strings((en_data or {}).get(key)))
            yield f"{ko_file.name} {key}", en_text, "\n".join(_strings(ko_data[key]))


#: whitespace (a line break inside a term) is one space
PAIRS = [(where, " ".join(en.split()), " ".join(ko.split())) for where, en, ko in pairs()]


def test_the_glossary_has_the_issues_terms() -> None:
    terms = {entry["ko"] for entry in TERMS.values()}
    for needed in (
        "루트 사용자",
        "액세스 키",
        "가상 MFA 디바이스",
        "암호 정책",
        "관리형 정책",
        "그룹",
    ):
        assert needed in terms
    for name, entry in TERMS.items():
        assert entry["ko"] not in entry["banned"], name
        assert entry["source"].startswith("https://docs.aws.amazon.com/"), name
        re.compile(entry["en"])


def test_there_are_korean_texts_to_check() -> None:
    where = {w.split()[0] for w, _, _ in PAIRS}
    assert {"catalog", "runbook.po"} <= where
    assert len(PAIRS) > 100


@pytest.mark.parametrize("concept", sorted(TERMS))
def test_no_korean_text_uses_a_banned_variant(concept: str) -> None:
    banned = TERMS[concept]["banned"]
    found = [f"{where}: {word}" for where, _, ko in PAIRS for word in banned if word in ko]
    assert not found, f"use {TERMS[concept]['ko']!r}: " + "; ".join(found)


@pytest.mark.parametrize("concept", sorted(TERMS))
def test_a_concept_named_in_english_uses_the_glossary_term(concept: str) -> None:
    entry = TERMS[concept]
    pattern = re.compile(entry["en"], re.IGNORECASE)
    missing = [
        where
        for where, en, ko in PAIRS
        if ko.strip() and pattern.search(_prose(en)) and entry["ko"] not in ko
    ]
    assert not missing, f"{concept!r} is {entry['ko']!r} in Korean, not in: " + "; ".join(missing)


def _prose(text: str) -> str:
    """English text without code spans, link targets and format fields (not prose)."""
    text = re.sub(r"`[^`]*`", "", text)
    text = re.sub(r"\{\{.*\}\}", "", text)  # a literal mapping in a message: YAML keys
    text = re.sub(r"\{[^{}]*\}", "", text)
    return re.sub(r"\]\([^)]*\)", "]", text)
